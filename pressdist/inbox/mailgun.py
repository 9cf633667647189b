"""Mailgun's side of what comes back: its events, polled, and its webhooks, checked.

Owns reading Mailgun's Events API (``GET /v3/<domain>/events``) for the
failures, complaints and unsubscribes of a ``[gateways.NAME]`` with
``api = "mailgun"``; the cursor that says where the next poll begins; turning
one event, polled or posted to a webhook, into a ``Finding``; and checking a
webhook's signature and age. It does not act on findings (``inbox.act``),
keep the journal (``inbox.reading`` stores the cursor and remembers the event
keys; ``serve`` the webhook tokens) or answer HTTP (``serve``).

Mailgun's events are in its API's words, which this module alone reads:
``failed`` with ``severity`` permanent or temporary, ``complained``,
``unsubscribed``; ``message.headers.message-id`` is the Message-ID pressdist
gave the mail, which is how the journal finds the delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from pressdist.errors import ConfigError, GatewayError
from pressdist.gateways import http
from pressdist.inbox.findings import Finding, Kind
from pressdist.secrets import redact
from pressdist.version import __version__

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

# + the event's id (unique within a day, Mailgun says; its ids are long random
# strings, so one reused within the 30 days a poll can reach is not a concern)
KEY_PREFIX = "mailgun:"  # how the journal remembers an event was read
EVENTS = "failed OR complained OR unsubscribed"  # a filter expression of the Events API
PAGE_SIZE = 300  # the most events the API returns on one page
# Mailgun's guidance on polling: events reach its storage by different routes,
# so one can become visible well after its timestamp (it suggests allowing half
# an hour). Each poll therefore begins this far before the moment the last one
# ended, by this machine's clock (a clock some minutes off is absorbed too);
# what is read twice has the same key and is dropped by the caller.
LATE_WINDOW = 30 * 60
# The longest any Mailgun plan keeps events (30 days; the API reference
# promises at least 3 on every plan). The first poll of a gateway looks back
# this far, and no poll begins earlier: a plan that keeps less has less to give.
KEPT_SECONDS = 30 * 24 * 3600
# A poll reads at most this many pages (300,000 events); a service that keeps
# handing out pages beyond that is paging in circles, and the next poll resumes.
MAX_PAGES = 1000
# A webhook signed longer ago than this is refused, and one signed further in
# the future than the clocks may differ. Mailgun warns that its own delays can
# hold a webhook back, so the window is minutes, not seconds; a refused one is
# still in the event log, which `pressdist inbox --gateway NAME` reads.
WEBHOOK_MAX_AGE = 10 * 60
WEBHOOK_MAX_AHEAD = 60

_ENHANCED_CODE = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")  # RFC 3463
# Mailgun drops a mail to an address on its own suppression list and reports
# it as a permanent failure; the reason says which list, so an unsubscribe or a
# complaint made through Mailgun earlier is not taken for a dead address.
_DROPPED = {"suppress-unsubscribe": Kind.UNSUBSCRIBE, "suppress-complaint": Kind.COMPLAINT}


@dataclass(frozen=True)
class EventBatch:
    """The events one poll read, oldest first, and where the next poll begins.

    Each item is ``("mailgun:<event id>", finding)``. ``cursor`` is to be stored
    (``Journal.set_cursor``) once the items are acted on: passed back to
    ``fetch_events``, the next poll re-reads the last ``LATE_WINDOW`` as well,
    for events that arrive late. ``unreadable`` counts events that were
    skipped because they could not be read.
    """

    items: list[tuple[str, Finding]]
    cursor: str
    unreadable: int = 0


# Polling ----------------------------------------------------------------------------


def fetch_events(
    workspace: Workspace, gateway_name: str, cursor: str | None, *, now: float | None = None
) -> EventBatch:
    """Read the gateway's failures, complaints and unsubscribes since ``cursor``.

    ``cursor`` is what the last batch said (None: never polled). Raises
    ConfigError for a gateway that is not Mailgun's and GatewayError when the
    API cannot be used; the key never appears in either.
    """
    settings = _mailgun_settings(workspace, gateway_name)
    now = time.time() if now is None else now
    begin = _begin(cursor, now)
    base = settings.url.rstrip("/")
    url: str | None = f"{base}/v3/{quote(settings.domain or '', safe='')}/events"
    where = f"gateway '{settings.name}' ({url})"
    query: dict[str, str] | None = {
        "begin": str(begin),
        "ascending": "yes",
        "limit": str(PAGE_SIZE),
        "event": EVENTS,
    }
    read: dict[str, tuple[float, Finding]] = {}
    unreadable, last, complete, pages = 0, float(begin), False, 0
    with _client(settings) as client:
        while url is not None and pages < MAX_PAGES:
            page = _page(client, url, query, settings, where)
            pages += 1
            if not page["items"]:
                complete = True
                break
            for item in page["items"]:
                found = _event(item)
                if found is None:
                    unreadable += 1
                    continue
                key, stamp, finding = found
                read.setdefault(key, (stamp, finding))
                last = max(last, stamp)
            url, query = _next_page(page, settings, where), None
    # Everything older than the late window has arrived once the last page was
    # empty; a poll that stopped early resumes where it stopped.
    end = now - LATE_WINDOW if complete else min(now - LATE_WINDOW, last)
    items = sorted(read.items(), key=lambda item: item[1][0])
    return EventBatch(
        [(key, finding) for key, (_stamp, finding) in items],
        cursor=str(max(begin, int(end))),
        unreadable=unreadable,
    )


def _mailgun_settings(workspace: Workspace, name: str) -> http.HttpSettings:
    """The settings of ``[gateways.NAME]``, refused unless it is an http gateway for Mailgun."""
    config = workspace.config.gateways.get(name)
    if config is None:
        known = ", ".join(sorted(workspace.config.gateways)) or "none"
        raise ConfigError(
            f"no gateway '{name}' in pressdist.toml (configured: {known})",
            path=workspace.config.path,
            hint='events are read from a [gateways.NAME] with type = "http", api = "mailgun"',
        )
    if config.type != "http" or config.table.get("api") != "mailgun":
        raise ConfigError(
            f"gateway '{name}' is not Mailgun's: only a gateway with type = \"http\" and "
            'api = "mailgun" has events to read',
            path=config.path,
            line=config.line(),
            hint="name the Mailgun gateway, or read the office mailbox with `pressdist inbox`",
        )
    return http.settings(config, root=workspace.root)


def _begin(cursor: str | None, now: float) -> int:
    """Where a poll begins, in epoch seconds: the cursor, within what Mailgun keeps."""
    earliest = int(now - KEPT_SECONDS)
    if cursor is None or not cursor.isascii() or not cursor.isdigit():
        return earliest  # never polled, or a cursor of another shape: read all that is kept
    # A cursor past the late window (a clock set back) would skip what has not arrived.
    return max(earliest, min(int(cursor), int(now - LATE_WINDOW)))


def _client(settings: http.HttpSettings) -> httpx.Client:
    ca_file = settings.ca_file
    return httpx.Client(
        headers={"User-Agent": f"pressdist/{__version__}", "Accept": "application/json"},
        auth=httpx.BasicAuth("api", settings.token or ""),
        verify=ssl.create_default_context(cafile=str(ca_file) if ca_file else None),
        timeout=httpx.Timeout(settings.timeout),
        # A redirect would carry the key somewhere unchecked (as in the gateway).
        follow_redirects=False,
    )


def _page(
    client: httpx.Client,
    url: str,
    query: dict[str, str] | None,
    settings: http.HttpSettings,
    where: str,
) -> dict[str, Any]:
    """One page of events, ``{"items": [...], "paging": {...}}``; GatewayError otherwise."""
    try:
        response = client.get(url, params=query)
    except httpx.ConnectError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in str(exc):
            raise GatewayError(
                f"{where}: TLS certificate not trusted: {redact(str(exc))}",
                hint="for a server with a private CA, set ca_file to that CA's certificate",
            ) from None
        raise GatewayError(
            f"{where}: cannot connect: {redact(str(exc)) or type(exc).__name__}",
            hint="check 'url' and that the service is reachable; nothing was read",
        ) from None
    except httpx.TimeoutException:
        raise GatewayError(
            f"{where}: no answer within {settings.timeout:g} s",
            hint="run again later, or raise 'timeout'; nothing was read",
        ) from None
    except httpx.HTTPError as exc:
        raise GatewayError(f"{where}: {redact(str(exc)) or type(exc).__name__}") from None
    _check_status(response, settings, where)
    try:
        data = response.json()
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("items"), list)
        or not isinstance(data.get("paging", {}), dict)
    ):
        kind = response.headers.get("Content-Type", "no Content-Type")
        raise GatewayError(
            f"{where}: the answer is not Mailgun's list of events ({kind})",
            hint="check 'url': it must be Mailgun's API, e.g. https://api.eu.mailgun.net",
        )
    return data


def _check_status(response: httpx.Response, settings: http.HttpSettings, where: str) -> None:
    status = response.status_code
    if status == 200:
        return
    words = redact(f"{status} {http.summary(response.content)}".strip())
    if status in (401, 403):
        raise GatewayError(
            f"{where}: Mailgun refused the key ({status})",
            hint="check the variable that 'token_env' names (a key allowed to read events)",
        )
    if 300 <= status < 400:
        raise GatewayError(
            f"{where}: the service redirects ({status})",
            hint="set 'url' to the address the service really answers at (redirects are "
            "not followed, so the key never travels somewhere unchecked)",
        )
    if status == 404:
        raise GatewayError(
            f"{where}: Mailgun does not know the domain {settings.domain!r}",
            hint=f"check 'domain'; domains in the EU region need url = "
            f'"https://api.eu.mailgun.net" (default {http.MAILGUN_US})',
        )
    if status == 429 or status >= 500:
        raise GatewayError(
            f"{where}: Mailgun cannot answer now ({words})",
            hint="run `pressdist inbox --gateway` again later; nothing was read, "
            "and the next run begins where the last good one ended",
        )
    raise GatewayError(f"{where}: Mailgun refused the request ({words})")


def _next_page(page: dict[str, Any], settings: http.HttpSettings, where: str) -> str | None:
    """The page after ``page``, as Mailgun gives it; only ever at the configured service."""
    paging = page.get("paging") or {}
    following = paging.get("next")
    if not isinstance(following, str) or not following:
        return None
    ours, theirs = urlsplit(settings.url), urlsplit(following)
    if (theirs.scheme, theirs.hostname, theirs.port) != (ours.scheme, ours.hostname, ours.port):
        raise GatewayError(
            f"{where}: the next page of events is at another address ({theirs.hostname})",
            hint="the key is sent only to 'url'; check that 'url' is Mailgun's API",
        )
    return following


def _event(item: object) -> tuple[str, float, Finding] | None:
    """An item of a page as (key, timestamp, finding); None when it cannot be read."""
    if not isinstance(item, dict):
        return None
    event_id, stamp = item.get("id"), item.get("timestamp")
    if not isinstance(event_id, str) or not event_id.strip():
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        return None
    finding = finding_of(item)
    if finding is None:
        return None
    return KEY_PREFIX + event_id.strip(), float(stamp), finding


# One event --------------------------------------------------------------------------


def finding_of(event: object) -> Finding | None:
    """What one Mailgun event says, as a Finding; None for one that cannot be read.

    Mailgun vouches for the event (it came with our API key, or with a webhook
    signature that was checked), so the Finding is ``verified``. An event
    without the Message-ID of the mail cannot be tied to a delivery: None.
    """
    if not isinstance(event, dict):
        return None
    kind = _kind(event)
    headers = _table(_table(event.get("message")).get("headers"))
    message_id = _text(headers.get("message-id")).strip().strip("<>").strip()
    if kind is None or not message_id:
        return None
    status = _table(event.get("delivery-status"))
    words = [_text(status.get(k)).strip() for k in ("message", "description")]
    return Finding(
        kind,
        message_id=message_id,
        recipient=_text(event.get("recipient")).strip(),
        status=_status_code(status),
        diagnostic=" — ".join(dict.fromkeys(w for w in words if w)),
        subject=_text(headers.get("subject")),
        sender=_text(headers.get("from")),
        verified=True,
    )


def _kind(event: dict[str, Any]) -> Kind | None:
    name = _text(event.get("event"))
    if name == "failed":
        severity = _text(event.get("severity"))
        if severity == "permanent":
            return _DROPPED.get(_text(event.get("reason")), Kind.HARD_BOUNCE)
        if severity == "temporary":
            return Kind.SOFT_BOUNCE
        return None
    if name == "complained":
        return Kind.COMPLAINT
    if name == "unsubscribed":
        return Kind.UNSUBSCRIBE
    return None


def _status_code(status: dict[str, Any]) -> str:
    """The enhanced status code (5.1.1) when Mailgun gives one, else the SMTP reply code."""
    enhanced = _text(status.get("enhanced-code")).strip()
    if _ENHANCED_CODE.fullmatch(enhanced):
        return enhanced
    code = status.get("code")
    if isinstance(code, str) and code.isascii() and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 999:
        return str(code)
    return ""


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# Webhooks ---------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TOKEN = re.compile(r"[!-~]{1,256}")  # Mailgun's are 50 characters; printable ASCII at most
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


class RefusedWebhook(ValueError):
    """A request to a webhook that is not a fresh event signed with the key; str() says why."""


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook request whose signature and age were checked."""

    token: str  # Mailgun's one-time token: the replay record's key
    timestamp: int  # when Mailgun signed it, epoch seconds
    event: dict[str, Any]  # the ``event-data``, shaped like an item of the Events API


def signature(key: bytes, timestamp: str, token: str) -> str:
    """Mailgun's webhook signature: hex HMAC-SHA256 under the signing key of timestamp+token."""
    return hmac.new(key, (timestamp + token).encode("ascii"), hashlib.sha256).hexdigest()


def webhook_event(body: bytes, key: bytes, *, now: float | None = None) -> WebhookEvent:
    """The event of a webhook request's JSON body, once its signature and age are checked.

    Raises RefusedWebhook (with a reason that holds no secret) for a body that
    is not JSON, carries no signature, is signed with another key, or was
    signed too long ago or in the future. Replays are the caller's to refuse:
    it keeps the tokens (``WebhookEvent.token``).
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise RefusedWebhook("the body is not JSON") from None
    signed = doc.get("signature") if isinstance(doc, dict) else None
    if not isinstance(signed, dict):
        raise RefusedWebhook("unsigned: the body has no signature")
    timestamp, token, given = (signed.get(k) for k in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not (
        isinstance(timestamp, str)
        and _TIMESTAMP.fullmatch(timestamp)
        and isinstance(token, str)
        and _TOKEN.fullmatch(token)
        and isinstance(given, str)
        and _SIGNATURE.fullmatch(given)
    ):
        raise RefusedWebhook("unsigned: the signature lacks its timestamp, token or value")
    expected = signature(key, timestamp, token).encode("ascii")
    if not hmac.compare_digest(expected, given.lower().encode("ascii")):
        raise RefusedWebhook("the signature does not match the webhook signing key")
    age = (time.time() if now is None else now) - int(timestamp)
    if age > WEBHOOK_MAX_AGE:
        raise RefusedWebhook(f"signed {int(age)} s ago, longer than {WEBHOOK_MAX_AGE} s")
    if age < -WEBHOOK_MAX_AHEAD:
        raise RefusedWebhook(f"signed {int(-age)} s in the future")
    event = doc.get("event-data")
    if not isinstance(event, dict):
        raise RefusedWebhook("signed, but the body has no event-data")
    return WebhookEvent(token, int(timestamp), event)
