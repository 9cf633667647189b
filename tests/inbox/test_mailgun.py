"""Mailgun's events against a real HTTP server on 127.0.0.1 that checks every request.

The server speaks the Events API as its reference describes it: ``GET
/v3/<domain>/events`` with Basic authentication (user ``api``), the query
``begin``, ``ascending=yes``, ``limit`` (at most 300) and ``event``; a page
``{"items": [...], "paging": {"next": ..., ...}}`` whose ``next`` URL it made
up itself and expects back exactly as given; an empty page at the end. It also
answers as a failing service would: a refused key, a 503 that echoes the
key, a page that is not JSON, a domain it does not know.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

import pressdist
from pressdist.errors import ConfigError, GatewayError
from pressdist.gateways.memory import MemoryGateway
from pressdist.inbox import mailgun, reading
from pressdist.inbox.act import Verdict
from pressdist.inbox.findings import Finding, Kind
from pressdist.sending import journal as jr
from pressdist.sending.gateway import Envelope
from pressdist.sending.plan import journal_path
from pressdist.workspace import Workspace

KEY = "key-Geheimnis-0123456789abcdef"
DOMAIN = "mg.example.org"
NOW = 1_795_000_000.0  # a fixed "now": the server's events lie in the days before it
QUERY = {"begin", "ascending", "limit", "event"}


def event(n: int, kind: str = "failed", **fields: object) -> dict:
    """An event as Mailgun's Events API shows one: id, timestamp, recipient, the mail's headers."""
    base: dict = {
        "id": f"ev-{n}",
        "timestamp": NOW - 86_400 + n * 60 + 0.25,
        "event": kind,
        "recipient": f"reader{n}@example.com",
        "message": {
            "headers": {
                "message-id": f"a1b2c3d4e5f6.en.{n:024x}@example.org",
                "subject": f"Pressemitteilung {n}",
                "from": "Landeshauptstadt Mainz <pressestelle@example.org>",
            }
        },
    }
    base.update(fields)
    return base


HARD = event(
    1,
    severity="permanent",
    reason="bounce",
    **{"delivery-status": {"code": 550, "enhanced-code": "5.1.1", "message": "No such user"}},
)
SOFT = event(
    2,
    severity="temporary",
    reason="generic",
    **{"delivery-status": {"code": 452, "message": "Mailbox full", "description": "Try later"}},
)
COMPLAINT = event(3, "complained")
UNSUBSCRIBED = event(4, "unsubscribed")
DROPPED = event(5, severity="permanent", reason="suppress-complaint")
NO_MESSAGE_ID = {**event(6, "complained"), "message": {"headers": {"subject": "?"}}}


class EventsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EventsHandler)
        self.pages: list[list[object]] = []  # what the pages hold, in order; an empty page follows
        self.answer: tuple[int, str, bytes] | None = None  # a fixed answer instead of pages
        self.next_host = "127.0.0.1"
        self.endless = False  # every page has an event and a next page
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.begins: list[str] = []
        self.issued: dict[str, int] = {}  # next-page target -> index of the page it leads to
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # refused TLS handshakes are what one test provokes

    @property
    def base(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


class EventsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EventsServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _problem(self, text: str) -> None:
        with self.server.lock:
            self.server.problems.append(text)
        self._send(400, json.dumps({"message": text}).encode())

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.requests.append(self.path)
        expected = "Basic " + base64.b64encode(f"api:{KEY}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, b'{"message": "Invalid private key"}')
        if server.answer is not None:
            status, ctype, body = server.answer
            if b"{auth}" in body:  # a service careless enough to echo the credentials
                body = body.replace(b"{auth}", self.headers["Authorization"].encode())
            return self._send(status, body, ctype)
        parts = urlsplit(self.path)
        if parts.path == f"/v3/{DOMAIN}/events":
            return self._first_page(parse_qs(parts.query, keep_blank_values=True))
        if parts.path.startswith("/v3/") and parts.path.endswith("/events"):
            return self._send(404, b'{"message": "Domain not found"}')
        with server.lock:
            index = server.issued.pop(self.path, None)
        if index is None:
            return self._problem(f"a page URL that was never handed out: {self.path}")
        self._page(index)

    def _first_page(self, query: dict[str, list[str]]) -> None:
        if set(query) != QUERY or any(len(v) != 1 for v in query.values()):
            return self._problem(f"query parameters {sorted(query)}")
        one = {k: v[0] for k, v in query.items()}
        if one["ascending"] != "yes":
            return self._problem(f"ascending={one['ascending']}")
        if not one["limit"].isdigit() or not 1 <= int(one["limit"]) <= 300:
            return self._problem(f"limit={one['limit']}")
        if not one["begin"].isdigit():
            return self._problem(f"begin={one['begin']} is not epoch seconds")
        if one["event"] != "failed OR complained OR unsubscribed":
            return self._problem(f"event={one['event']}")
        with self.server.lock:
            self.server.begins.append(one["begin"])
        self._page(0)

    def _page(self, index: int) -> None:
        server = self.server
        if server.endless:
            items: list[object] = [event(1000 + index, "complained")]
        else:
            items = server.pages[index] if index < len(server.pages) else []
        # Like Mailgun's: an opaque path segment, and a query of its own to hand back as is.
        target = f"/v3/{DOMAIN}/events/{secrets.token_urlsafe(12)}?page={index + 1}&pretty=no"
        with server.lock:
            server.issued[target] = index + 1
        port = server.server_address[1]
        scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
        following = f"{scheme}://{server.next_host}:{port}{target}"
        paging = {"next": following, "previous": following, "first": following, "last": following}
        self._send(200, json.dumps({"items": items, "paging": paging}).encode())


@pytest.fixture
def api() -> Iterator[EventsServer]:
    server = EventsServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PD_MAILGUN_KEY", KEY)
    return KEY


def office(root: Path, url: str, *, domain: str = DOMAIN, **extra: str) -> Workspace:
    """The example workspace with a Mailgun gateway ``mg`` at ``url`` (and a generic one)."""
    config, original = root / "pressdist.toml", root / "pressdist.toml.orig"
    if not original.exists():
        original.write_bytes(config.read_bytes())
    lines = "".join(f'{k} = "{v}"\n' for k, v in extra.items())
    config.write_text(
        original.read_text("utf-8")
        + f'\n[gateways.mg]\ntype = "http"\napi = "mailgun"\nurl = "{url}"\n'
        f'domain = "{domain}"\ntoken_env = "PD_MAILGUN_KEY"\n{lines}'
        '\n[gateways.relay]\ntype = "http"\nurl = "https://relay.example.org/send"\n',
        "utf-8",
    )
    return Workspace.open(root)


def test_events_are_read_over_every_page_in_the_documented_shape(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    later = {**SOFT, "timestamp": HARD["timestamp"] - 30}  # out of order on its page
    api.pages = [[HARD, later], [COMPLAINT, "not an event", NO_MESSAGE_ID], [UNSUBSCRIBED, HARD]]
    batch = mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)

    assert api.problems == []  # every page asked for was one handed out, exactly as given
    assert len(api.requests) == 4  # three pages of events and the empty one after them
    assert [key for key, _ in batch.items] == [
        "mailgun:ev-2",
        "mailgun:ev-1",
        "mailgun:ev-3",
        "mailgun:ev-4",
    ]
    assert batch.unreadable == 2
    soft, hard, complaint, unsubscribe = (finding for _, finding in batch.items)
    assert hard == Finding(
        Kind.HARD_BOUNCE,
        message_id=HARD["message"]["headers"]["message-id"],
        recipient="reader1@example.com",
        status="5.1.1",
        diagnostic="No such user",
        subject="Pressemitteilung 1",
        sender="Landeshauptstadt Mainz <pressestelle@example.org>",
        verified=True,
    )
    assert (soft.kind, soft.status, soft.diagnostic) == (
        Kind.SOFT_BOUNCE,
        "452",
        "Mailbox full — Try later",
    )
    assert complaint.kind is Kind.COMPLAINT and complaint.verified
    assert unsubscribe.kind is Kind.UNSUBSCRIBE and unsubscribe.recipient == "reader4@example.com"


def test_the_cursor_lets_the_next_poll_reread_the_late_window(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    ws = office(example_workspace, api.base)
    api.pages = [[HARD]]
    first = mailgun.fetch_events(ws, "mg", None, now=NOW)
    second = mailgun.fetch_events(ws, "mg", first.cursor, now=NOW + 3600)
    too_soon = mailgun.fetch_events(ws, "mg", second.cursor, now=NOW + 3660)

    # The first poll reaches back as far as Mailgun keeps events; each later one
    # begins half an hour before the last one ended, and never moves backwards.
    assert api.begins == [
        str(int(NOW - mailgun.KEPT_SECONDS)),
        str(int(NOW - mailgun.LATE_WINDOW)),
        str(int(NOW + 3600 - mailgun.LATE_WINDOW)),
    ]
    assert first.cursor == str(int(NOW - mailgun.LATE_WINDOW))
    assert too_soon.cursor == str(int(NOW + 3660 - mailgun.LATE_WINDOW))
    assert api.problems == []


@pytest.mark.parametrize(
    ("cursor", "begin"),
    [
        ("garbage", NOW - mailgun.KEPT_SECONDS),  # not ours: read all that is kept
        ("1", NOW - mailgun.KEPT_SECONDS),  # older than Mailgun keeps anything
        (str(int(NOW + 86_400)), NOW - mailgun.LATE_WINDOW),  # ahead of the clock
    ],
)
def test_a_cursor_is_kept_within_what_mailgun_holds(
    example_workspace: Path, api: EventsServer, key: str, cursor: str, begin: float
) -> None:
    mailgun.fetch_events(office(example_workspace, api.base), "mg", cursor, now=NOW)
    assert api.begins == [str(int(begin))]


def test_a_poll_that_stops_at_the_page_limit_resumes_where_it_stopped(
    example_workspace: Path, api: EventsServer, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailgun, "MAX_PAGES", 3)
    api.endless = True
    batch = mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)
    assert len(api.requests) == 3 and len(batch.items) == 3
    last = event(1002)["timestamp"]
    assert batch.cursor == str(int(last))


def test_a_refused_key_is_one_line_without_the_key(
    example_workspace: Path, api: EventsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_MAILGUN_KEY", "key-wrong-0000")
    with pytest.raises(GatewayError, match=r"Mailgun refused the key \(401\)") as err:
        mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)
    assert "token_env" in (err.value.hint or "")
    assert "key-wrong" not in str(err.value) + (err.value.hint or "")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ((503, "application/json", b'{"message": "down for {auth}"}'), "cannot answer now (503"),
        ((429, "application/json", b'{"message": "slow down"}'), "cannot answer now (429"),
        ((200, "text/html", b"<html>login</html>"), "not Mailgun's list of events (text/html)"),
        ((200, "application/json", b'{"items": "none"}'), "not Mailgun's list of events"),
        ((400, "application/json", b'{"message": "begin is too old"}'), "begin is too old"),
        ((302, "text/plain", b""), "redirects"),
    ],
)
def test_a_failing_service_is_one_line_and_never_shows_the_key(
    example_workspace: Path, api: EventsServer, key: str, answer: tuple, words: str
) -> None:
    api.answer = answer
    with pytest.raises(GatewayError) as err:
        mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)
    text = str(err.value) + (err.value.hint or "")
    assert words in text and "\n" not in str(err.value)
    encoded = base64.b64encode(f"api:{KEY}".encode()).decode()
    assert KEY not in text and encoded not in text


def test_an_unknown_domain_hints_at_the_eu_region(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    ws = office(example_workspace, api.base, domain="eu.example.org")
    with pytest.raises(GatewayError, match="does not know the domain") as err:
        mailgun.fetch_events(ws, "mg", None, now=NOW)
    assert "api.eu.mailgun.net" in (err.value.hint or "")


def test_an_unreachable_service_is_a_gateway_error(example_workspace: Path, key: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    ws = office(example_workspace, f"http://127.0.0.1:{port}")
    with pytest.raises(GatewayError, match="cannot connect"):
        mailgun.fetch_events(ws, "mg", None, now=NOW)


def test_a_next_page_at_another_host_is_not_followed(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    api.pages = [[HARD]]
    api.next_host = "localhost"  # the same server, but not the address the key is meant for
    with pytest.raises(GatewayError, match="another address"):
        mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)
    assert len(api.requests) == 1


def test_tls_is_verified_and_a_private_ca_is_trusted_from_ca_file(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    api.socket = context.wrap_socket(api.socket, server_side=True)
    ca.cert_pem.write_to_path(str(example_workspace / "ca.pem"))
    api.pages = [[COMPLAINT]]

    with pytest.raises(GatewayError, match="certificate not trusted"):
        mailgun.fetch_events(office(example_workspace, api.base), "mg", None, now=NOW)
    ws = office(example_workspace, api.base, ca_file="ca.pem")
    batch = mailgun.fetch_events(ws, "mg", None, now=NOW)
    assert [k for k, _ in batch.items] == ["mailgun:ev-3"] and api.problems == []


# Which gateway ---------------------------------------------------------------------


def test_an_unknown_gateway_names_the_configured_ones(example_workspace: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=r"no gateway 'mailgun'.*configured: mg, outbox, relay"):
        mailgun.fetch_events(office(example_workspace, "https://api.mailgun.net"), "mailgun", None)


@pytest.mark.parametrize("name", ["outbox", "relay"])
def test_a_gateway_that_is_not_mailgun_is_refused_at_its_line(
    example_workspace: Path, key: str, name: str
) -> None:
    ws = office(example_workspace, "https://api.mailgun.net")
    with pytest.raises(ConfigError, match="not Mailgun's") as err:
        mailgun.fetch_events(ws, name, None)
    lines = (ws.root / "pressdist.toml").read_text("utf-8").splitlines()
    assert err.value.line is not None and lines[err.value.line - 1] == f"[gateways.{name}]"


def test_a_missing_key_variable_is_a_config_error_naming_it(
    example_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PD_MAILGUN_KEY", raising=False)
    with pytest.raises(ConfigError, match="PD_MAILGUN_KEY"):
        mailgun.fetch_events(office(example_workspace, "https://api.mailgun.net"), "mg", None)


# One event -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "kind", "status"),
    [
        ({"severity": "permanent", "reason": "bounce"}, Kind.HARD_BOUNCE, ""),
        ({"severity": "permanent", "reason": "suppress-bounce"}, Kind.HARD_BOUNCE, ""),
        ({"severity": "permanent", "reason": "suppress-unsubscribe"}, Kind.UNSUBSCRIBE, ""),
        ({"severity": "permanent", "reason": "suppress-complaint"}, Kind.COMPLAINT, ""),
        ({"severity": "temporary", "reason": "generic"}, Kind.SOFT_BOUNCE, ""),
        ({"severity": "temporary", "delivery-status": {"code": "421"}}, Kind.SOFT_BOUNCE, "421"),
        (
            {"severity": "permanent", "delivery-status": {"code": 550, "enhanced-code": "x"}},
            Kind.HARD_BOUNCE,
            "550",
        ),
    ],
)
def test_a_failure_is_read_by_its_severity_and_reason(
    fields: dict, kind: Kind, status: str
) -> None:
    found = mailgun.finding_of(event(7, **fields))
    assert found is not None and (found.kind, found.status) == (kind, status)


@pytest.mark.parametrize(
    "unreadable",
    [
        event(8, "delivered"),
        event(8, "opened"),
        event(8, severity="unknown"),
        event(8),  # failed without a severity
        {**event(8, "complained"), "message": "headers"},
        {**event(8, "complained"), "message": {"headers": {"message-id": "<>"}}},
        ["failed"],
        None,
    ],
)
def test_an_event_it_cannot_read_is_none(unreadable: object) -> None:
    assert mailgun.finding_of(unreadable) is None


def test_the_message_id_loses_its_angle_brackets() -> None:
    raw = {"message": {"headers": {"message-id": " <abc.de.f00@example.org> "}}}
    found = mailgun.finding_of({**event(9, "complained"), **raw})
    assert found is not None and found.message_id == "abc.de.f00@example.org"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["event", "severity", "reason", "headers", "message-id", "code", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_VALUES = st.sampled_from(
    ["failed", "complained", "unsubscribed", "permanent", "temporary", "suppress-complaint"]
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event": _VALUES | _JSON,
            "severity": _VALUES | _JSON,
            "reason": _VALUES | _JSON,
            "recipient": _JSON,
            "message": st.fixed_dictionaries(
                {}, optional={"headers": st.dictionaries(st.sampled_from(["message-id"]), _JSON)}
            )
            | _JSON,
            "delivery-status": st.dictionaries(
                st.sampled_from(["code", "enhanced-code", "message", "description"]), _JSON
            )
            | _JSON,
        },
    )
    | _JSON
)
def test_no_event_however_malformed_makes_finding_of_raise(value: object) -> None:
    found = mailgun.finding_of(value)
    if found is not None:
        assert found.verified and found.message_id and "<" not in found.message_id
        assert found.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT, Kind.UNSUBSCRIBE)


# Webhook signatures ----------------------------------------------------------------


HOOK_KEY = b"whsec-Geheimnis-0123456789"


def signed_body(key: bytes, *, timestamp: int, token: str = "t" * 50, data: object = None) -> bytes:
    stamp = str(timestamp)
    return json.dumps(
        {
            "signature": {
                "timestamp": stamp,
                "token": token,
                "signature": mailgun.signature(key, stamp, token),
            },
            "event-data": data if data is not None else COMPLAINT,
        }
    ).encode()


@given(
    signer=st.binary(min_size=1, max_size=40),
    checker=st.binary(min_size=1, max_size=40),
    token=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
)
def test_a_signature_verifies_exactly_when_it_was_made_with_the_key(
    signer: bytes, checker: bytes, token: str
) -> None:
    body = signed_body(signer, timestamp=int(NOW), token=token)
    try:
        found = mailgun.webhook_event(body, checker, now=NOW)
    except mailgun.RefusedWebhook as refused:
        assert signer != checker and "does not match" in str(refused)
    else:
        assert signer == checker and found.token == token and found.event == COMPLAINT


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (json.dumps({"event-data": COMPLAINT}).encode(), "unsigned"),
        (json.dumps({"signature": {"token": "t", "timestamp": "1"}}).encode(), "unsigned"),
        (signed_body(HOOK_KEY, timestamp=int(NOW) - 3600), "s ago"),
        (signed_body(HOOK_KEY, timestamp=int(NOW) + 3600), "in the future"),
        (signed_body(b"another key", timestamp=int(NOW)), "does not match"),
        (signed_body(HOOK_KEY, timestamp=int(NOW), data=["x"]), "no event-data"),
    ],
)
def test_a_webhook_body_is_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(mailgun.RefusedWebhook, match=why) as err:
        mailgun.webhook_event(body, HOOK_KEY, now=NOW)
    assert HOOK_KEY.decode() not in str(err.value)


def test_a_webhook_signed_moments_ago_or_with_a_little_clock_skew_is_taken() -> None:
    for stamp in (int(NOW) - 60, int(NOW) + 30):
        signed = mailgun.webhook_event(signed_body(HOOK_KEY, timestamp=stamp), HOOK_KEY, now=NOW)
        assert signed.timestamp == stamp and signed.event == COMPLAINT


# A whole poll ----------------------------------------------------------------------


def test_a_poll_acts_on_each_event_once_and_resumes_from_its_cursor(
    example_workspace: Path, api: EventsServer, key: str
) -> None:
    ws = office(example_workspace, api.base)
    gateway = MemoryGateway(name="memory")
    pressdist.send(pressdist.plan_send(ws, "2019-11-04-isa-foshan", ["presse"], gateway=gateway))
    bounced, complained = gateway.delivered[:2]

    def about(envelope: Envelope, n: int, kind: str, **fields: object) -> dict:
        found = event(n, kind, recipient=envelope.recipient, **fields)
        found["message"]["headers"]["message-id"] = envelope.message_id
        found["timestamp"] = time.time() - 3600 + n
        return found

    api.pages = [
        [about(bounced, 1, "failed", severity="permanent")],
        [about(complained, 2, "complained")],
    ]
    first = reading.read_events(ws, "mg")
    again = reading.read_events(ws, "mg")

    assert [a.verdict for a in first.actions] == [Verdict.BOUNCED, Verdict.COMPLAINT]
    assert again.actions == [] and again.known == 2
    with jr.Journal(journal_path(ws)) as journal:
        assert journal.by_message_id(bounced.message_id).state == jr.BOUNCED
        assert journal.by_message_id(complained.message_id).state == jr.COMPLAINED
        cursor = journal.cursor("mailgun:mg")
    assert api.begins[1] == cursor and int(cursor) <= time.time() - mailgun.LATE_WINDOW
    assert api.problems == []
