"""Mailgun's webhooks in `pressdist serve`: ``POST /webhooks/mailgun/<gateway>``.

Owns what a webhook request leads to and what Mailgun is answered: the keys
of the gateways that have ``webhook_signing_key_env``, the replay record (each
token once, in the journal's ``inbox_seen``), handing a signed event to
``inbox.act`` inside the journal, and the line the log gets, which never holds
an address in clear. Mailgun reads only the status: 200 taken; 406 refused,
and Mailgun does not retry; 503 not taken now, and Mailgun retries.

It does not check signatures or read events (``inbox.mailgun``), decide what
an event leads to (``inbox.act``) or speak HTTP (``serve.app`` routes the
request here and turns the answer into a response).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pressdist.audience import suppression
from pressdist.errors import ConfigError, PressdistError
from pressdist.gateways import http
from pressdist.inbox import act, mailgun
from pressdist.sending import journal as jr
from pressdist.sending.plan import journal_path

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

PATH = "/webhooks/mailgun/{gateway}"
MAX_BODY = 256 * 1024  # bytes: an event is a few KB; a long bounce report stays far below
REPLAY_PREFIX = "mailgun-webhook:"  # + the token: the journal's record that it was used


@dataclass(frozen=True)
class Answer:
    """What Mailgun is told, and the end of the log line (no address in clear)."""

    status: int
    text: str
    log: str


def signing_keys(workspace: Workspace) -> dict[str, bytes]:
    """Per gateway name, the key its webhooks are signed with: each that has one configured.

    The keys are read from the environment now (``gateways.http``), so a
    missing variable stops `pressdist serve` before it listens.
    """
    keys: dict[str, bytes] = {}
    for name, config in workspace.config.gateways.items():
        if "webhook_signing_key_env" not in config.table:
            continue
        if config.type != "http":
            raise ConfigError(
                f"'gateways.{name}.webhook_signing_key_env' is only for an http gateway "
                'with api = "mailgun"',
                path=config.path,
                line=config.line("webhook_signing_key_env"),
            )
        key = http.webhook_signing_key(config)
        assert key is not None
        keys[name] = key
    return keys


def answer(
    workspace: Workspace, gateway: str, key: bytes, body: bytes | None, *, now: float | None = None
) -> Answer:
    """What a webhook request for ``gateway`` leads to; ``body`` None: it was too large.

    Refusals are 406, Mailgun's one code for "rejected, do not retry": a
    request that is not a fresh event signed with the key would fail the same
    way at every retry (a forgery, a replay, a key that does not match), and a
    genuine event refused here is still in Mailgun's event log for
    `pressdist inbox --gateway` to read. Only when the journal or the
    suppression list cannot be written now is the answer 503, so that Mailgun
    tries again later.
    """
    if body is None:
        return Answer(406, "refused: the request is too large", "406 too large")
    try:
        signed = mailgun.webhook_event(body, key, now=now)
    except mailgun.RefusedWebhook as refused:
        return Answer(406, f"refused: {refused}", f"406 {refused}")
    try:
        with jr.Journal(journal_path(workspace)) as journal:
            return _take(workspace, journal, gateway, signed)
    except PressdistError as exc:
        return Answer(503, "not taken now: try again later", f"503 {exc.message}")
    except (sqlite3.Error, OSError) as exc:  # the journal busy past its timeout, a full disk
        return Answer(503, "not taken now: try again later", f"503 {exc}")


def _take(
    workspace: Workspace, journal: jr.Journal, gateway: str, signed: mailgun.WebhookEvent
) -> Answer:
    """A signed event: once per token, and once per event, whichever way it came."""
    replay = REPLAY_PREFIX + signed.token
    if journal.seen(replay) is not None:
        return Answer(406, "refused: this token was used before", "406 replayed token")
    source = f"mailgun webhook {gateway}"
    event = signed.event
    finding = mailgun.finding_of(event)
    if finding is None:
        journal.remember(replay, source, "ignored")
        name = event.get("event")
        what = name if isinstance(name, str) and name.isidentifier() else "unreadable"
        return Answer(200, "ignored", f"200 ignored: {what} event")
    event_id = event.get("id")
    event_key = mailgun.KEY_PREFIX + event_id if isinstance(event_id, str) and event_id else ""
    if event_key and journal.seen(event_key) is not None:
        journal.remember(replay, source, "known")
        return Answer(200, "known", f"200 already read: {finding.kind.value}")
    action = act.apply(workspace, journal, finding, source=source, dry_run=False)
    journal.remember(replay, source, action.verdict.value, action.text)
    # The poll (`pressdist inbox --gateway`) knows the event by this key and skips
    # it; what needs a person is left for the poll, which reports it where cron
    # mails it, instead of only in this log.
    if event_key and action.done:
        journal.remember(event_key, f"mailgun:{gateway}", action.verdict.value, action.text)
    return Answer(200, "ok", f"200 {action.verdict.value} recipient {_hashed(finding.recipient)}")


def _hashed(address: str) -> str:
    """What the log says instead of the address: the start of its suppression-list hash."""
    try:
        return suppression.address_hash(address)[:16]
    except ValueError:
        return "-"
