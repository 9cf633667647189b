"""Delivering a plan: the asyncio run between the lists, a gateway and the journal.

Owns the engine: a producer that streams recipients, personalises each
message and commits it as ``sending`` in small batches before queueing it;
workers (as many as the gateway's ``concurrency``) that hand envelopes to the
gateway; retries with exponential backoff and jitter; committing results in
batches; and the entry points ``run`` (resumable, journaled), ``send_test``
(``--to``) and the lock that keeps two sends apart. It decides nothing about
who gets what (``sending.plan`` does) and prints nothing (progress goes to a
callback).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pressdist.audience.lists import (
    Choice,
    Recipient,
    choose_cached,
    iter_recipients,
)
from pressdist.diagnostics import Diagnostic
from pressdist.errors import InputError, PressdistError
from pressdist.mail.addresses import check_address
from pressdist.mail.identity import message_id, message_id_domain, sender_address, shared_headers
from pressdist.mail.mime import HeaderError
from pressdist.mail.mime import address as header_address
from pressdist.mail.render import render
from pressdist.sending import journal as jr
from pressdist.sending.gateway import Envelope, Outcome, Result
from pressdist.sending.plan import Plan, batches, journal_path
from pressdist.sending.report import Event, Failure, Progress, Report, Tally

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

# Deliveries are marked `sending` in small batches, each committed just before
# it goes into the queue, so a crash leaves few rows whose fate is unknown;
# results are committed after RESULT_BATCH of them or FLUSH_SECONDS.
RESULT_BATCH = 128
FLUSH_SECONDS = 0.1
QUEUE_PER_CONNECTION = 8
# Deliveries waiting for a retry hold their message; past this many the
# producer waits, so a long outage does not fill memory.
MAX_PENDING_RETRIES = 1000


# Run --------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    key: str
    address: str
    language: str
    envelope: Envelope
    attempts: int


class DeliveryRun:
    """One asyncio delivery run; lives as long as ``run()``."""

    def __init__(
        self, plan: Plan, journal: jr.Journal | None, progress: Progress | None, dry_run: bool
    ) -> None:
        cfg = plan.workspace.config
        self.plan = plan
        # A dry run reads the journal (who is already served) and writes nothing.
        self.reader = journal
        self.journal = None if dry_run else journal
        self.progress = progress
        self.dry_run = dry_run
        self.gateway = plan.gateway
        self.max_attempts = int(cfg.send.get("max_attempts", 5))  # >= 1: checked on load
        self.retry_base = float(cfg.send.get("retry_base_seconds", 2.0))
        self.retry_max = float(cfg.send.get("retry_max_seconds", 300.0))
        concurrency = max(1, int(getattr(self.gateway, "concurrency", 1) or 1))
        self.concurrency = concurrency
        self.queue: asyncio.Queue[_Job | None] = asyncio.Queue(
            maxsize=concurrency * QUEUE_PER_CONNECTION
        )
        self.records: list[tuple[str, str, str, str]] = []
        self.last_flush = time.monotonic()
        self.unsettled: set[str] = set()  # marked `sending`, not yet handed to the gateway
        self.retry_tasks: set[asyncio.Task[None]] = set()
        self.report = Report(dry_run=dry_run)
        self.stop_reason = ""
        self.stop_error: PressdistError | None = None
        self.consecutive_exhausted = 0
        self.retry_room = asyncio.Event()  # set while fewer than MAX_PENDING_RETRIES wait
        self.retry_room.set()
        self.done = asyncio.Event()
        self.outstanding = 0
        self.producing = True
        self.run_id = 0

    # The journal ------------------------------------------------------------
    def flush(self) -> None:
        if self.journal and self.records:
            self.journal.record(self.records)
        self.records = []
        self.last_flush = time.monotonic()

    def settle(self, job: _Job, state: str, detail: str) -> None:
        self.records.append((self.plan.revision, job.key, state, detail))
        if len(self.records) >= RESULT_BATCH or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    # Producer -----------------------------------------------------------------
    async def produce(self) -> None:
        plan = self.plan
        cfg = plan.workspace.config
        domain = message_id_domain(plan.workspace)
        shared = shared_headers(plan.workspace)
        envelope_sender = sender_address(plan.workspace)
        chosen: dict[str, Choice] = {}
        problems: list[Diagnostic] = []
        try:
            size = self.queue.maxsize
            for batch in batches(iter_recipients(plan.lists, problems), size):
                if self.stop_reason:
                    return
                states = (
                    self.reader.states(plan.revision, [r.key for r in batch]) if self.reader else {}
                )
                date = dt.datetime.now(dt.UTC)
                jobs: list[_Job] = []
                refused: list[tuple[str, str, str, str]] = []
                attempts: list[jr.Attempt] = []
                for rcpt in batch:
                    state = states.get(rcpt.key)
                    if not plan.resend and state in (jr.SENT, jr.FAILED_PERMANENT):
                        continue
                    target = choose_cached(rcpt, cfg, chosen).language
                    language = plan.served.get(target)
                    if language is None:  # the list changed since the plan: leave it
                        continue
                    mid = message_id(plan.revision, language, rcpt.key, domain)
                    data = self._personalise(rcpt, language, mid, date, shared)
                    duplicate = state == jr.SENDING and data is not None
                    if duplicate:
                        self.report.possibly_duplicate.append(rcpt.address)
                    if data is None:
                        # Never handed to a gateway: recorded as failed right after marking.
                        refused.append(
                            (
                                plan.revision,
                                rcpt.key,
                                jr.FAILED_PERMANENT,
                                self.report.failures[-1].detail,
                            )
                        )
                    else:
                        jobs.append(
                            _Job(
                                rcpt.key,
                                rcpt.address,
                                language,
                                Envelope(mid, envelope_sender, rcpt.address, data),
                                1,
                            )
                        )
                    attempts.append(
                        jr.Attempt(
                            plan.revision,
                            rcpt.key,
                            plan.release.id,
                            rcpt.address,
                            rcpt.name,
                            language,
                            rcpt.language,
                            rcpt.list_name,
                            plan.gateway_name,
                            mid,
                            duplicate,
                        )
                    )
                if self.journal:
                    self.journal.mark_sending(self.run_id, attempts)
                    if refused:
                        self.journal.record(refused)
                for job in jobs:
                    self.unsettled.add(job.key)
                    self.outstanding += 1
                    self.report.by_language.setdefault(job.language, Tally()).total += 1
                for job in jobs:
                    if self.stop_reason:
                        return
                    await self.queue.put(job)
                if len(self.retry_tasks) >= MAX_PENDING_RETRIES:
                    self.retry_room.clear()
                    await self.retry_room.wait()
        finally:
            self.producing = False
            self._maybe_done()

    def _personalise(
        self,
        rcpt: Recipient,
        language: str,
        mid: str,
        date: dt.datetime,
        shared: dict[str, str],
    ) -> bytes | None:
        message = self.plan.messages[language]
        try:
            return message.personalise(
                to=rcpt.address,
                to_name=rcpt.name,
                message_id=mid,
                date=date,
                salutation=rcpt.salutation,
                **shared,
            )
        except HeaderError as exc:
            # Only this recipient's own fields can make a header invalid here.
            # One try, as the journal counts it (marked `sending`, then refused).
            self.report.failures.append(
                Failure(rcpt.address, language, jr.FAILED_PERMANENT, f"{rcpt.where}: {exc}", 1)
            )
            self.report.by_language.setdefault(language, Tally()).failed += 1
            return None

    # Workers ------------------------------------------------------------------
    async def work(self) -> None:
        while True:
            job = await self.queue.get()
            if job is None:
                return
            if self.stop_reason:
                continue  # left `sending` → released as unsent below
            self.unsettled.discard(job.key)
            if self.dry_run:
                result = Result(job.envelope, Outcome.ACCEPTED, "dry run")
            else:
                try:
                    result = await self.gateway.send(job.envelope)
                except PressdistError as exc:
                    self._stop(f"{exc}", exc)
                    return
                except Exception as exc:  # a gateway bug must not lose the journal
                    self._stop(f"gateway '{self.plan.gateway_name}' failed: {exc!r}", None)
                    return
            self.on_result(job, result)

    def on_result(self, job: _Job, result: Result) -> None:
        tally = self.report.by_language.setdefault(job.language, Tally())
        if result.outcome is Outcome.ACCEPTED:
            self.consecutive_exhausted = 0
            tally.sent += 1
            self.settle(job, jr.SENT, result.detail)
            self._emit("sent", job, result.detail)
            self._finished_one()
        elif result.outcome is Outcome.PERMANENT:
            tally.failed += 1
            self.settle(job, jr.FAILED_PERMANENT, result.detail)
            self.report.failures.append(
                Failure(job.address, job.language, jr.FAILED_PERMANENT, result.detail, job.attempts)
            )
            self._emit("failed", job, result.detail)
            self._finished_one()
        else:
            self.settle(job, jr.FAILED_TRANSIENT, result.detail)
            if job.attempts < self.max_attempts:
                self.report.retries += 1
                self._emit("retry", job, result.detail)
                task = asyncio.get_running_loop().create_task(
                    self._retry(job, self._delay(job.attempts, result.retry_after))
                )
                self.retry_tasks.add(task)
                task.add_done_callback(self._retry_done)
                return
            self.consecutive_exhausted += 1
            tally.failed += 1
            self.report.failures.append(
                Failure(job.address, job.language, jr.FAILED_TRANSIENT, result.detail, job.attempts)
            )
            self._emit("failed", job, result.detail)
            self._finished_one()
            # Many deliveries in a row that failed every retry, none accepted in
            # between: the gateway is down, not busy. Stop; a later run resumes.
            if self.consecutive_exhausted >= max(10, 2 * self.concurrency):
                self._stop(
                    f"gateway '{self.plan.gateway_name}' failed {self.consecutive_exhausted} "
                    f"deliveries in a row after every retry ({result.detail})",
                    None,
                )

    def _retry_done(self, task: asyncio.Task[None]) -> None:
        self.retry_tasks.discard(task)
        if len(self.retry_tasks) < MAX_PENDING_RETRIES:
            self.retry_room.set()

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        # Exponential backoff with jitter (between half and all of the step) so
        # parallel retries do not arrive together; a server's Retry-After is a
        # floor, never shortened.
        ceiling = min(self.retry_max, self.retry_base * (2 ** (attempts - 1)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, float(retry_after))
        return delay

    async def _retry(self, job: _Job, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.stop_reason:
            return
        job.attempts += 1
        if self.journal:
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
        if not self.dry_run:
            await self.gateway.open()  # GatewayError here: nothing is touched
        plan = self.plan
        if self.journal:
            self.run_id = self.journal.start_run(
                plan.release.id,
                plan.revision,
                [lst.name for lst in plan.lists],
                plan.gateway_name,
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
        finally:
            if not finished and not self.stop_reason:
                self.stop_reason = "interrupted"
            # A worker cancelled inside gateway.send() leaves its delivery
            # `sending`: it may have gone out, and the next run says so.
            tasks = [producer, flusher, *workers, *self.retry_tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.flush()
            if self.journal:
                self.journal.release_unsent(plan.revision, self.unsettled)
                self.journal.finish_run(
                    self.run_id, "finished" if finished else "stopped", self.stop_reason
                )
            if not self.dry_run:
                # A courtesy (QUIT, closing sockets): what was sent is recorded, and a
                # server that stalls must not keep a stopped run from ending.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.gateway.close(), 2 if self.stop_reason else 10)
            self.report.elapsed = time.monotonic() - started
            self.report.stopped = self.stop_reason
            self.report.stop_error = self.stop_error
        return self.report


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
    if dry_run:
        # Read-only: the dry run skips exactly whom the real run would skip.
        reader = jr.Journal.read_only(journal_path(plan.workspace))
        try:
            return asyncio.run(DeliveryRun(plan, reader, progress, True).run())
        finally:
            if reader is not None:
                reader.close()
    with _lock(plan.workspace), jr.Journal(journal_path(plan.workspace)) as journal:
        report = asyncio.run(DeliveryRun(plan, journal, progress, False).run())
    return report


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
    """A test copy of every sendable language to ``address``; the journal is not touched."""
    addr, key = to_address(address)
    domain = message_id_domain(plan.workspace)
    nonce = f"{time.time_ns():x}"
    envelopes = []
    for language in plan.sendable:
        message = plan.messages.get(language)
        if message is None:
            message = plan.messages[language] = render(
                plan.workspace, plan.release, language, available=plan.sendable
            )
        mid = f"test.{nonce}." + message_id(plan.revision, language, key, domain)
        data = message.personalise(
            to=addr, message_id=mid, date=dt.datetime.now(dt.UTC), **shared_headers(plan.workspace)
        )
        envelopes.append((language, Envelope(mid, sender_address(plan.workspace), addr, data)))

    async def go() -> Report:
        report = Report(test_address=addr)
        started = time.monotonic()
        await plan.gateway.open()
        try:
            for language, env in envelopes:
                result = await plan.gateway.send(env)
                tally = report.by_language.setdefault(language, Tally(total=1))
                if result.outcome is Outcome.ACCEPTED:
                    tally.sent += 1
                    kind = "sent"
                else:
                    tally.failed += 1
                    kind = "failed"
                    report.failures.append(
                        Failure(addr, language, result.outcome.value, result.detail, 1)
                    )
                if progress:
                    progress(Event(kind, language, addr, result.detail))
        finally:
            await plan.gateway.close()
        report.elapsed = time.monotonic() - started
        return report

    return asyncio.run(go())


class _lock:
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
