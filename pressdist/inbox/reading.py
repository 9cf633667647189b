"""One run of ``pressdist inbox``: read what came back, act on it, tidy the mailbox.

Owns the order of things and what makes a run safe to repeat from cron:
each mail is known by the hash of its bytes and each provider event by its
id (the journal's ``inbox_seen``), so a second run acts on nothing twice; a
mail is acted on and remembered *before* it is moved to the processed
folder, so a run killed in between moves it next time and acts on nothing;
what needs a person stays where it is. One run at a time per workspace (a
lock; a second one started by cron meanwhile does nothing). A dry run reads
the journal without writing it and leaves the mailbox as it is.

It does not recognise mails (``inbox.classify``), decide what they lead to
(``inbox.act``), speak IMAP (``inbox.mailboxes``) or Mailgun's API
(``inbox.mailgun``), and it prints nothing: the CLI shows the report.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.errors import PressdistError
from pressdist.inbox import act
from pressdist.inbox.act import Action, Verdict
from pressdist.inbox.classify import Office, classify
from pressdist.inbox.mailboxes import open_mailbox
from pressdist.sending import journal as jr
from pressdist.sending.plan import journal_path

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

LOCK_NAME = "inbox.lock"
# Verdicts after which the mail has done its work and leaves the inbox.
_DONE = {v.value for v in Verdict if v not in (Verdict.FOR_A_PERSON, Verdict.PROBLEM)}


@dataclass
class InboxReport:
    """What one run found and did; ``dry_run``: what it would do."""

    where: str
    dry_run: bool = False
    actions: list[Action] = field(default_factory=list)
    known: int = 0  # acted on in an earlier run: nothing done again
    waiting: int = 0  # of those, left for a person earlier and still there
    unreadable: int = 0  # provider events that could not be read
    busy: bool = False  # another `pressdist inbox` was running: this one did nothing

    def counts(self) -> Counter[Verdict]:
        return Counter(a.verdict for a in self.actions)

    @property
    def problems(self) -> list[Action]:
        return [a for a in self.actions if a.problem]

    def to_dict(self) -> dict[str, object]:
        return {
            "where": self.where,
            "dry_run": self.dry_run,
            "found": {v.value: n for v, n in self.counts().items()},
            "known": self.known,
            "waiting": self.waiting,
            "unreadable": self.unreadable,
            "actions": [
                {
                    "verdict": a.verdict.value,
                    "kind": a.finding.kind.value,
                    "text": a.text,
                    "address": a.address,
                    "status": a.finding.status,
                    "subject": a.finding.subject,
                    "changed": a.changed,
                }
                for a in self.actions
            ],
        }


Progress = Callable[[Action], None]


def read_mailbox(
    workspace: Workspace, *, dry_run: bool = False, progress: Progress | None = None
) -> InboxReport:
    """Read the ``[inbox]`` mailbox once; the report says what was found and done."""
    office = Office.from_workspace(workspace)
    with _single_run(workspace) as free:
        if not free:
            return InboxReport("", dry_run=dry_run, busy=True)
        with _journal(workspace, dry_run) as journal:
            box = open_mailbox(workspace)
            report = InboxReport(box.where, dry_run=dry_run)
            source = f"inbox {box.where}"
            try:
                for mail in box.mails():
                    key = "mail:" + hashlib.sha256(mail.data).hexdigest()
                    earlier = journal.seen(key)
                    if earlier is not None:
                        report.known += 1
                        if earlier in _DONE:
                            if not dry_run:
                                box.done(mail)  # acted on, but a crash kept it from moving
                        else:
                            report.waiting += 1
                        continue
                    finding = classify(mail.data, office)
                    action = act.apply(workspace, journal, finding, source=source, dry_run=dry_run)
                    report.actions.append(action)
                    if progress:
                        progress(action)
                    if dry_run:
                        continue
                    journal.remember(key, box.where, action.verdict.value, action.text)
                    if action.done:
                        box.done(mail)
            finally:
                box.close()
    return report


def read_events(
    workspace: Workspace,
    gateway_name: str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> InboxReport:
    """Poll the events of the Mailgun gateway ``gateway_name`` since the last poll."""
    # start-up: httpx costs ~140 ms to import; reading a mailbox does not need it
    from pressdist.inbox.mailgun import fetch_events

    with _single_run(workspace) as free:
        if not free:
            return InboxReport("", dry_run=dry_run, busy=True)
        with _journal(workspace, dry_run) as journal:
            source = f"mailgun:{gateway_name}"
            batch = fetch_events(workspace, gateway_name, journal.cursor(source))
            report = InboxReport(f"Mailgun events of gateway '{gateway_name}'", dry_run=dry_run)
            report.unreadable = batch.unreadable
            for key, finding in batch.items:
                if journal.seen(key) is not None:
                    report.known += 1
                    continue
                action = act.apply(
                    workspace, journal, finding, source=f"mailgun {gateway_name}", dry_run=dry_run
                )
                report.actions.append(action)
                if progress:
                    progress(action)
                if not dry_run:
                    journal.remember(key, source, action.verdict.value, action.text)
            if not dry_run:
                journal.set_cursor(source, batch.cursor)
    return report


@contextlib.contextmanager
def _journal(workspace: Workspace, dry_run: bool) -> Iterator[jr.Journal]:
    """The journal to act on; a dry run reads it without writing (an empty one if none)."""
    path = journal_path(workspace)
    if not dry_run:
        with jr.Journal(path) as journal:
            yield journal
        return
    journal = jr.Journal.read_only(path) or jr.Journal(Path(":memory:"))
    try:
        yield journal
    finally:
        journal.close()


@contextlib.contextmanager
def _single_run(workspace: Workspace) -> Iterator[bool]:
    """True while this is the only `pressdist inbox` of the workspace; False: another runs."""
    path = workspace.state_dir / LOCK_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as exc:
        raise PressdistError(
            f"cannot create the inbox lock: {exc.strerror or exc}",
            path=path,
            hint="check that .pressdist/ is writable",
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
