"""Delivering planned mails: the asyncio run between the lists, a gateway and the journal.

Owns the engine ``send.run`` drives: a producer that streams recipients,
personalises each message and commits it as ``sending`` in small batches
before queueing it; workers (as many as the gateway's ``concurrency``) that
hand envelopes to the gateway; retries with exponential backoff and jitter;
and committing results in batches. Also the identity of a mail (From,
Message-ID). It decides nothing about who gets what (``send.plan`` does) and
prints nothing (progress goes to a callback).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pressdist import journal as jr
from pressdist.errors import ConfigError, PressdistError
from pressdist.recipients import Choice, Problem, Recipient, choose_cached, iter_recipients

if TYPE_CHECKING:
    from pressdist.gateways import Result
    from pressdist.send import Plan
    from pressdist.workspace import Workspace

# Deliveries are marked `sending` in small batches, each committed just before
# it goes into the queue, so a crash leaves few rows whose fate is unknown;
# results are committed after RESULT_BATCH of them or FLUSH_SECONDS.
BATCH = 200  # rows per journal lookup while planning
RESULT_BATCH = 128
FLUSH_SECONDS = 0.1
QUEUE_PER_CONNECTION = 8
# Deliveries waiting for a retry hold their message; past this many the
# producer waits, so a long outage does not fill memory.
MAX_PENDING_RETRIES = 1000


@dataclass(frozen=True)
class Failure:
    address: str
    language: str
    state: str  # failed-permanent, or failed-transient when retries ran out
    detail: str
    attempts: int


@dataclass
class Tally:
    total: int = 0
    sent: int = 0
    failed: int = 0


@dataclass
class Report:
    """What a run did, for the summary table and the exit status."""

    run_id: int | None = None
    dry_run: bool = False
    test_address: str = ""
    by_language: dict[str, Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    possibly_duplicate: list[str] = field(default_factory=list)
    retries: int = 0
    stopped: str = ""  # why the run stopped early ("" when it ran to the end)
    stop_error: PressdistError | None = None
    elapsed: float = 0.0

    @property
    def sent(self) -> int:
        return sum(t.sent for t in self.by_language.values())

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stopped


@dataclass(frozen=True)
class Event:
    """One delivery settled (or retried), for a progress display."""

    kind: str  # "sent", "failed", "retry"
    language: str
    address: str
    detail: str = ""


Progress = Callable[[Event], None]


# Identity -------------------------------------------------------------------


def _sender(workspace: Workspace) -> tuple[str, str]:
    """The configured sender as ``(name, address)``, or a ConfigError naming pressdist.toml."""
    from pressdist.mime import HeaderError, split_mailbox
    from pressdist.workspace import config_line

    cfg = workspace.config
    if not cfg.sender.strip():
        raise ConfigError(
            "'sender' is not set to an address",
            path=cfg.path,
            hint='set sender = "Press Office <press@example.org>" in pressdist.toml',
        )
    try:
        # A line break would otherwise be dropped silently (or worse, end the
        # From header): the value is refused, not repaired.
        return split_mailbox(cfg.sender, "sender")
    except HeaderError as exc:
        raise ConfigError(
            exc.message, path=cfg.path, line=config_line(cfg.path, (), "sender"), hint=exc.hint
        ) from None


def sender_address(workspace: Workspace) -> str:
    """The envelope sender: the configured address in the ASCII form From shows it in."""
    from pressdist.mime import HeaderError, address
    from pressdist.workspace import config_line

    cfg = workspace.config
    addr = _sender(workspace)[1]
    try:
        envelope = address(addr, "sender")
    except HeaderError as exc:
        raise ConfigError(
            exc.message, path=cfg.path, line=config_line(cfg.path, (), "sender"), hint=exc.hint
        ) from None
    if not envelope.isascii():
        # It is in every mail: a UTF-8 mailbox name would need SMTPUTF8 for all of them.
        raise ConfigError(
            f"the sender address {addr!r} has a mailbox name that is not ASCII",
            path=cfg.path,
            line=config_line(cfg.path, (), "sender"),
            hint="use an ASCII address as sender; recipients may have UTF-8 addresses",
        )
    return envelope


def from_header(workspace: Workspace) -> str:
    """The From line: the configured sender, named after the organisation if it has no name."""
    cfg = workspace.config
    name, addr = _sender(workspace)
    if name or not cfg.organisation.strip():
        return cfg.sender.strip()
    quoted = cfg.organisation.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr}>'


def message_id_domain(workspace: Workspace) -> str:
    domain = (
        workspace.config.send.get("message_id_domain")
        or sender_address(workspace).rsplit("@", 1)[1]
    )
    try:
        import idna

        return idna.encode(domain, uts46=True).decode("ascii")
    except Exception:
        raise ConfigError(
            f"'send.message_id_domain' {domain!r} is not a domain", path=workspace.config.path
        ) from None


def shared_headers(workspace: Workspace) -> dict[str, str]:
    """The ``personalise`` arguments that come from pressdist.toml, the same in every mail."""
    cfg = workspace.config
    return {
        "sender": from_header(workspace),
        "reply_to": cfg.reply_to,
        "unsubscribe_url": cfg.send.get("unsubscribe_url", ""),
        "unsubscribe_mailto": cfg.send.get("unsubscribe_mailto", ""),
    }


def check_headers(workspace: Workspace, message: Any) -> None:
    """Refuse now a configured header value (sender, reply_to, unsubscribe) that is invalid.

    Each goes into every mail: left to the run, it would be recorded as a
    permanent failure of every recipient instead of one error naming the file.
    ``message`` is any RenderedMessage of the release.
    """
    from pressdist.mime import HeaderError

    try:
        data = message.personalise(
            to="recipient@example.org",
            message_id=f"check@{message_id_domain(workspace)}",
            **shared_headers(workspace),
        )
    except HeaderError as exc:
        raise ConfigError(exc.message, path=workspace.config.path, hint=exc.hint) from None
    if not data.split(b"\r\n\r\n", 1)[0].isascii():
        # Only an address can put raw UTF-8 into the headers (RFC 6532); in a
        # setting it would need SMTPUTF8 for every recipient, not just one.
        raise ConfigError(
            "reply_to or unsubscribe_mailto has a mailbox name that is not ASCII",
            path=workspace.config.path,
            hint="use ASCII addresses in pressdist.toml; recipients may have UTF-8 addresses",
        )


def message_id(revision: str, language: str, key: str, domain: str) -> str:
    """Stable for (revision, language, recipient): a resend is recognisably the same mail.

    The address is hashed, so a Message-ID never reveals who else got the release.
    """
    digest = hashlib.sha256(f"{revision}\0{language}\0{key.lower()}".encode()).hexdigest()[:24]
    return f"{revision}.{language}.{digest}@{domain}"


def batches(items: Iterator[Recipient], size: int = BATCH) -> Iterator[list[Recipient]]:
    batch: list[Recipient] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Run --------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    key: str
    address: str
    language: str
    envelope: Any  # gateways.Envelope
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
        problems: list[Problem] = []
        from pressdist.gateways import Envelope

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
        from pressdist.render import HeaderError

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
        from pressdist.gateways import Outcome, Result

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
        from pressdist.gateways import Outcome

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
