"""The http gateway against a real HTTP server on 127.0.0.1 that checks every request.

The server validates the documented request shape of both dialects (method,
path, authentication, headers, body fields, multipart parts) and answers as
each test needs: 200, 400, 429 with Retry-After, 503 with an HTTP date, a
reply slower than the client's timeout, and a connection reset.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.parser
import email.policy
import email.utils
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from conftest import send_all
from hypothesis import given
from hypothesis import strategies as st

from pressdist.errors import ConfigError, GatewayError
from pressdist.gateways.http import HttpGateway, retry_after, webhook_signing_key
from pressdist.sending.gateway import Envelope, Outcome, Scope, build
from pressdist.workspace import GatewayConfig

TOKEN = "tok-Geheimnis-123"
DOMAIN = "mg.example.org"
SENDER = "presse@example.org"


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, dialect: str) -> None:
        super().__init__(("127.0.0.1", 0), ApiHandler)
        self.dialect = dialect
        self.problems: list[str] = []
        self.received: dict[str, bytes] = {}  # recipient -> message as received
        self.peers: set[int] = set()
        self.lock = threading.Lock()
        self.slow_seconds = 2.0

    def handle_error(self, request: object, client_address: object) -> None:
        # Resets and refused TLS handshakes are what some tests provoke; the
        # assertions look at what arrived, not at the server's stderr.
        pass

    @property
    def base(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services do
    server: ApiServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, payload: dict | None = None, headers: dict | None = None):
        body = b"" if status == 204 else json.dumps(payload or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        if self.server.dialect == "mailgun":
            return given == "Basic " + base64.b64encode(f"api:{TOKEN}".encode()).decode()
        return given == f"Bearer {TOKEN}"

    def _problem(self, text: str) -> None:
        with self.server.lock:
            self.server.problems.append(text)
        self._answer(422, {"message": text})

    def do_OPTIONS(self) -> None:
        if self.path == "/old":
            return self._answer(301, {}, {"Location": "/send"})
        if self.server.dialect != "generic" or self.path != "/send":
            return self._problem(f"unexpected OPTIONS {self.path}")
        self._answer(204 if self._authorised() else 401)

    def do_GET(self) -> None:
        if self.server.dialect != "mailgun" or not self.path.startswith("/v4/domains/"):
            return self._problem(f"unexpected GET {self.path}")
        if not self._authorised():
            return self._answer(401, {"message": "Invalid private key"})
        if self.path != f"/v4/domains/{DOMAIN}":
            return self._answer(404, {"message": "Domain not found"})
        self._answer(200, {"domain": {"name": DOMAIN, "state": "active"}})

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.peers.add(self.client_address[1])
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self._authorised():
            return self._answer(401, {"message": "Forbidden"})
        parsed = self._generic(body) if self.server.dialect == "generic" else self._mailgun(body)
        if parsed is None:
            return
        recipient, message = parsed
        local = recipient.split("@")[0]
        if local == "bad":
            return self._answer(400, {"message": "'to' parameter is not a valid address"})
        if local == "huge":
            return self._answer(413, {"message": "request entity too large"})
        if local == "limit":
            return self._answer(429, {"message": "slow down"}, {"Retry-After": "7"})
        if local == "down":
            later = email.utils.format_datetime(
                dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120), usegmt=True
            )
            return self._answer(503, {"message": "maintenance"}, {"Retry-After": later})
        if local == "slow":
            time.sleep(self.server.slow_seconds)
            return self._answer(200, {"id": "late", "message": "Queued"})
        if local == "reset":
            # SO_LINGER 0: close() sends a TCP reset instead of a clean FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        with self.server.lock:
            self.server.received[recipient] = message
        self._answer(
            200, {"id": f"<{len(self.server.received)}@{DOMAIN}>", "message": "Queued. Thank you."}
        )

    def _generic(self, body: bytes) -> tuple[str, bytes] | None:
        if self.path != "/send":
            return self._problem(f"POST to {self.path}, expected /send")
        if self.headers.get("Content-Type") != "application/json":
            return self._problem(f"Content-Type {self.headers.get('Content-Type')}")
        try:
            doc = json.loads(body)
        except ValueError:
            return self._problem("body is not JSON")
        if set(doc) != {"message_id", "from", "to", "mime"}:
            return self._problem(f"body fields {sorted(doc)}")
        if self.headers.get("Idempotency-Key") != doc["message_id"]:
            return self._problem("Idempotency-Key differs from message_id")
        if doc["from"] != SENDER:
            return self._problem(f"from {doc['from']}")
        return doc["to"], base64.b64decode(doc["mime"], validate=True)

    def _mailgun(self, body: bytes) -> tuple[str, bytes] | None:
        if self.path != f"/v3/{DOMAIN}/messages.mime":
            return self._problem(f"POST to {self.path}")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return self._problem(f"Content-Type {ctype}")
        # Split by hand: the parts must be byte-exact, which a MIME parser
        # (re-serialising a message/rfc822 part) would not prove.
        boundary = ctype.split("boundary=", 1)[1].strip('"').encode()
        chunks = body.split(b"--" + boundary)
        if chunks[0] != b"" or chunks[-1] != b"--\r\n":
            return self._problem("multipart body not framed by its boundary")
        parts = {}
        for chunk in chunks[1:-1]:
            head, _, content = chunk[2:].partition(b"\r\n\r\n")
            headers = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(head)
            disposition = headers.get("Content-Disposition", "")
            if not disposition.startswith("form-data"):
                return self._problem(f"part disposition {disposition}")
            name = headers.get_param("name", header="content-disposition")
            filename = headers.get_param("filename", header="content-disposition")
            parts[name] = (filename, content.removesuffix(b"\r\n"))
        if set(parts) != {"to", "message"}:
            return self._problem(f"form fields {sorted(parts)}")
        if parts["message"][0] is None:
            return self._problem("'message' must be a file part")
        if parts["to"][0] is not None:
            return self._problem("'to' must be a plain field")
        return parts["to"][1].decode("utf-8"), parts["message"][1]


@pytest.fixture(params=["generic", "mailgun"])
def api(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    server = ApiServer(request.param)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OFFICE_API_TOKEN", TOKEN)
    return TOKEN


def _gateway(root: Path, server: ApiServer, **settings) -> HttpGateway:
    table: dict = {"type": "http", "api": server.dialect, "token_env": "OFFICE_API_TOKEN"}
    if server.dialect == "mailgun":
        table.update(url=server.base, domain=DOMAIN)
    else:
        table.update(url=server.base + "/send")
    table.update(settings)
    gateway = build(GatewayConfig.from_table("api", table, root / "pressdist.toml"), root=root)
    assert isinstance(gateway, HttpGateway)
    return gateway


def _envelope(n: int, recipient: str = "") -> Envelope:
    recipient = recipient or f"reader{n}@example.org"
    data = (
        f"From: Presse <{SENDER}>\r\nTo: {recipient}\r\nSubject: Mitteilung {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Grüße aus Mainz – 美因茨 {n}\r\n"
    ).encode()
    return Envelope(f"m{n}@example.org", SENDER, recipient, data)


def test_http_delivers_each_message_in_the_documented_shape(
    tmp_path: Path, api: ApiServer, token: str
) -> None:
    envelopes = [_envelope(n) for n in range(20)] + [_envelope(99, "李雷@例子.中国")]
    results = asyncio.run(send_all(_gateway(tmp_path, api, concurrency=2), envelopes))

    assert api.problems == []
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 21
    assert results[0].detail.startswith("200 Queued. Thank you.")
    assert api.received == {e.recipient: e.data for e in envelopes}
    # Keep-alive: 21 requests over at most `concurrency` connections.
    assert 1 <= len(api.peers) <= 2


def test_http_reads_status_codes_as_outcomes(tmp_path: Path, api: ApiServer, token: str) -> None:
    envelopes = [
        _envelope(1, "bad@example.org"),
        _envelope(2, "limit@example.org"),
        _envelope(3, "down@example.org"),
        _envelope(4, "fine@example.org"),
    ]
    envelopes.append(_envelope(5, "huge@example.org"))
    bad, limit, down, fine, huge = asyncio.run(send_all(_gateway(tmp_path, api), envelopes))

    assert api.problems == []
    assert bad.outcome is Outcome.PERMANENT
    assert "not a valid address" in bad.detail
    # A status code never says whom it is about: the engine compares them.
    assert (bad.scope, bad.code) == (Scope.UNCLEAR, "HTTP 400")
    assert (huge.outcome, huge.scope, huge.code) == (Outcome.PERMANENT, Scope.UNCLEAR, "HTTP 413")
    assert limit.outcome is Outcome.TRANSIENT
    assert limit.retry_after == 7
    assert down.outcome is Outcome.TRANSIENT
    assert down.retry_after is not None and 100 <= down.retry_after <= 121
    assert fine.outcome is Outcome.ACCEPTED


def test_http_timeout_is_transient(tmp_path: Path, api: ApiServer, token: str) -> None:
    gateway = HttpGateway(replace(_gateway(tmp_path, api).settings, timeout=0.3))
    (result,) = asyncio.run(send_all(gateway, [_envelope(1, "slow@example.org")]))
    assert result.outcome is Outcome.TRANSIENT
    assert "no answer within 0.3 s" in result.detail


def test_http_connection_reset_is_transient_and_the_next_message_goes_through(
    tmp_path: Path, api: ApiServer, token: str
) -> None:
    gateway = _gateway(tmp_path, api, concurrency=1)
    reset, fine = asyncio.run(
        send_all(gateway, [_envelope(1, "reset@example.org"), _envelope(2, "ok@example.org")])
    )
    assert reset.outcome is Outcome.TRANSIENT
    assert "connection failed" in reset.detail
    assert fine.outcome is Outcome.ACCEPTED
    assert list(api.received) == ["ok@example.org"]


def test_http_open_refuses_a_wrong_key_before_sending(
    tmp_path: Path, api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFICE_API_TOKEN", "wrong")
    with pytest.raises(GatewayError, match="refused the key") as err:
        asyncio.run(_gateway(tmp_path, api).open())
    assert "wrong" not in str(err.value)
    assert api.received == {}


def test_http_open_fails_on_a_closed_port(tmp_path: Path, token: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateway = build(
        GatewayConfig.from_table(
            "api",
            {
                "type": "http",
                "url": f"http://127.0.0.1:{port}/send",
                "token_env": "OFFICE_API_TOKEN",
            },
            tmp_path / "pressdist.toml",
        ),
        root=tmp_path,
    )
    with pytest.raises(GatewayError, match="cannot connect"):
        asyncio.run(gateway.open())


@pytest.mark.parametrize("api", ["generic"], indirect=True)
def test_http_open_refuses_to_follow_a_redirect(tmp_path: Path, api: ApiServer, token: str) -> None:
    with pytest.raises(GatewayError, match="redirects to /send"):
        asyncio.run(_gateway(tmp_path, api, url=api.base + "/old").open())
    assert api.received == {}


@pytest.mark.parametrize("api", ["mailgun"], indirect=True)
def test_mailgun_unknown_domain_hints_at_the_eu_region(
    tmp_path: Path, api: ApiServer, token: str
) -> None:
    with pytest.raises(GatewayError, match="does not know the domain") as err:
        asyncio.run(_gateway(tmp_path, api, domain="eu.example.org").open())
    assert "api.eu.mailgun.net" in (err.value.hint or "")


@pytest.mark.parametrize("api", ["generic"], indirect=True)
def test_http_verifies_tls_and_trusts_a_private_ca_from_ca_file(
    tmp_path: Path, api: ApiServer, token: str
) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    api.socket = context.wrap_socket(api.socket, server_side=True)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))

    with pytest.raises(GatewayError, match="certificate not trusted"):
        asyncio.run(_gateway(tmp_path, api).open())
    (result,) = asyncio.run(send_all(_gateway(tmp_path, api, ca_file="ca.pem"), [_envelope(1)]))
    assert result.outcome is Outcome.ACCEPTED
    assert api.problems == []


# Configuration and helpers ---------------------------------------------------------
def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    assert retry_after("120", now=now) == 120
    assert retry_after("Wed, 25 Nov 2026 12:01:30 GMT", now=now) == 90
    assert retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0
    assert retry_after("soon", now=now) is None
    assert retry_after(None) is None


@given(seconds=st.integers(min_value=0, max_value=10**6))
def test_retry_after_as_seconds_or_as_a_date_means_the_same_wait(seconds: int) -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    date = email.utils.format_datetime(now + dt.timedelta(seconds=seconds), usegmt=True)
    assert retry_after(str(seconds), now=now) == seconds
    assert retry_after(date, now=now) == seconds


def test_http_missing_token_variable_is_a_config_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILGUN_KEY", raising=False)
    with pytest.raises(ConfigError, match="MAILGUN_KEY"):
        build(
            GatewayConfig.from_table(
                "api",
                {"type": "http", "api": "mailgun", "domain": DOMAIN, "token_env": "MAILGUN_KEY"},
                tmp_path / "pressdist.toml",
            ),
            root=tmp_path,
        )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "http://mail.example.org/send"}, "unencrypted"),
        ({"url": "ftp://x/send"}, "https:// URL"),
        ({"url": "https://x/send", "domain": "d"}, "only for api"),
        ({"url": "https://x/send", "api": "postmark"}, "must be one of generic, mailgun"),
        ({"url": "https://x/send", "concurrency": 0}, "at least 1"),
        ({"url": "https://x/send", "token": "secret"}, "gateways.api.token"),
        ({"api": "mailgun", "token_env": "X"}, "gateways.api.domain"),
        (
            {"url": "https://x/send", "webhook_signing_key_env": "X"},
            "webhook_signing_key_env' is only for api",
        ),
    ],
)
def test_http_settings_errors_name_the_problem(tmp_path: Path, table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(
            GatewayConfig.from_table("api", {"type": "http", **table}, tmp_path / "p.toml"),
            root=tmp_path,
        )


def test_mailgun_defaults_to_the_us_endpoint_and_accepts_the_eu_one(
    tmp_path: Path, token: str
) -> None:
    base = {"type": "http", "api": "mailgun", "domain": DOMAIN, "token_env": "OFFICE_API_TOKEN"}
    us = build(GatewayConfig.from_table("api", base, tmp_path / "p.toml"), root=tmp_path)
    eu = build(
        GatewayConfig.from_table(
            "api", {**base, "url": "https://api.eu.mailgun.net/"}, tmp_path / "p.toml"
        ),
        root=tmp_path,
    )
    assert us.endpoint == f"https://api.mailgun.net/v3/{DOMAIN}/messages.mime"
    assert eu.endpoint == f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages.mime"
    assert TOKEN not in repr(us)


def test_mailgun_sends_without_the_webhook_key_that_only_serve_reads(
    tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MG_WEBHOOK_KEY", raising=False)
    table = {
        "type": "http",
        "api": "mailgun",
        "domain": DOMAIN,
        "token_env": "OFFICE_API_TOKEN",
        "webhook_signing_key_env": "MG_WEBHOOK_KEY",
    }
    config = GatewayConfig.from_table("api", table, tmp_path / "p.toml")
    assert build(config, root=tmp_path).endpoint.endswith("/messages.mime")
    with pytest.raises(ConfigError, match="MG_WEBHOOK_KEY"):
        webhook_signing_key(config)
    monkeypatch.setenv("MG_WEBHOOK_KEY", "whsec-0123")
    assert webhook_signing_key(config) == b"whsec-0123"
