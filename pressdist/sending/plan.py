"""Sending a release to distribution lists: plan first, then deliver with a journal.

Owns the plan: who gets which language, from the lists and the readiness of
each translation; whom the suppression list holds back (counted by reason,
never handed on); what the journal says was already sent, of this revision or
another (``due``: a new revision goes only to those who never got the release;
the others only as a correction, in the language they got, or with
``--resend``); rendering once per language; and, for the delivery run, the
stream of mails to send (``Addressee``, from the lists or the test copies of
``--to``). ``sending.delivery`` carries it
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
from pressdist.mail.content import Correction
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

# What a recipient is sent, if anything (``due``).
PLAIN = "plain"
CORRECTION = "correction"


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
    to_send: int = 0  # corrections included
    already_sent: int = 0  # got this revision (sent to again only with --resend)
    earlier: int = 0  # got another revision of the release, not this one
    passed_over: int = 0  # of those, get nothing now: no --correction, no --resend
    corrections: int = 0  # of to_send: sent as a correction of what they got
    again: int = 0  # of to_send: get the release a second time (--resend)
    failed_before: int = 0  # failed permanently in an earlier run; skipped without --retry-failed
    requested: Counter[str] = field(default_factory=Counter)  # what the lists asked for
    fallback: Counter[str] = field(default_factory=Counter)  # of those, reached by fallback
    suppressed: Counter[str] = field(default_factory=Counter)  # reason -> held back, not sent

    def add(self, other: LanguageLine, *, by_fallback: bool) -> None:
        """Count ``other``'s recipients here too (all of them reached by fallback, or not)."""
        self.recipients += other.recipients
        self.to_send += other.to_send
        self.already_sent += other.already_sent
        self.earlier += other.earlier
        self.passed_over += other.passed_over
        self.corrections += other.corrections
        self.again += other.again
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
    correction: bool = False  # the correction of what they got, in the language they got it in
    references: str = ""  # the Message-ID of the mail a correction corrects


@dataclass(frozen=True)
class Reach:
    """Whom a send goes to besides those who never got the release: what was asked for.

    ``resend``: everyone again, who got this revision or another; ``correction``:
    those who got another revision get this one as a correction; ``retry_failed``:
    the deliveries that failed permanently are tried again.
    """

    resend: bool = False
    correction: Correction | None = None
    retry_failed: bool = False


def due(state: str | None, earlier: bool, reach: Reach) -> str | None:
    """What a recipient gets in this send: ``PLAIN``, ``CORRECTION`` or None (nothing).

    ``state`` is their delivery of this revision in the journal (None: never
    tried), ``earlier`` whether they got another revision of the release. A
    new revision goes only to those who never got any: to the others only as
    a correction, or with ``resend``. A permanent failure waits for
    ``retry_failed``.
    """
    kind = CORRECTION if earlier and reach.correction is not None else PLAIN
    if reach.resend:
        return kind
    if state in jr.DELIVERED or (state == jr.FAILED_PERMANENT and not reach.retry_failed):
        return None
    if earlier and kind == PLAIN:
        return None
    return kind


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
    reach: Reach = Reach()
    in_flight: int = 0  # deliveries left `sending` by an interrupted run
    # Revisions of the release sent before -> to how many (of any list)
    earlier_revisions: dict[str, int] = field(default_factory=dict)
    corrections: dict[str, RenderedMessage] = field(default_factory=dict)  # by language

    @property
    def revision(self) -> str:
        return self.release.revision

    @property
    def resend(self) -> bool:
        return self.reach.resend

    @property
    def correction(self) -> Correction | None:
        return self.reach.correction

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
    def earlier(self) -> int:
        """Recipients of the lists who got another revision of the release, not this one."""
        return sum(line.earlier for line in self.lines.values())

    @property
    def passed_over(self) -> int:
        """Of ``earlier``, those this send gives nothing (neither correction nor resend)."""
        return sum(line.passed_over for line in self.lines.values())

    @property
    def corrected(self) -> int:
        """Of ``to_send``, the corrections."""
        return sum(line.corrections for line in self.lines.values())

    @property
    def again(self) -> int:
        """Of ``to_send``, the recipients who get this release a second time (--resend)."""
        return sum(line.again for line in self.lines.values())

    @property
    def failed_before(self) -> int:
        """Recipients skipped because their delivery failed permanently before."""
        return sum(line.failed_before for line in self.lines.values())

    @property
    def suppressed(self) -> Counter[str]:
        """Reason -> how many recipients of the lists the suppression list holds back."""
        total: Counter[str] = Counter()
        for line in self.lines.values():
            total.update(line.suppressed)
        return total

    def message(self, language: str, *, correction: bool = False) -> RenderedMessage:
        """The message of ``language`` (the correction's, with ``correction``),
        rendered on first use (a test copy may need one)."""
        cache = self.corrections if correction else self.messages
        message = cache.get(language)
        if message is None:
            message = cache[language] = render(
                self.workspace,
                self.release,
                language,
                available=self.sendable,
                correction=self.correction if correction else None,
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
        others = journal.other_revisions_sent(self.release.id, self.revision)
        for batch in batches(_not_held(audience, suppressed), size):
            keys = [r.key for r in batch]
            states = journal.states(self.revision, keys)
            earlier = journal.earlier(self.release.id, self.revision, keys) if others else {}
            out = []
            for rcpt in batch:
                state, before = states.get(rcpt.key), earlier.get(rcpt.key)
                kind = due(state, before is not None, self.reach)
                if kind is None:
                    continue
                if before is not None and kind == CORRECTION:
                    # In the language they got; one no longer ready is not swapped for another.
                    if before.language in self.sendable:
                        out.append(self._correction(rcpt, before, state))
                    continue
                language = self.served.get(
                    choose_cached(rcpt, self.workspace.config, chosen).language
                )
                if language is not None:
                    mid = message_id(self.revision, language, rcpt.key, self.domain)
                    out.append(Addressee(rcpt, language, mid, state))
            yield out

    def _correction(self, rcpt: Recipient, before: jr.Earlier, state: str | None) -> Addressee:
        language = before.language
        mid = message_id(self.revision, language, rcpt.key, self.domain, correction=True)
        return Addressee(rcpt, language, mid, state, correction=True, references=before.message_id)

    def test_copies(self, recipient: Recipient, nonce: str) -> Iterator[list[Addressee]]:
        """One mail in every sendable language to ``recipient`` (``send --to``).

        Their Message-IDs start with ``test.NONCE.``: never the id of a real
        delivery, so a test copy cannot be mistaken for one.
        """
        correction = self.correction is not None
        yield [
            Addressee(
                recipient,
                language,
                f"test.{nonce}."
                + message_id(
                    self.revision, language, recipient.key, self.domain, correction=correction
                ),
                correction=correction,
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
    correction: Correction | None = None,
    retry_failed: bool = False,
) -> Plan:
    """Read the lists, apply readiness, render each language; raise before anything is sent.

    ``gateway`` is a ``[gateways.NAME]`` (default: ``[send] gateway``) or a
    gateway object (e.g. ``gateways.memory.MemoryGateway``). Refuses
    (NotReady) a language that has readers but is not ready, naming what to
    fix, unless ``allow_fallback``: then its readers get the language its
    fallback chain leads to. Whoever got another revision of the release gets
    nothing, unless ``correction`` (then this revision as a correction, in
    the language they got, which must be ready: no fallback) or ``resend``;
    ``retry_failed`` tries the permanent failures again (see ``due``).
    """
    release = load_release(workspace, release_id)
    sender_address(workspace)
    domain = message_id_domain(workspace)
    gw = configured(workspace, gateway) if gateway is None or isinstance(gateway, str) else gateway
    lists = open_lists(workspace, list_names) if list_names else []
    problems: list[Diagnostic] = []
    reach = Reach(resend=resend, correction=correction, retry_failed=retry_failed)
    counted = _count(workspace, release, lists, problems, reach)
    if any(p.level == ERROR for p in problems):
        raise ListProblems(problems)
    ready = readiness(workspace, release)
    sendable = [lang for lang in workspace.config.all_languages if ready[lang].sendable]
    served, lines = _serve(counted.per_target, ready, allow_fallback, release.id)
    _check_corrections(counted.corrections, ready, release.id)
    for lang, line in counted.corrections.items():
        lines.setdefault(lang, LanguageLine(lang)).add(line, by_fallback=False)
    needed = set(served.values()) | set(sendable if not lists else [])
    messages = {
        lang: render(workspace, release, lang, available=sendable) for lang in sorted(needed)
    }
    corrections = {
        lang: render(workspace, release, lang, available=sendable, correction=correction)
        for lang in sorted(counted.corrections)
    }
    if messages or corrections:
        check_headers(workspace, next(iter({**messages, **corrections}.values())))
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
        reach=reach,
        in_flight=counted.in_flight,
        earlier_revisions=counted.earlier,
        corrections=corrections,
    )


@dataclass
class _Counted:
    per_target: dict[str, LanguageLine]  # by the language each reader would get, if ready
    corrections: dict[str, LanguageLine]  # by the language each got before
    in_flight: int
    earlier: dict[str, int]


def _count(
    workspace: Workspace,
    release: Release,
    lists: list[ListFile],
    problems: list[Diagnostic],
    reach: Reach,
) -> _Counted:
    """Every recipient counted under the language chosen for them, against the journal.

    A correction counts under the language of the mail it corrects.
    """
    chosen: dict[str, Choice] = {}
    counted = _Counted({}, {}, 0, {})
    held = suppression.load(workspace)
    journal = jr.Journal.read_only(journal_path(workspace))
    try:
        others = journal.other_revisions_sent(release.id, release.revision) if journal else {}
        for batch in batches(iter_audience(lists, problems, held)):
            keys = [r.key for r, s in batch if s is None]
            states = journal.states(release.revision, keys) if journal else {}
            earlier = journal.earlier(release.id, release.revision, keys) if others else {}
            for rcpt, found in batch:
                state, before = states.get(rcpt.key), earlier.get(rcpt.key)
                kind = due(state, before is not None, reach)
                if found is None and before is not None and kind == CORRECTION:
                    line = counted.corrections.setdefault(
                        before.language, LanguageLine(before.language)
                    )
                else:
                    choice = choose_cached(rcpt, workspace.config, chosen)
                    line = counted.per_target.setdefault(
                        choice.language, LanguageLine(choice.language)
                    )
                    if found is not None:
                        line.suppressed[found.reason] += 1
                        continue
                    if choice.how == FALLBACK:
                        line.fallback[rcpt.language or "—"] += 1
                line.recipients += 1
                line.requested[rcpt.language or "—"] += 1
                _tally(line, state, before is not None, kind)
                counted.in_flight += kind is not None and state == jr.SENDING
        counted.earlier = others
    finally:
        if journal:
            journal.close()
    return counted


def _tally(line: LanguageLine, state: str | None, earlier: bool, kind: str | None) -> None:
    """Count one recipient of ``line``, by their journal ``state`` and what they get."""
    if state in jr.DELIVERED:
        line.already_sent += 1
    elif earlier:
        line.earlier += 1
        line.passed_over += kind is None and state != jr.FAILED_PERMANENT
    if kind is None:
        line.failed_before += state == jr.FAILED_PERMANENT
        return
    line.to_send += 1
    line.corrections += kind == CORRECTION
    line.again += state in jr.DELIVERED or (earlier and kind == PLAIN)


def _check_corrections(
    corrections: dict[str, LanguageLine], ready: dict[str, Readiness], release_id: str
) -> None:
    """NotReady for a language a correction is due in that is not ready to send.

    A correction goes in the language the recipient got: sending it in
    another one (a fallback) would tell an English reader in German what was
    wrong with the English mail they have.
    """
    for lang, line in corrections.items():
        r = ready.get(lang)
        if r is not None and r.sendable:
            continue
        why = "; ".join(r.reasons[:3]) if r is not None else "not a language of pressdist.toml"
        raise NotReady(
            f"{lang} is not ready to send a correction to {line.recipients} recipients who "
            f"got the release in {lang}: {why or 'not ready'}",
            hint=f"run `pressdist check {release_id}` and fix it; a correction goes in the "
            "language each recipient got, so --allow-fallback does not change it",
        )


def _serve(
    per_target: dict[str, LanguageLine],
    ready: dict[str, Readiness],
    allow_fallback: bool,
    release_id: str,
) -> tuple[dict[str, str], dict[str, LanguageLine]]:
    """Which language each target's readers get, and the lines merged by that language.

    NotReady for a target with readers to send to that is not ready, unless
    ``allow_fallback`` and its fallback chain leads somewhere that is.
    """
    served: dict[str, str] = {}
    lines: dict[str, LanguageLine] = {}
    for target, line in per_target.items():
        r = ready[target]
        # Only readers who are held back or got the release already: nothing to
        # render or refuse (a changed release is not ready again until translated).
        if not line.to_send:
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
                f"{target} is not ready to send to {line.to_send} recipients: {why}{more}",
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
