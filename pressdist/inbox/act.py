"""What a finding leads to: the journal's second half and the suppression list.

Owns the rules, once for every source (a mail in the office mailbox, a
Mailgun event, a webhook):

- a hard bounce marks the delivery ``bounced`` and suppresses the address on
  every list;
- a soft bounce marks it ``soft-bounced``; the address is suppressed only after
  ``[inbox] soft_bounce_limit`` soft bounces in a row over distinct releases;
- a complaint marks it ``complained`` and suppresses everywhere;
- a mailed unsubscribe suppresses for the list its signed token names;
- delay notices and auto-replies change nothing;
- anything else is left for a person.

Nothing is believed on its word. A report counts only when it names a
delivery the journal holds: by a bounce-address token that verifies
(``mail.verp``), or by the Message-ID of our mail together with the address
it went to, or by the Message-ID alone when the source vouches for itself
(an authenticated provider event). A mailed unsubscribe needs its signed
token. A token that does not verify, or that names no delivery, goes to a
person with one line saying so. It does not read mailboxes or events, and it
does not print; ``inbox.reading`` drives it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pressdist.audience import suppression
from pressdist.inbox.findings import Finding, Kind
from pressdist.mail import unsubscribe, verp
from pressdist.sending import journal as jr

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


class Verdict(enum.Enum):
    """What became of a finding; the table at the end of ``pressdist inbox`` counts these."""

    BOUNCED = "hard bounce"
    SOFT_BOUNCE = "soft bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBED = "unsubscribe"
    NOTHING = "nothing to do"  # a delay notice, an auto-reply
    FOR_A_PERSON = "for a person"  # not a report: a journalist's mail, spam
    PROBLEM = "problem"  # looks like a report but cannot be used: a person must look


@dataclass(frozen=True)
class Action:
    """A finding and what it led to (or, in a dry run, would lead to)."""

    finding: Finding
    verdict: Verdict
    text: str  # one line for the press officer
    done: bool  # handled: the mail may go to the processed folder
    changed: bool = False  # the journal or the suppression list was (or would be) written
    address: str = ""  # the recipient it concerns, when known

    @property
    def problem(self) -> bool:
        return self.verdict is Verdict.PROBLEM


# An erased recipient is a hash in the journal: there is no address left to suppress.
_ERASED = re.compile(r"^[0-9a-f]{64}$")


class _Refused(Exception):
    """A finding that cannot be tied to a delivery; its message is the line a person reads."""


def apply(
    workspace: Workspace,
    journal: jr.Journal,
    finding: Finding,
    *,
    source: str,
    dry_run: bool = False,
) -> Action:
    """Do what ``finding`` asks (nothing when ``dry_run``) and say what that was.

    ``source`` names where it came from (``inbox Maildir bounces/``,
    ``mailgun webhook mg``) for the suppression list's ``source`` column.
    """
    kind = finding.kind
    try:
        if kind in (Kind.DELAYED, Kind.AUTO_REPLY):
            return Action(finding, Verdict.NOTHING, f"{kind.value}: ignored", done=True)
        if kind is Kind.OTHER:
            if finding.problem:
                return Action(
                    finding, Verdict.PROBLEM, f"left for a person: {finding.problem}", False
                )
            return Action(finding, Verdict.FOR_A_PERSON, "left for a person", done=False)
        if kind is Kind.UNSUBSCRIBE and finding.unsubscribe_token:
            return _mailed_unsubscribe(workspace, finding, source, dry_run)
        delivery = _delivery(workspace, journal, finding)
        if kind is Kind.UNSUBSCRIBE:
            return _provider_unsubscribe(workspace, finding, delivery, source, dry_run)
        return _returned(workspace, journal, finding, delivery, source, dry_run)
    except _Refused as refused:
        return Action(finding, Verdict.PROBLEM, f"left for a person: {refused}", done=False)


# Finding the delivery -----------------------------------------------------------


def _delivery(workspace: Workspace, journal: jr.Journal, finding: Finding) -> jr.Delivery:
    """The delivery a report is about, proven by a token or by what only our mail held."""
    if finding.bounce_token:
        secret = unsubscribe.signing_key(workspace)
        try:
            ref = verp.verify(secret, finding.bounce_token)
        except verp.InvalidBounceToken as exc:
            raise _Refused(f"the bounce address's token is not valid: {exc}") from None
        found = journal.by_digest(ref.revision, ref.digest_prefix)
        if found is None:
            raise _Refused(
                f"the bounce address names a delivery of revision {ref.revision} that the "
                "journal does not hold (a journal restored from an older backup?)"
            )
        return found
    if not finding.message_id:
        what = "no bounce-address token and no Message-ID of ours"
        raise _Refused(f"a {finding.kind.value} with {what}: it cannot be tied to a delivery")
    found = journal.by_message_id(finding.message_id)
    if found is None:
        raise _Refused(
            f"a {finding.kind.value} about Message-ID <{finding.message_id}>, "
            "which the journal does not hold"
        )
    # Anyone who got one of our mails knows its Message-ID; only together with
    # the address it went to does a report speak for that delivery.
    if not finding.verified and not _same_address(finding.recipient, found.address):
        raise _Refused(
            f"a {finding.kind.value} about Message-ID <{finding.message_id}> names "
            f"{finding.recipient or 'no recipient'}, not the address that mail went to"
        )
    return found


def _same_address(a: str, b: str) -> bool:
    if not a or not b:
        return False
    try:
        return suppression.address_hash(a) == suppression.address_hash(b)
    except ValueError:
        return False


# Acting -------------------------------------------------------------------------

_STATE = {
    Kind.HARD_BOUNCE: jr.BOUNCED,
    Kind.SOFT_BOUNCE: jr.SOFT_BOUNCED,
    Kind.COMPLAINT: jr.COMPLAINED,
}
_VERDICT = {
    Kind.HARD_BOUNCE: Verdict.BOUNCED,
    Kind.SOFT_BOUNCE: Verdict.SOFT_BOUNCE,
    Kind.COMPLAINT: Verdict.COMPLAINT,
}


def _returned(
    workspace: Workspace,
    journal: jr.Journal,
    finding: Finding,
    delivery: jr.Delivery,
    source: str,
    dry_run: bool,
) -> Action:
    """A bounce or complaint: the journal records it; the suppression list may follow."""
    kind = finding.kind
    state = _STATE[kind]
    about = f"{delivery.release_id} ({delivery.language})"
    status = finding.status or ("complaint" if kind is Kind.COMPLAINT else "")
    if dry_run:
        marked = _would_change(delivery.state, state)
    else:
        marked = journal.mark_returned(delivery, state, status, finding.diagnostic)
    words = f"{kind.value} {status}".strip() + f" of {about}"
    suppress, why = kind is not Kind.SOFT_BOUNCE, ""
    if kind is Kind.SOFT_BOUNCE:
        limit = workspace.config.inbox.soft_bounce_limit
        streak = journal.soft_bounce_streak(delivery.recipient, delivery.release_id, assume=dry_run)
        suppress = streak >= limit
        why = f"; {streak} of {limit} soft bounces in a row"
    reason = suppression.COMPLAINED if kind is Kind.COMPLAINT else suppression.BOUNCED
    added = False
    if suppress:
        added = _suppress(
            workspace, delivery.address, None, reason, f"{source}: {words}", dry_run=dry_run
        )
    result = _did(dry_run, "marked " + state) if marked else "already recorded"
    if added:
        result += ", " + _did(dry_run, "suppressed on every list")
    return Action(
        finding,
        _VERDICT[kind],
        f"{words}: {result}{why}",
        done=True,
        changed=marked or added,
        address=_shown(delivery.address),
    )


def _would_change(current: str, state: str) -> bool:
    rank = {s: i for i, s in enumerate(jr.DELIVERED)}
    return current in rank and rank[current] < rank[state]


def _mailed_unsubscribe(
    workspace: Workspace, finding: Finding, source: str, dry_run: bool
) -> Action:
    """A mail to the unsubscribe address: its signed token says who and which list."""
    secret = unsubscribe.signing_key(workspace)
    try:
        request = unsubscribe.verify(secret, finding.unsubscribe_token, max_age_days=None)
    except unsubscribe.InvalidToken as exc:
        raise _Refused(f"a mailed unsubscribe whose token is not valid: {exc.message}") from None
    # An old mail's link still speaks for its reader: a mailed request is
    # honoured whatever the link's age (the web page asks for a newer one).
    list_name = request.list_name or None
    added = _suppress(
        workspace,
        request.address,
        list_name,
        suppression.UNSUBSCRIBED,
        f"{source}: mailed unsubscribe",
        dry_run=dry_run,
    )
    scope = suppression.scope_words(list_name)
    result = _did(dry_run, f"suppressed on {scope}") if added else f"already suppressed on {scope}"
    return Action(
        finding,
        Verdict.UNSUBSCRIBED,
        f"mailed unsubscribe: {result}",
        done=True,
        changed=added,
        address=request.address,
    )


def _provider_unsubscribe(
    workspace: Workspace, finding: Finding, delivery: jr.Delivery, source: str, dry_run: bool
) -> Action:
    """An unsubscribe a provider reports (its own link): for the list the mail came from."""
    list_name = delivery.list if delivery.list and delivery.list != "--to" else None
    added = _suppress(
        workspace,
        delivery.address,
        list_name,
        suppression.UNSUBSCRIBED,
        f"{source}: unsubscribed from {delivery.release_id}",
        dry_run=dry_run,
    )
    scope = suppression.scope_words(list_name)
    result = _did(dry_run, f"suppressed on {scope}") if added else f"already suppressed on {scope}"
    return Action(
        finding,
        Verdict.UNSUBSCRIBED,
        f"unsubscribe: {result}",
        done=True,
        changed=added,
        address=_shown(delivery.address),
    )


def _suppress(
    workspace: Workspace,
    address: str,
    list_name: str | None,
    reason: str,
    source: str,
    *,
    dry_run: bool,
) -> bool:
    """Add the suppression (a dry run asks whether it would be new); False: it was there."""
    if _ERASED.match(address):
        return False  # erased: the suppression list already holds their hash
    if dry_run:
        held = suppression.load(workspace).active_by_hash.get(suppression.address_hash(address), ())
        scope = suppression.ALL_LISTS if list_name is None else list_name
        return not any(s.scope in (suppression.ALL_LISTS, scope) for s in held)
    return suppression.add(workspace, address, list_name=list_name, reason=reason, source=source)


def _did(dry_run: bool, done: str) -> str:
    """``marked bounced`` said of what a dry run only would do: ``would mark bounced``."""
    if not dry_run:
        return done
    verb, _, rest = done.partition(" ")
    base = {"marked": "mark", "suppressed": "suppress"}.get(verb, verb)
    return f"would {base} {rest}"


def _shown(address: str) -> str:
    return "" if _ERASED.match(address) else address
