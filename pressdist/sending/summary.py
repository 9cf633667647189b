"""The per-release report (``pressdist report``): what the journal says a release achieved.

Owns the tally per revision and language: sent, failed (for good or after
the retries ran out), not settled (still pending or in flight), of those
sent how many bounced or were reported as spam (what ``inbox`` read), and the
readers who said no since: of those it reached, how many the suppression list
keeps from that list now, by a suppression made after their mail, and of
those how many unsubscribed. It reads the journal and the suppression list
and prints nothing; ``pressdist log`` shows the single deliveries.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from pressdist.audience import suppression
from pressdist.sending import journal as jr
from pressdist.sending.log import open_log

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


@dataclass(frozen=True)
class SummaryLine:
    """One revision's deliveries in one language."""

    revision: str
    language: str
    sent: int = 0
    failed: int = 0
    unsettled: int = 0  # pending or sending: a stopped or crashed run
    suppressed: int = 0  # reached, and suppressed for this list since
    unsubscribed: int = 0  # of those, by their own unsubscribe
    bounced: int = 0  # sent, and came back: the address takes no mail (5.x.x)
    soft_bounced: int = 0  # sent, and came back for now (4.x.x: mailbox full)
    complained: int = 0  # sent, and reported as spam by the recipient

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.unsettled


@dataclass(frozen=True)
class Summary:
    release_id: str
    lines: tuple[SummaryLine, ...]

    @property
    def sent(self) -> int:
        return sum(line.sent for line in self.lines)

    @property
    def failed(self) -> int:
        return sum(line.failed for line in self.lines)

    @property
    def unsettled(self) -> int:
        return sum(line.unsettled for line in self.lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "release_id": self.release_id,
            "sent": self.sent,
            "failed": self.failed,
            "unsettled": self.unsettled,
            "lines": [asdict(line) | {"total": line.total} for line in self.lines],
        }


_FAILED = (jr.FAILED_PERMANENT, jr.FAILED_TRANSIENT)
_RETURNED = {jr.BOUNCED: "bounced", jr.SOFT_BOUNCED: "soft_bounced", jr.COMPLAINED: "complained"}


def summarise(workspace: Workspace, release_id: str) -> Summary:
    """The report of ``release_id``; refuses an id that is neither a release nor ever sent."""
    journal = open_log(workspace, release_id)
    if journal is None:
        return Summary(release_id, ())
    with journal:
        tallies = journal.tallies(release_id)
        order = {run.revision: i for i, run in reversed(list(enumerate(journal.runs(release_id))))}
        said_no = _said_no_since(workspace, journal, release_id)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for revision, language, state, n in tallies:
        line = counts.setdefault(
            (revision, language),
            {"sent": 0, "failed": 0, "unsettled": 0, **dict.fromkeys(_RETURNED.values(), 0)},
        )
        field = "sent" if state in jr.DELIVERED else "failed" if state in _FAILED else "unsettled"
        line[field] += n
        if state in _RETURNED:
            line[_RETURNED[state]] += n
    lines = [
        SummaryLine(revision, language, **tally, **said_no.get((revision, language), {}))
        for (revision, language), tally in sorted(
            counts.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0])
        )
    ]
    return Summary(release_id, tuple(lines))


def _said_no_since(workspace: Workspace, journal: jr.Journal, release_id: str) -> dict:
    """Per (revision, language): ``suppressed`` and ``unsubscribed`` since the mail went out."""
    held = suppression.load(workspace)
    found: dict[tuple[str, str], dict[str, int]] = {}
    if not held:
        return found
    for revision, language, recipient, list_name, sent_at in journal.sent_of(release_id):
        if _HASH.match(recipient):
            said = held.lookup_hash(recipient, list_name)
        else:
            said = held.lookup(recipient, list_name)
        # The list records whole seconds: one made in the second of the mail counts.
        if said is None or said.when < dt.datetime.fromisoformat(sent_at).replace(microsecond=0):
            continue
        line = found.setdefault((revision, language), {"suppressed": 0, "unsubscribed": 0})
        line["suppressed"] += 1
        line["unsubscribed"] += said.reason == suppression.UNSUBSCRIBED
    return found


# An erased recipient is its hash in the journal (``privacy.forget``).
_HASH = re.compile(r"^[0-9a-f]{64}$")
