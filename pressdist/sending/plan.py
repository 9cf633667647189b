"""Sending a release to distribution lists: plan first, then deliver with a journal.

Owns the plan: who gets which language, from the lists and the readiness of
each translation; what the journal says was already sent; rendering once per
language. ``sending.delivery`` carries it out. It does not parse lists (``recipients``), build MIME
(``render``), speak SMTP/HTTP (``gateways``) or print anything: the CLI shows
the plan and follows progress through a callback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pressdist.audience.lists import (
    ERROR,
    FALLBACK,
    Choice,
    ListFile,
    Recipient,
    choose_cached,
    iter_recipients,
    open_lists,
)
from pressdist.diagnostics import Diagnostic
from pressdist.errors import ConfigError, InputError, NotReady
from pressdist.mail.identity import check_headers, message_id_domain, sender_address
from pressdist.mail.render import render
from pressdist.quality.readiness import readiness
from pressdist.sending import journal as jr
from pressdist.sending.gateway import build
from pressdist.source.release import load_release

if TYPE_CHECKING:
    from pressdist.sending.gateway import Gateway
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

DEFAULT_GATEWAY = "outbox"
BATCH = 200  # rows per journal lookup while planning


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
    recipients: int = 0
    to_send: int = 0
    already_sent: int = 0
    failed_before: int = 0  # failed permanently in an earlier run; skipped without --resend
    requested: Counter[str] = field(default_factory=Counter)  # what the lists asked for
    fallback: Counter[str] = field(default_factory=Counter)  # of those, reached by fallback


@dataclass
class Plan:
    """Everything decided before the first mail goes out (shown to confirm)."""

    workspace: Workspace
    release: Release
    gateway_name: str
    gateway: Gateway
    lists: list[ListFile]
    lines: dict[str, LanguageLine]
    problems: list[Diagnostic]
    served: dict[str, str]  # workspace language -> language of the mail its readers get
    messages: dict[str, Any]  # language -> RenderedMessage, rendered once
    sendable: list[str]  # languages readiness allows (what --to sends)
    resend: bool = False
    in_flight: int = 0  # deliveries left `sending` by an interrupted run
    earlier_revisions: dict[str, int] = field(default_factory=dict)

    @property
    def revision(self) -> str:
        return self.release.revision

    @property
    def total(self) -> int:
        return sum(line.recipients for line in self.lines.values())

    @property
    def to_send(self) -> int:
        return sum(line.to_send for line in self.lines.values())

    @property
    def already_sent(self) -> int:
        return sum(line.already_sent for line in self.lines.values())


# Plan -------------------------------------------------------------------------


def gateway_for(workspace: Workspace, name: str | None) -> tuple[str, Gateway]:
    """The configured gateway (not yet opened); secrets are checked here, before sending."""
    cfg = workspace.config
    name = name or cfg.send.get("gateway") or DEFAULT_GATEWAY
    settings = cfg.gateways.get(name)
    if settings is None:
        if cfg.gateways or name != DEFAULT_GATEWAY:
            known = ", ".join(sorted(cfg.gateways)) or "none"
            raise ConfigError(
                f"no gateway '{name}' in pressdist.toml (configured: {known})",
                path=cfg.path,
                hint=f"add a [gateways.{name}] table or pass --gateway NAME",
            )
        settings = {"type": "maildir", "path": "outbox"}  # works on a fresh machine
    return name, build(name, settings, root=workspace.root, config_path=cfg.path)


def journal_path(workspace: Workspace) -> Path:
    return workspace.state_dir / jr.FILE_NAME


def plan(
    workspace: Workspace,
    release_id: str,
    list_names: list[str],
    *,
    gateway: str | None = None,
    resend: bool = False,
    allow_fallback: bool = False,
) -> Plan:
    """Read the lists, apply readiness, render each language; raise before anything is sent.

    Refuses (NotReady) a language that has readers but is not ready, naming
    what to fix, unless ``allow_fallback``: then its readers get the language
    its fallback chain leads to.
    """
    release = load_release(workspace, release_id)
    cfg = workspace.config
    sender_address(workspace)
    message_id_domain(workspace)
    gateway_name, gw = gateway_for(workspace, gateway)
    lists = open_lists(workspace, list_names) if list_names else []

    problems: list[Diagnostic] = []
    chosen: dict[str, Choice] = {}
    per_target: dict[str, LanguageLine] = {}
    journal = jr.Journal.read_only(journal_path(workspace))
    in_flight = 0
    try:
        for batch in batches(iter_recipients(lists, problems)):
            states = journal.states(release.revision, [r.key for r in batch]) if journal else {}
            for rcpt in batch:
                choice = choose_cached(rcpt, cfg, chosen)
                line = per_target.setdefault(choice.language, LanguageLine(choice.language))
                line.recipients += 1
                line.requested[rcpt.language or "—"] += 1
                if choice.how == FALLBACK:
                    line.fallback[rcpt.language or "—"] += 1
                state = states.get(rcpt.key)
                if state == jr.SENT and not resend:
                    line.already_sent += 1
                elif state == jr.FAILED_PERMANENT and not resend:
                    line.failed_before += 1
                else:
                    line.to_send += 1
                    in_flight += state == jr.SENDING
        earlier = journal.other_revisions_sent(release.id, release.revision) if journal else {}
    finally:
        if journal:
            journal.close()
    if any(p.level == ERROR for p in problems):
        raise ListProblems(problems)

    ready = readiness(workspace, release)
    sendable = [lang for lang in cfg.all_languages if ready[lang].sendable]
    served: dict[str, str] = {}
    lines: dict[str, LanguageLine] = {}
    for target, line in per_target.items():
        r = ready[target]
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
                hint=f"run `pressdist check {release.id}` and fix it{alt}",
            )
        into = lines.setdefault(served[target], LanguageLine(served[target]))
        into.recipients += line.recipients
        into.to_send += line.to_send
        into.already_sent += line.already_sent
        into.failed_before += line.failed_before
        into.requested.update(line.requested)
        into.fallback.update(line.fallback if target == served[target] else line.requested)

    needed = set(served.values()) | set(sendable if not lists else [])
    messages = {
        lang: render(workspace, release, lang, available=sendable) for lang in sorted(needed)
    }
    if messages:
        check_headers(workspace, next(iter(messages.values())))
    return Plan(
        workspace=workspace,
        release=release,
        gateway_name=gateway_name,
        gateway=gw,
        lists=lists,
        lines=dict(sorted(lines.items(), key=lambda kv: cfg.all_languages.index(kv[0]))),
        problems=problems,
        served=served,
        messages=messages,
        sendable=sendable,
        resend=resend,
        in_flight=in_flight,
        earlier_revisions=earlier,
    )


def batches(items: Iterator[Recipient], size: int = BATCH) -> Iterator[list[Recipient]]:
    batch: list[Recipient] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
