"""Sending a release to distribution lists: plan first, then deliver with a journal.

Owns the plan: who gets which language, from the lists and the readiness of
each translation; whom the suppression list holds back (counted by reason,
never handed on); what the journal says was already sent; rendering once per
language; and, for the delivery run, the stream of mails to send (``Addressee``,
from the lists or the test copies of ``--to``). ``sending.delivery`` carries it
out. It does not parse lists (``recipients``), build MIME (``render``), speak
SMTP/HTTP (``gateways``) or print anything: the CLI shows the plan and follows
progress through a callback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pressdist.audience import suppression
from pressdist.audience.lists import (
    FALLBACK,
    Choice,
    ListFile,
    Recipient,
    choose_cached,
    iter_audience,
    open_lists,
)
from pressdist.diagnostics import ERROR, Diagnostic
from pressdist.errors import InputError, NotReady
from pressdist.mail.identity import check_headers, message_id, message_id_domain, sender_address
from pressdist.mail.render import render
from pressdist.quality.readiness import readiness
from pressdist.sending import journal as jr
from pressdist.sending.gateway import Gateway, configured
from pressdist.source.release import load_release

if TYPE_CHECKING:
    from pressdist.mail.render import RenderedMessage
    from pressdist.quality.readiness import Readiness
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

BATCH = 200  # rows per journal lookup while planning
T = TypeVar("T")


class ListProblems(InputError):
    """A list has rows that cannot be sent; ``problems`` holds all of them."""

    def __init__(self, problems: list[Diagnostic]) -> None:
        errors = [p for p in problems if p.level == ERROR]
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        super().__init__(
            first.message + more,
            path=first.path,
            line=first.line,
            hint=first.hint or "fix the list; `pressdist recipients check LIST` shows every row",
        )
        self.problems = problems


@dataclass
class LanguageLine:
    """The recipients one language of the release goes to."""

    language: str  # the language of the mail they get
    recipients: int = 0  # who gets it: the suppressed are not among them
    to_send: int = 0
    already_sent: int = 0
    failed_before: int = 0  # failed permanently in an earlier run; skipped without --resend
    requested: Counter[str] = field(default_factory=Counter)  # what the lists asked for
    fallback: Counter[str] = field(default_factory=Counter)  # of those, reached by fallback
    suppressed: Counter[str] = field(default_factory=Counter)  # reason -> held back, not sent

    def add(self, other: LanguageLine, *, by_fallback: bool) -> None:
        """Count ``other``'s recipients here too (all of them reached by fallback, or not)."""
        self.recipients += other.recipients
        self.to_send += other.to_send
        self.already_sent += other.already_sent
        self.failed_before += other.failed_before
        self.requested.update(other.requested)
        self.suppressed.update(other.suppressed)
        self.fallback.update(other.requested if by_fallback else other.fallback)


@dataclass(frozen=True, slots=True)
class Addressee:
    """One mail the delivery run is to send: to whom, in which language, with which id."""

    recipient: Recipient
    language: str
    message_id: str
    state: str | None = None  # the journal's before this run; None: never tried


@dataclass
class Plan:
    """Everything decided before the first mail goes out (shown to confirm)."""

    workspace: Workspace
    release: Release
    gateway: Gateway
    lists: list[ListFile]
    lines: dict[str, LanguageLine]
    problems: list[Diagnostic]
    served: dict[str, str]  # workspace language -> language of the mail its readers get
    messages: dict[str, RenderedMessage]  # language -> its message, rendered once
    sendable: list[str]  # languages readiness allows (what --to sends)
    domain: str  # of every Message-ID
    resend: bool = False
    in_flight: int = 0  # deliveries left `sending` by an interrupted run
    earlier_revisions: dict[str, int] = field(default_factory=dict)

    @property
    def revision(self) -> str:
        return self.release.revision

    @property
    def gateway_name(self) -> str:
        return self.gateway.name

    @property
    def total(self) -> int:
        return sum(line.recipients for line in self.lines.values())

    @property
    def to_send(self) -> int:
        return sum(line.to_send for line in self.lines.values())

    @property
    def already_sent(self) -> int:
        return sum(line.already_sent for line in self.lines.values())

    @property
    def suppressed(self) -> Counter[str]:
        """Reason -> how many recipients of the lists the suppression list holds back."""
        total: Counter[str] = Counter()
        for line in self.lines.values():
            total.update(line.suppressed)
        return total

    def message(self, language: str) -> RenderedMessage:
        """The message of ``language``, rendered on first use (a test copy may need one)."""
        message = self.messages.get(language)
        if message is None:
            message = self.messages[language] = render(
                self.workspace, self.release, language, available=self.sendable
            )
        return message

    def addressees(
        self,
        journal: jr.Journal | jr.NullJournal,
        size: int,
        suppressed: Counter[str] | None = None,
    ) -> Iterator[list[Addressee]]:
        """The mails to send to the lists, in batches of ``size`` rows, streamed.

        ``journal`` and the suppression list are read again (not trusted from
        planning time): whoever the journal says is served is skipped, as is a
        reader the plan has no language for (the list changed since the plan);
        whoever is suppressed now is left out, and counted by reason into
        ``suppressed``, whatever ``resend`` says.
        """
        chosen: dict[str, Choice] = {}
        problems: list[Diagnostic] = []
        held = suppression.load(self.workspace)
        audience = iter_audience(self.lists, problems, held)
        for batch in batches(_not_held(audience, suppressed), size):
            states = journal.states(self.revision, [r.key for r in batch])
            out = []
            for rcpt in batch:
                state = states.get(rcpt.key)
                language = self.served.get(
                    choose_cached(rcpt, self.workspace.config, chosen).language
                )
                if language is not None and is_due(state, self.resend):
                    mid = message_id(self.revision, language, rcpt.key, self.domain)
                    out.append(Addressee(rcpt, language, mid, state))
            yield out

    def test_copies(self, recipient: Recipient, nonce: str) -> Iterator[list[Addressee]]:
        """One mail in every sendable language to ``recipient`` (``send --to``).

        Their Message-IDs start with ``test.NONCE.``: never the id of a real
        delivery, so a test copy cannot be mistaken for one.
        """
        yield [
            Addressee(
                recipient,
                language,
                f"test.{nonce}." + message_id(self.revision, language, recipient.key, self.domain),
            )
            for language in self.sendable
        ]


def _not_held(
    audience: Iterator[tuple[Recipient, suppression.Suppression | None]],
    counted: Counter[str] | None,
) -> Iterator[Recipient]:
    for rcpt, held in audience:
        if held is None:
            yield rcpt
        elif counted is not None:
            counted[held.reason] += 1


def is_due(state: str | None, resend: bool) -> bool:
    """Whether a delivery in journal ``state`` goes out: not when it was sent or
    failed permanently, unless ``resend``."""
    return resend or state not in (*jr.DELIVERED, jr.FAILED_PERMANENT)


def journal_path(workspace: Workspace) -> Path:
    return workspace.state_dir / jr.FILE_NAME


# Plan -------------------------------------------------------------------------


def plan(
    workspace: Workspace,
    release_id: str,
    list_names: list[str],
    *,
    gateway: str | Gateway | None = None,
    resend: bool = False,
    allow_fallback: bool = False,
) -> Plan:
    """Read the lists, apply readiness, render each language; raise before anything is sent.

    ``gateway`` is a ``[gateways.NAME]`` (default: ``[send] gateway``) or a
    gateway object (e.g. ``gateways.memory.MemoryGateway``). Refuses
    (NotReady) a language that has readers but is not ready, naming what to
    fix, unless ``allow_fallback``: then its readers get the language its
    fallback chain leads to.
    """
    release = load_release(workspace, release_id)
    sender_address(workspace)
    domain = message_id_domain(workspace)
    gw = configured(workspace, gateway) if gateway is None or isinstance(gateway, str) else gateway
    lists = open_lists(workspace, list_names) if list_names else []
    problems: list[Diagnostic] = []
    counted = _count(workspace, release, lists, problems, resend)
    if any(p.level == ERROR for p in problems):
        raise ListProblems(problems)
    ready = readiness(workspace, release)
    sendable = [lang for lang in workspace.config.all_languages if ready[lang].sendable]
    served, lines = _serve(counted.per_target, ready, allow_fallback, release.id)
    needed = set(served.values()) | set(sendable if not lists else [])
    messages = {
        lang: render(workspace, release, lang, available=sendable) for lang in sorted(needed)
    }
    if messages:
        check_headers(workspace, next(iter(messages.values())))
    order = workspace.config.all_languages
    return Plan(
        workspace=workspace,
        release=release,
        gateway=gw,
        lists=lists,
        lines=dict(sorted(lines.items(), key=lambda kv: order.index(kv[0]))),
        problems=problems,
        served=served,
        messages=messages,
        sendable=sendable,
        domain=domain,
        resend=resend,
        in_flight=counted.in_flight,
        earlier_revisions=counted.earlier,
    )


@dataclass
class _Counted:
    per_target: dict[str, LanguageLine]  # by the language each reader would get, if ready
    in_flight: int
    earlier: dict[str, int]


def _count(
    workspace: Workspace,
    release: Release,
    lists: list[ListFile],
    problems: list[Diagnostic],
    resend: bool,
) -> _Counted:
    """Every recipient counted under the language chosen for them, against the journal."""
    chosen: dict[str, Choice] = {}
    per_target: dict[str, LanguageLine] = {}
    in_flight = 0
    held = suppression.load(workspace)
    journal = jr.Journal.read_only(journal_path(workspace))
    try:
        for batch in batches(iter_audience(lists, problems, held)):
            unheld = [r for r, s in batch if s is None]
            states = journal.states(release.revision, [r.key for r in unheld]) if journal else {}
            for rcpt, found in batch:
                choice = choose_cached(rcpt, workspace.config, chosen)
                line = per_target.setdefault(choice.language, LanguageLine(choice.language))
                if found is not None:
                    line.suppressed[found.reason] += 1
                    continue
                line.recipients += 1
                line.requested[rcpt.language or "—"] += 1
                if choice.how == FALLBACK:
                    line.fallback[rcpt.language or "—"] += 1
                state = states.get(rcpt.key)
                if is_due(state, resend):
                    line.to_send += 1
                    in_flight += state == jr.SENDING
                elif state in jr.DELIVERED:
                    line.already_sent += 1
                else:
                    line.failed_before += 1
        earlier = journal.other_revisions_sent(release.id, release.revision) if journal else {}
    finally:
        if journal:
            journal.close()
    return _Counted(per_target, in_flight, earlier)


def _serve(
    per_target: dict[str, LanguageLine],
    ready: dict[str, Readiness],
    allow_fallback: bool,
    release_id: str,
) -> tuple[dict[str, str], dict[str, LanguageLine]]:
    """Which language each target's readers get, and the lines merged by that language.

    NotReady for a target with readers that is not ready, unless
    ``allow_fallback`` and its fallback chain leads somewhere that is.
    """
    served: dict[str, str] = {}
    lines: dict[str, LanguageLine] = {}
    for target, line in per_target.items():
        r = ready[target]
        if not line.recipients:  # only suppressed readers: nothing to render or refuse
            lines.setdefault(target, LanguageLine(target)).add(line, by_fallback=False)
            continue
        if r.sendable:
            served[target] = target
        elif allow_fallback and r.serves:
            served[target] = r.serves
        else:
            why = "; ".join(r.reasons[:3]) or "not ready"
            more = f" (and {len(r.reasons) - 3} more)" if len(r.reasons) > 3 else ""
            alt = f", or pass --allow-fallback to send them {r.serves}" if r.serves else ""
            raise NotReady(
                f"{target} is not ready to send to {line.recipients} recipients: {why}{more}",
                hint=f"run `pressdist check {release_id}` and fix it{alt}",
            )
        into = lines.setdefault(served[target], LanguageLine(served[target]))
        into.add(line, by_fallback=target != served[target])
    return served, lines


def batches(items: Iterator[T], size: int = BATCH) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
