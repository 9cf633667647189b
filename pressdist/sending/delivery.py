"""Delivering a plan: the asyncio run between the lists, a gateway and the journal.

Owns the engine: a producer that streams the plan's mails, personalises each
message and commits it as ``sending`` in small batches before queueing it;
workers (as many as the gateway's ``concurrency``) that hand envelopes to the
gateway; retries with exponential backoff and jitter; committing results in
batches; and the entry points ``run`` (resumable, journaled), ``send_test``
(``--to``: the same run with a journal that writes nothing) and the lock that
keeps two sends apart. ``DeliveryRun`` takes its parts as arguments, so a
test or a script can run it against any gateway (``gateways.memory``) and
journal. It decides nothing about who gets what (``sending.plan`` does, and
leaves out the suppressed: they never reach a gateway or the journal) and
prints nothing (progress goes to a callback); what a gateway says is
redacted (``gateway.redacted``) before anything keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import fcntl
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pressdist.audience.lists import Recipient
from pressdist.errors import InputError, PressdistError
from pressdist.mail.addresses import check_address
from pressdist.mail.identity import sender_address, shared_headers
from pressdist.mail.mime import HeaderError
from pressdist.mail.mime import address as header_address
from pressdist.mail.verp import BounceAddress
from pressdist.secrets import redact
from pressdist.sending import journal as jr
from pressdist.sending.gateway import Envelope, Gateway, GatewayBase, Outcome, Result, redacted
from pressdist.sending.plan import Addressee, Plan, journal_path
from pressdist.sending.refusals import Refusals
from pressdist.sending.report import Event, Failure, Progress, Report, Tally

if TYPE_CHECKING:
    from pressdist.workspace import SendSettings, Workspace

# Deliveries are marked `sending` in small batches, each committed just before
# it goes into the queue, so a crash leaves few rows whose fate is unknown;
# results are committed after RESULT_BATCH of them or FLUSH_SECONDS.
RESULT_BATCH = 128
FLUSH_SECONDS = 0.1
QUEUE_PER_CONNECTION = 8
# Deliveries waiting for a retry hold their message; past this many the
# producer waits, so a long outage does not fill memory.
MAX_PENDING_RETRIES = 1000
# Many deliveries in a row that failed every retry, none accepted in between
# (at least this many, and two per connection): the gateway is down, not busy.
STOP_AFTER_EXHAUSTED = 10
# How long a stopped run waits for the mails already on their way to be answered.
DRAIN_SECONDS = 10


# Run --------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    key: str
    address: str
    language: str
    envelope: Envelope
    attempts: int


class DeliveryRun:
    """One asyncio delivery run of ``plan`` through ``gateway``; lives as long as ``run()``.

    ``journal`` is where the run records itself: the workspace's ``Journal``,
    or a ``NullJournal`` for a run that leaves no record. ``settings`` gives
    the attempts and retry times. With ``to``, the run sends the plan's test
    copies to that one recipient instead of the lists. ``report`` is the
    Report to fill (a dry run's or a test copy's says so).
    """

    def __init__(
        self,
        plan: Plan,
        gateway: Gateway,
        journal: jr.Journal | jr.NullJournal,
        settings: SendSettings,
        *,
        progress: Progress | None = None,
        to: Recipient | None = None,
        report: Report | None = None,
    ) -> None:
        self.plan = plan
        self.gateway = gateway
        self.journal = journal
        self.settings = settings
        self.progress = progress
        self.to = to
        self.report = report or Report()
        self.envelope_sender = sender_address(plan.workspace)
        # With a bounce address each delivery has its own envelope sender (VERP).
        self.bounce = BounceAddress.from_workspace(plan.workspace)
        self.shared = shared_headers(plan.workspace)
        self.concurrency = max(1, gateway.concurrency)
        self.queue: asyncio.Queue[_Job | None] = asyncio.Queue(
            maxsize=self.concurrency * QUEUE_PER_CONNECTION
        )
        self.records: list[tuple[str, str, str, str]] = []
        self.last_flush = time.monotonic()
        self.unsettled: set[str] = set()  # marked `sending`, not yet handed to the gateway
        self.retry_tasks: set[asyncio.Task[None]] = set()
        self.stop_reason = ""
        self.stop_error: PressdistError | None = None
        self.consecutive_exhausted = 0
        self.refusals = Refusals(gateway.name)
        self.retry_room = asyncio.Event()  # set while fewer than MAX_PENDING_RETRIES wait
        self.retry_room.set()
        self.done = asyncio.Event()
        self.outstanding = 0
        self.producing = True
        self.run_id = 0

    # The journal ------------------------------------------------------------
    def flush(self) -> None:
        if self.records:
            self.journal.record(self.records)
        self.records = []
        self.last_flush = time.monotonic()

    def settle(self, job: _Job, state: str, detail: str) -> None:
        self.records.append((self.plan.revision, job.key, state, detail))
        if len(self.records) >= RESULT_BATCH or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def _tally(self, language: str) -> Tally:
        return self.report.by_language.setdefault(language, Tally())

    # Producer -----------------------------------------------------------------
    async def produce(self) -> None:
        plan = self.plan
        if self.to is not None:
            mails = plan.test_copies(self.to, f"{time.time_ns():x}")
        else:
            mails = plan.addressees(self.journal, self.queue.maxsize, self.report.suppressed)
        try:
            for batch in mails:
                if self.stop_reason:
                    return
                for job in self._commit(batch):
                    if self.stop_reason:
                        return
                    await self.queue.put(job)
                if len(self.retry_tasks) >= MAX_PENDING_RETRIES:
                    self.retry_room.clear()
                    await self.retry_room.wait()
        finally:
            self.producing = False
            self._maybe_done()

    def _commit(self, batch: list[Addressee]) -> list[_Job]:
        """Personalise a batch and commit it as `sending`; the jobs to queue.

        A recipient whose message cannot be built is marked and then recorded
        as failed at once: one try, never handed to a gateway.
        """
        plan = self.plan
        date = dt.datetime.now(dt.UTC)
        jobs: list[_Job] = []
        refused: list[tuple[str, str, str, str]] = []
        attempts: list[jr.Attempt] = []
        for mail in batch:
            rcpt = mail.recipient
            try:
                data = self._personalise(mail, date)
            except HeaderError as exc:
                refused.append(self._refuse(mail, f"{rcpt.where}: {exc}"))
                attempts.append(_attempt(plan, mail, self.gateway.name, False))
                continue
            duplicate = mail.state == jr.SENDING
            if duplicate:
                self.report.possibly_duplicate.append(rcpt.address)
            sender = self.bounce.sender(mail.message_id) if self.bounce else self.envelope_sender
            envelope = Envelope(mail.message_id, sender, rcpt.address, data)
            jobs.append(_Job(rcpt.key, rcpt.address, mail.language, envelope, 1))
            attempts.append(_attempt(plan, mail, self.gateway.name, duplicate))
        self.journal.mark_sending(self.run_id, attempts)
        if refused:
            self.journal.record(refused)
        for job in jobs:
            self.unsettled.add(job.key)
            self.outstanding += 1
            self._tally(job.language).total += 1
        return jobs

    def _refuse(self, mail: Addressee, detail: str) -> tuple[str, str, str, str]:
        """Count a mail whose message cannot be built as failed; its journal record."""
        rcpt = mail.recipient
        self.report.failures.append(
            Failure(rcpt.address, mail.language, jr.FAILED_PERMANENT, detail, 1)
        )
        self._tally(mail.language).failed += 1
        return (self.plan.revision, rcpt.key, jr.FAILED_PERMANENT, detail)

    def _personalise(self, mail: Addressee, date: dt.datetime) -> bytes:
        """The message's bytes for one recipient; HeaderError when only their own
        fields (name, address) make a header invalid."""
        rcpt = mail.recipient
        return self.plan.message(mail.language, correction=mail.correction).personalise(
            to=rcpt.address,
            to_name=rcpt.name,
            message_id=mail.message_id,
            date=date,
            salutation=rcpt.salutation,
            list_name=rcpt.list_name,
            references=mail.references,
            **self.shared,
        )

    # Workers ------------------------------------------------------------------
    async def work(self) -> None:
        while True:
            job = await self.queue.get()
            if job is None:
                return
            if self.stop_reason:
                continue  # left `sending` → released as unsent below
            self.unsettled.discard(job.key)
            try:
                result = await self.gateway.send(job.envelope)
            except PressdistError as exc:
                self._stop(redact(f"{exc}"), exc)
                return
            except Exception as exc:  # a gateway bug must not lose the journal
                self._stop(redact(f"gateway '{self.gateway.name}' failed: {exc!r}"), None)
                return
            self.on_result(job, redacted(result))

    def on_result(self, job: _Job, result: Result) -> None:
        if result.outcome is Outcome.ACCEPTED:
            self.consecutive_exhausted = 0
            self.refusals.accepted()
            self._tally(job.language).sent += 1
            self.settle(job, jr.SENT, result.detail)
            self._emit("sent", job, result.detail)
            self._finished_one()
        elif result.outcome is Outcome.PERMANENT:
            stop = self.refusals.judge(job.key, result)
            if stop is None:
                self.settle(job, jr.FAILED_PERMANENT, result.detail)
                self._failed(job, jr.FAILED_PERMANENT, result.detail)
                return
            # Not this recipient's fault: the delivery waits for the cause to be fixed.
            self.settle(job, jr.PENDING, result.detail)
            self._finished_one()
            self._stop(stop.message, stop)
        elif job.attempts < self.settings.max_attempts:
            self.settle(job, jr.FAILED_TRANSIENT, result.detail)
            self.report.retries += 1
            self._emit("retry", job, result.detail)
            task = asyncio.get_running_loop().create_task(
                self._retry(job, retry_delay(self.settings, job.attempts, result.retry_after))
            )
            self.retry_tasks.add(task)
            task.add_done_callback(self._retry_done)
        else:
            self.settle(job, jr.FAILED_TRANSIENT, result.detail)
            self.consecutive_exhausted += 1
            self._failed(job, jr.FAILED_TRANSIENT, result.detail)
            # The gateway is down, not busy: stop; a later run resumes.
            if self.consecutive_exhausted >= max(STOP_AFTER_EXHAUSTED, 2 * self.concurrency):
                self._stop(
                    f"gateway '{self.gateway.name}' failed {self.consecutive_exhausted} "
                    f"deliveries in a row after every retry ({result.detail})",
                    None,
                )

    def _failed(self, job: _Job, state: str, detail: str) -> None:
        self._tally(job.language).failed += 1
        self.report.failures.append(Failure(job.address, job.language, state, detail, job.attempts))
        self._emit("failed", job, detail)
        self._finished_one()

    def _retry_done(self, task: asyncio.Task[None]) -> None:
        self.retry_tasks.discard(task)
        if len(self.retry_tasks) < MAX_PENDING_RETRIES:
            self.retry_room.set()

    async def _retry(self, job: _Job, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.stop_reason:
            return
        job.attempts += 1
        self.flush()  # its failed-transient first, then `sending` again
        self.journal.mark_retry(self.run_id, self.plan.revision, job.key)
        self.unsettled.add(job.key)
        await self.queue.put(job)

    def _emit(self, kind: str, job: _Job, detail: str) -> None:
        if self.progress:
            self.progress(Event(kind, job.language, job.address, detail))

    def _finished_one(self) -> None:
        self.outstanding -= 1
        self._maybe_done()

    def _maybe_done(self) -> None:
        if (not self.producing and self.outstanding <= 0) or self.stop_reason:
            self.done.set()

    def _stop(self, reason: str, error: PressdistError | None) -> None:
        if not self.stop_reason:
            self.stop_reason = reason
            self.stop_error = error
        self.done.set()

    async def periodic_flush(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    # The whole run --------------------------------------------------------------
    async def run(self) -> Report:
        started = time.monotonic()
        await self.gateway.open()  # GatewayError here: nothing is touched
        plan = self.plan
        self.run_id = self.journal.start_run(
            plan.release.id,
            plan.revision,
            [lst.name for lst in plan.lists],
            self.gateway.name,
            plan.resend,
        )
        self.report.run_id = self.run_id or None
        workers = [asyncio.create_task(self.work()) for _ in range(self.concurrency)]
        producer = asyncio.create_task(self.produce())
        flusher = asyncio.create_task(self.periodic_flush())
        finished = False
        try:
            await self.done.wait()
            if producer.done() and not producer.cancelled() and producer.exception():
                raise producer.exception()  # type: ignore[misc]
            finished = not self.stop_reason
            if not finished:
                await self._drain(producer, workers)
        finally:
            if not finished and not self.stop_reason:
                self.stop_reason = "interrupted"
            # A worker cancelled inside gateway.send() leaves its delivery
            # `sending`: it may have gone out, and the next run says so.
            tasks = [producer, flusher, *workers, *self.retry_tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._wind_up(finished)
            self.report.elapsed = time.monotonic() - started
        return self.report

    async def _drain(self, producer: asyncio.Task[None], workers: list[asyncio.Task[None]]) -> None:
        """After a stop the run itself decided on, let each worker finish the mail it
        is handing over (for a while): cancelled there, a mail the server took
        would stay `sending` and go out again with the next run."""
        for task in (producer, *self.retry_tasks):
            task.cancel()
        await asyncio.gather(producer, *self.retry_tasks, return_exceptions=True)
        while not self.queue.empty():  # never handed over: released as unsent
            self.queue.get_nowait()
        running = [w for w in workers if not w.done()]
        for _ in running:
            self.queue.put_nowait(None)
        if running:
            await asyncio.wait(running, timeout=DRAIN_SECONDS)

    async def _wind_up(self, finished: bool) -> None:
        """Record what is left, close the gateway and put the end into the report."""
        self.flush()
        self.journal.release_unsent(self.plan.revision, self.unsettled)
        self.journal.finish_run(
            self.run_id, "finished" if finished else "stopped", self.stop_reason
        )
        # A courtesy (QUIT, closing sockets): what was sent is recorded, and a
        # server that stalls must not keep a stopped run from ending.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.gateway.close(), 2 if self.stop_reason else 10)
        self.report.stopped = self.stop_reason
        self.report.stop_error = self.stop_error


def retry_delay(settings: SendSettings, attempts: int, retry_after: float | None) -> float:
    """Seconds before the next attempt of a delivery that failed ``attempts`` times.

    Exponential backoff with jitter (between half and all of the step) so
    parallel retries do not arrive together; a server's Retry-After is a
    floor, never shortened.
    """
    step = settings.retry_base_seconds * (2 ** (attempts - 1))
    ceiling = min(settings.retry_max_seconds, step)
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return delay


def _attempt(plan: Plan, mail: Addressee, gateway: str, duplicate: bool) -> jr.Attempt:
    rcpt = mail.recipient
    return jr.Attempt(
        revision=plan.revision,
        recipient=rcpt.key,
        release_id=plan.release.id,
        address=rcpt.address,
        name=rcpt.name,
        language=mail.language,
        requested_language=rcpt.language,
        list=rcpt.list_name,
        gateway=gateway,
        message_id=mail.message_id,
        possibly_duplicate=duplicate,
        correction=mail.correction,
    )


class DryRunGateway(GatewayBase):
    """Stands in for ``gateway`` in a dry run: accepts every envelope, hands none on."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway.name, gateway.concurrency)

    async def _send(self, envelope: Envelope) -> Result:
        return Result(envelope, Outcome.ACCEPTED, "dry run")


def in_flight_window(concurrency: int) -> int:
    """At most this many deliveries are `sending` at once: a crash may double only these.

    A batch being marked, the queue, one message per connection, and results
    not yet committed.
    """
    queue = concurrency * QUEUE_PER_CONNECTION
    return queue + queue + concurrency + RESULT_BATCH


def run(plan: Plan, *, dry_run: bool = False, progress: Progress | None = None) -> Report:
    """Deliver what the plan says; the journal makes it resumable.

    ``dry_run`` renders and personalises every message the real run would
    send (the journal is read, never written) but hands none to the gateway.
    Raises GatewayError when the gateway cannot be opened, or stops cleanly
    (journal intact, ``report.stopped`` set) when it fails during the run.
    """
    settings = plan.workspace.config.send
    if dry_run:
        # Read-only: the dry run skips exactly whom the real run would skip.
        reader = jr.Journal.read_only(journal_path(plan.workspace))
        try:
            dry = DeliveryRun(
                plan,
                DryRunGateway(plan.gateway),
                jr.NullJournal(reader),
                settings,
                progress=progress,
                report=Report(dry_run=True),
            )
            return asyncio.run(dry.run())
        finally:
            if reader is not None:
                reader.close()
    with send_lock(plan.workspace), jr.Journal(journal_path(plan.workspace)) as journal:
        delivery = DeliveryRun(plan, plan.gateway, journal, settings, progress=progress)
        return asyncio.run(delivery.run())


def to_address(address: str) -> tuple[str, str]:
    """``(address, key)`` for ``--to``, or InputError: checked before anything else happens."""
    try:
        addr, key, _ = check_address(address)
        header_address(addr, "address")  # what the list accepts but To cannot carry
    except ValueError as exc:
        raise InputError(f"--to: invalid address: {exc}") from None
    except HeaderError as exc:
        raise InputError(f"--to: invalid address: {exc.message}", hint=exc.hint) from None
    return addr, key


def send_test(plan: Plan, address: str, *, progress: Progress | None = None) -> Report:
    """A test copy of every sendable language to ``address``; the journal is not touched.

    The same delivery run as ``run``, with a journal that writes nothing and
    one attempt per copy: whoever asked for it is looking at their inbox now.
    """
    addr, key = to_address(address)
    settings = dataclasses.replace(plan.workspace.config.send, max_attempts=1)
    test = DeliveryRun(
        plan,
        plan.gateway,
        jr.NullJournal(),
        settings,
        progress=progress,
        to=Recipient(addr, key, list_name="--to"),
        report=Report(test_address=addr),
    )
    report = asyncio.run(test.run())
    if report.stop_error is not None:
        # Nothing to resume for a test copy: the gateway's error is the whole answer.
        raise report.stop_error
    # A test copy has no journal state: its failures name the gateway's outcome.
    report.failures = [
        dataclasses.replace(f, state=_OUTCOME_OF_STATE[f.state]) for f in report.failures
    ]
    return report


_OUTCOME_OF_STATE = {
    jr.FAILED_PERMANENT: Outcome.PERMANENT.value,
    jr.FAILED_TRANSIENT: Outcome.TRANSIENT.value,
}


class send_lock:  # noqa: N801 (used as a context manager, like a function)
    """One `send` per workspace at a time: two would both see `pending` and send twice."""

    def __init__(self, workspace: Workspace) -> None:
        self.path = workspace.state_dir / "send.lock"

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = self.path.open("a")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise PressdistError(
                "another `pressdist send` is running in this workspace",
                path=self.path,
                hint="wait for it to finish; a crashed one releases the lock by itself",
            ) from None

    def __exit__(self, *exc: object) -> None:
        self.fh.close()
