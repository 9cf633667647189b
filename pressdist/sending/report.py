"""What a delivery run reports: per-language tallies, failures and progress events.

Owns the value types the CLI shows after (and during) a send. They are filled
by ``sending.delivery`` and know nothing of gateways or the journal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pressdist.errors import PressdistError


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
    suppressed: Counter[str] = field(default_factory=Counter)  # reason -> left out, not sent
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
