"""The smtp gateway against real aiosmtpd servers on 127.0.0.1.

Every server here is a real SMTP server in a thread of its own; faults (4xx,
5xx, a dropped connection, a closed port, an untrusted certificate, a wrong
password, a server without SMTPUTF8) are produced by the server for real.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import send_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smtp_servers import Sink, SmtpServer

from pressdist.errors import ConfigError, GatewayError
from pressdist.gateways._smtp_client import dot_stuff
from pressdist.gateways.smtp import SmtpGateway, SmtpSettings
from pressdist.sending.gateway import Envelope, Outcome, Scope, build
from pressdist.workspace import GatewayConfig

SENDER = "presse@example.org"


class Recorder:
    """An aiosmtpd handler that keeps what arrives and answers as told."""

    def __init__(self, *, pipelining: bool = True) -> None:
        self.pipelining = pipelining
        self.rcpt_replies: dict[str, str] = {}
        self.drop_data_times = 0
        self.messages: list[tuple[str, list[str], bytes, list[str]]] = []
        self.resets = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.resets += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_data_times:
            self.drop_data_times -= 1
            server.transport.close()
            return "250 never seen"
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                list(envelope.mail_options),
            )
        )
        return f"250 2.0.0 queued as Q{len(self.messages)}"


def _gateway(root: Path, port: int, **settings) -> SmtpGateway:
    table = {"type": "smtp", "host": "127.0.0.1", "port": port, "security": "none"}
    table.update(settings)
    gateway = build(GatewayConfig.from_table("office", table, root / "pressdist.toml"), root=root)
    assert isinstance(gateway, SmtpGateway)
    return gateway


def _envelope(n: int, recipient: str = "", body: bytes = b"") -> Envelope:
    recipient = recipient or f"reader{n}@example.org"
    head = (
        f"From: Presse <{SENDER}>\r\nTo: {recipient}\r\nSubject: Mitteilung {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode()
    body = body or f"Grüße aus Mainz, Nachricht {n}.\r\n.Punkt am Anfang\r\n".encode()
    return Envelope(f"m{n}@example.org", SENDER, recipient, head + body)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[SmtpServer]:
    with SmtpServer(recorder, enable_SMTPUTF8=True) as srv:
        yield srv


# Delivery -----------------------------------------------------------------------
@pytest.mark.parametrize("pipelining", [True, False])
def test_smtp_delivers_each_message_byte_identical_to_its_one_recipient(
    tmp_path: Path, pipelining: bool
) -> None:
    handler = Recorder(pipelining=pipelining)
    with SmtpServer(handler) as srv:
        envelopes = [_envelope(n) for n in range(30)]
        results = asyncio.run(send_all(_gateway(tmp_path, srv.port), envelopes))

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 30
    assert results[0].detail.startswith("250 2.0.0 queued as")
    arrived = {rcpts[0]: content for _, rcpts, content, _ in handler.messages}
    assert all(len(rcpts) == 1 for _, rcpts, _, _ in handler.messages)
    assert arrived == {e.recipient: e.data for e in envelopes}
    # 8-bit body: announced as such (RFC 6152).
    assert all("BODY=8BITMIME" in opts for *_, opts in handler.messages)


def test_smtp_reuses_its_connections_for_many_messages(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    results = asyncio.run(
        send_all(_gateway(tmp_path, server.port, connections=2), [_envelope(n) for n in range(40)])
    )
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    assert len(recorder.messages) == 40
    assert server.sessions == 2


@pytest.mark.skipif(not shutil.which("smtp-sink"), reason="needs postfix's smtp-sink")
def test_smtp_pipelines_against_postfix_smtp_sink(tmp_path: Path) -> None:
    """postfix's own PIPELINING server takes content and the next commands in one write."""
    port = _closed_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen(
        [shutil.which("smtp-sink") or "", *user, f"127.0.0.1:{port}", "100"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # wait until it listens: a readiness poll, not a timing guess
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
        envelopes = [_envelope(n) for n in range(300)]
        results = asyncio.run(send_all(_gateway(tmp_path, port, connections=2), envelopes))
    finally:
        sink.terminate()
        sink.wait(10)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 300


def test_smtp_classifies_4xx_as_transient_and_5xx_as_permanent_per_recipient(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    recorder.rcpt_replies = {
        "busy@example.org": "451 4.3.0 try again later",
        "gone@example.org": "550 5.1.1 no such mailbox",
        "full@example.org": "552 5.2.2 mailbox full",
    }
    envelopes = [
        _envelope(1, "busy@example.org"),
        _envelope(2, "gone@example.org"),
        _envelope(3, "full@example.org"),
        _envelope(4, "fine@example.org"),
    ]
    busy, gone, full, fine = asyncio.run(
        send_all(_gateway(tmp_path, server.port, connections=1), envelopes)
    )
    assert busy.outcome is Outcome.TRANSIENT
    assert busy.detail == "RCPT TO: 451 4.3.0 try again later"
    assert gone.outcome is Outcome.PERMANENT
    assert "550 5.1.1 no such mailbox" in gone.detail
    # RFC 5321 4.5.3.1.10: 552 after RCPT is treated as temporary.
    assert full.outcome is Outcome.TRANSIENT
    # The failed transactions were reset and the connection kept working.
    assert fine.outcome is Outcome.ACCEPTED
    assert [rcpts for _, rcpts, _, _ in recorder.messages] == [["fine@example.org"]]
    assert recorder.resets >= 1
    assert server.sessions == 1


@pytest.mark.parametrize("pipelining", [True, False])
def test_smtp_says_whom_a_refusal_at_rcpt_is_about_from_its_enhanced_status(
    tmp_path: Path, pipelining: bool
) -> None:
    handler = Recorder(pipelining=pipelining)
    handler.rcpt_replies = {
        "gone@example.org": "550 5.1.1 no such mailbox",
        "quota@example.org": "550 5.4.5 Daily sending quota exceeded",
        "relay@example.org": "554 5.7.1 Relay access denied",
        "sender@example.org": "553 5.1.8 Sender address rejected: Domain not found",
        "bare@example.org": "550 rejected",
    }
    envelopes = [_envelope(n, address) for n, address in enumerate(handler.rcpt_replies)]
    with SmtpServer(handler) as srv:
        results = asyncio.run(send_all(_gateway(tmp_path, srv.port, connections=1), envelopes))
    assert all(r.outcome is Outcome.PERMANENT for r in results)
    assert [(r.scope, r.code) for r in results] == [
        (Scope.RECIPIENT, "550 5.1.1"),
        (Scope.SERVER, "550 5.4.5"),
        (Scope.SERVER, "554 5.7.1"),
        (Scope.SENDER, "553 5.1.8"),
        (Scope.UNCLEAR, "550"),
    ]


@pytest.mark.parametrize("pipelining", [True, False])
def test_smtp_a_refusal_of_mail_from_is_about_the_sender_and_of_the_final_dot_the_message(
    tmp_path: Path, pipelining: bool
) -> None:
    class Refusing(Sink):
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            if pipelining:
                responses.insert(1, "250-PIPELINING")
            return responses

    sink = Refusing()
    with SmtpServer(sink) as srv:
        gateway = _gateway(tmp_path, srv.port, connections=1)
        sink.mail_reply = "530 5.7.0 Authentication required"
        (mail,) = asyncio.run(send_all(gateway, [_envelope(1)]))
        sink.mail_reply, sink.dot_reply = None, "554 Transaction failed"
        (dot,) = asyncio.run(send_all(gateway, [_envelope(2)]))
    assert (mail.outcome, mail.scope, mail.code) == (Outcome.PERMANENT, Scope.SENDER, "530 5.7.0")
    assert mail.detail == "MAIL FROM: 530 5.7.0 Authentication required"
    assert (dot.outcome, dot.scope, dot.code) == (Outcome.PERMANENT, Scope.MESSAGE, "554")
    assert sink.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_a_server_that_wants_a_login_refuses_mail_from_for_the_sender(
    tmp_path: Path,
) -> None:
    sink = Sink()
    with SmtpServer(sink, authenticator=_auth, auth_required=True, auth_require_tls=False) as srv:
        (result,) = asyncio.run(send_all(_gateway(tmp_path, srv.port), [_envelope(1)]))
    assert (result.outcome, result.scope) == (Outcome.PERMANENT, Scope.SENDER)
    assert result.detail.startswith("MAIL FROM: 530")
    assert sink.messages == []


def test_smtp_a_message_over_the_servers_size_limit_is_refused_for_the_message(
    tmp_path: Path,
) -> None:
    sink = Sink()
    with SmtpServer(sink, data_size_limit=200) as srv:
        (result,) = asyncio.run(send_all(_gateway(tmp_path, srv.port), [_envelope(1)]))
    assert (result.outcome, result.scope) == (Outcome.PERMANENT, Scope.MESSAGE)
    assert "exceeds the server's limit of 200" in result.detail


def test_smtp_reconnects_after_the_server_drops_the_connection(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    recorder.drop_data_times = 1
    first, second = asyncio.run(
        send_all(_gateway(tmp_path, server.port, connections=1), [_envelope(1), _envelope(2)])
    )
    assert first.outcome is Outcome.TRANSIENT
    assert "connection lost" in first.detail
    assert second.outcome is Outcome.ACCEPTED
    assert server.sessions == 2
    assert [rcpts for _, rcpts, _, _ in recorder.messages] == [["reader2@example.org"]]


def test_smtp_421_ends_the_session_and_the_next_message_reconnects(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    recorder.rcpt_replies = {"a@example.org": "421 4.7.0 closing, too busy"}
    first, second = asyncio.run(
        send_all(
            _gateway(tmp_path, server.port, connections=1),
            [_envelope(1, "a@example.org"), _envelope(2, "b@example.org")],
        )
    )
    assert first.outcome is Outcome.TRANSIENT
    assert second.outcome is Outcome.ACCEPTED
    assert server.sessions == 2


def test_smtp_times_out_a_silent_server_as_transient(tmp_path: Path) -> None:
    """A server that greets and then never answers MAIL FROM."""
    gate = threading.Event()

    class Silent(Recorder):
        async def handle_MAIL(self, server, session, envelope, address, options):
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 5)
            envelope.mail_from = address
            return "250 OK"

    with SmtpServer(Silent()) as srv:
        gateway = SmtpGateway(
            SmtpSettings(
                "office",
                host="127.0.0.1",
                port=srv.port,
                security="none",
                connections=1,
                timeout=0.5,
            )
        )
        try:
            (result,) = asyncio.run(send_all(gateway, [_envelope(1)]))
        finally:
            gate.set()
    assert result.outcome is Outcome.TRANSIENT
    assert "no reply within 0.5 s" in result.detail


def test_smtp_cancelled_send_that_was_still_queued_never_goes_out(tmp_path: Path) -> None:
    gate = threading.Event()

    class Held(Recorder):
        async def handle_MAIL(self, server, session, envelope, address, options):
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 10)
            envelope.mail_from = address
            return "250 OK"

    handler = Held()

    async def run():
        gateway = _gateway(tmp_path, srv.port, connections=1)
        await gateway.open()
        try:
            first = asyncio.create_task(gateway.send(_envelope(1)))
            queued = asyncio.create_task(gateway.send(_envelope(2)))
            await asyncio.sleep(0)  # both handed over; the first is held by the server
            queued.cancel()
            gate.set()
            later = await gateway.send(_envelope(3))
            return await first, queued.cancelled(), later
        finally:
            gate.set()
            await gateway.close()

    with SmtpServer(handler) as srv:
        first, cancelled, later = asyncio.run(run())
    assert first.outcome is Outcome.ACCEPTED
    assert cancelled
    assert later.outcome is Outcome.ACCEPTED
    assert [rcpts for _, rcpts, _, _ in handler.messages] == [
        ["reader1@example.org"],
        ["reader3@example.org"],
    ]


def test_smtp_open_fails_with_gateway_error_on_a_closed_port(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, _closed_port())
    with pytest.raises(GatewayError, match="cannot connect") as err:
        asyncio.run(gateway.open())
    assert err.value.exit_code == 3


class RawServer:
    """A TCP server on 127.0.0.1 that sends fixed bytes on connect, then waits."""

    def __init__(self, greeting: bytes) -> None:
        self.greeting = greeting
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(client)
            client.sendall(self.greeting)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for client in self.clients:
            client.close()


def test_smtp_open_reports_a_refusing_greeting(tmp_path: Path) -> None:
    with (
        RawServer(b"554 5.7.1 your address is blocked\r\n") as srv,
        pytest.raises(GatewayError, match="greeting refused: 554 5.7.1 your address"),
    ):
        asyncio.run(_gateway(tmp_path, srv.port).open())


def test_smtp_open_gives_up_on_a_server_that_never_greets(tmp_path: Path) -> None:
    with RawServer(b"") as srv:
        gateway = SmtpGateway(
            SmtpSettings("office", host="127.0.0.1", port=srv.port, security="none", timeout=0.3)
        )
        with pytest.raises(GatewayError, match="no answer within 0.3 s"):
            asyncio.run(gateway.open())


def test_smtp_keeps_to_the_rate_limit(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    gateway = _gateway(tmp_path, server.port, rate_per_minute=600)  # one per 0.1 s
    started = time.monotonic()
    results = asyncio.run(send_all(gateway, [_envelope(n) for n in range(6)]))
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    assert time.monotonic() - started >= 0.5


# SMTPUTF8 -------------------------------------------------------------------------
def test_smtp_uses_smtputf8_for_an_internationalised_address(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    envelope = _envelope(1, "李雷@例子.中国")
    (result,) = asyncio.run(send_all(_gateway(tmp_path, server.port), [envelope]))
    assert result.outcome is Outcome.ACCEPTED
    ((_, rcpts, content, options),) = recorder.messages
    assert rcpts == ["李雷@例子.中国"]
    assert "SMTPUTF8" in options
    assert content == envelope.data


def test_smtp_without_smtputf8_fails_permanently_for_a_utf8_mailbox(tmp_path: Path) -> None:
    handler = Recorder()
    with SmtpServer(handler, enable_SMTPUTF8=False) as srv:
        (result,) = asyncio.run(
            send_all(_gateway(tmp_path, srv.port), [_envelope(1, "李雷@例子.中国")])
        )
    assert result.outcome is Outcome.PERMANENT
    assert "SMTPUTF8" in result.detail
    assert "李雷@例子.中国" in result.detail
    assert handler.messages == []


def test_smtp_without_smtputf8_sends_an_idn_domain_as_a_label(tmp_path: Path) -> None:
    handler = Recorder()
    envelope = _envelope(1, "reader@例子.中国")
    # The To header must be ASCII for a server without SMTPUTF8.
    envelope = Envelope(
        envelope.message_id,
        SENDER,
        envelope.recipient,
        envelope.data.replace("reader@例子.中国".encode(), b"reader@xn--fsqu00a.xn--fiqs8s"),
    )
    with SmtpServer(handler, enable_SMTPUTF8=False) as srv:
        (result,) = asyncio.run(send_all(_gateway(tmp_path, srv.port), [envelope]))
    assert result.outcome is Outcome.ACCEPTED
    assert handler.messages[0][1] == ["reader@xn--fsqu00a.xn--fiqs8s"]


def test_smtp_refuses_an_address_that_could_inject_commands(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    evil = "a@example.org>\r\nRCPT TO:<b@example.org"
    (result,) = asyncio.run(send_all(_gateway(tmp_path, server.port), [_envelope(1, evil)]))
    assert result.outcome is Outcome.PERMANENT
    assert recorder.messages == []


# Dot-stuffing -----------------------------------------------------------------------
_LINE = st.text(alphabet=st.sampled_from(list(".a Zü中\t-")), max_size=60).map(lambda s: s.encode())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_LINE, min_size=1, max_size=12))
def test_dot_stuffing_round_trip_through_a_real_server_is_byte_identical(
    tmp_path: Path, server: SmtpServer, recorder: Recorder, lines: list[bytes]
) -> None:
    recorder.messages.clear()
    body = b"\r\n".join(lines) + b"\r\n"
    envelope = _envelope(1, body=body)
    (result,) = asyncio.run(send_all(_gateway(tmp_path, server.port, connections=1), [envelope]))
    assert result.outcome is Outcome.ACCEPTED
    assert recorder.messages[0][2] == envelope.data


def _unstuff(content: bytes) -> bytes:
    """What a receiving server does (RFC 5321 4.5.2), for the property below."""
    assert content.endswith(b"\r\n.\r\n")
    lines = content[: -len(b".\r\n")].split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@given(
    lines=st.lists(
        st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        min_size=1,
    )
)
def test_dot_stuffed_content_never_ends_early_and_unstuffs_to_the_message(
    lines: list[bytes],
) -> None:
    data = b"".join(line + b"\r\n" for line in lines)
    content = dot_stuff(data)
    # The only CRLF.CRLF is the terminator, so the server cannot stop early.
    assert content.find(b"\r\n.\r\n") == len(content) - 5
    assert _unstuff(b"\r\n" + content)[2:] == data


def test_dot_stuff_doubles_leading_dots_and_terminates() -> None:
    assert dot_stuff(b".a\r\n..b\r\nc.\r\n.") == b"..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
    assert dot_stuff(b"a\nb\n") == b"a\r\nb\r\n.\r\n"


# TLS and login ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == b"presse" and auth_data.password == "geheim wörter".encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(ca: trustme.CA, recorder: Recorder) -> Iterator[SmtpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with SmtpServer(
        recorder,
        tls_context=context,
        require_starttls=True,
        authenticator=_auth,
        auth_required=True,
    ) as srv:
        yield srv


def _login_gateway(
    root: Path,
    server: SmtpServer,
    ca: trustme.CA,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> SmtpGateway:
    """The gateway over STARTTLS trusting ``ca``, logging in as presse with ``password``."""
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    monkeypatch.setenv("OFFICE_SMTP_PASSWORD", password)
    return _gateway(
        root,
        server.port,
        security="starttls",
        ca_file="ca.pem",
        username="presse",
        password_env="OFFICE_SMTP_PASSWORD",
    )


def test_smtp_starttls_and_auth_deliver_with_a_private_ca(
    tmp_path: Path,
    ca: trustme.CA,
    tls_server: SmtpServer,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = _login_gateway(tmp_path, tls_server, ca, "geheim wörter", monkeypatch)
    results = asyncio.run(send_all(gateway, [_envelope(n) for n in range(5)]))
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 5
    assert len(recorder.messages) == 5
    assert "geheim" not in repr(gateway)


def test_smtp_refuses_an_untrusted_certificate(
    tmp_path: Path, tls_server: SmtpServer, recorder: Recorder
) -> None:
    gateway = _gateway(tmp_path, tls_server.port, security="starttls")
    with pytest.raises(GatewayError, match="certificate not trusted") as err:
        asyncio.run(gateway.open())
    assert "ca_file" in (err.value.hint or "")
    assert recorder.messages == []


def test_smtp_reports_a_refused_login_as_gateway_error(
    tmp_path: Path, ca: trustme.CA, tls_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = _login_gateway(tmp_path, tls_server, ca, "falsch", monkeypatch)
    with pytest.raises(GatewayError, match="login as 'presse' refused") as err:
        asyncio.run(gateway.open())
    assert "falsch" not in str(err.value)


def test_smtp_over_implicit_tls_verifies_and_delivers(
    tmp_path: Path, ca: trustme.CA, recorder: Recorder
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with SmtpServer(recorder, ssl_context=context) as srv:
        with pytest.raises(GatewayError, match="certificate not trusted"):
            asyncio.run(_gateway(tmp_path, srv.port, security="ssl").open())
        results = asyncio.run(
            send_all(_gateway(tmp_path, srv.port, security="ssl", ca_file="ca.pem"), [_envelope(1)])
        )
    assert results[0].outcome is Outcome.ACCEPTED


def test_smtp_starttls_is_never_skipped_when_the_server_does_not_offer_it(
    tmp_path: Path, server: SmtpServer, recorder: Recorder
) -> None:
    with pytest.raises(GatewayError, match="STARTTLS"):
        asyncio.run(_gateway(tmp_path, server.port, security="starttls").open())


# Configuration -------------------------------------------------------------------------
def test_smtp_missing_password_variable_is_a_config_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OFFICE_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="OFFICE_SMTP_PASSWORD"):
        _gateway(tmp_path, 25, username="presse", password_env="OFFICE_SMTP_PASSWORD")


def test_smtp_refuses_plain_text_to_another_machine(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only for a server on this machine"):
        build(
            GatewayConfig.from_table(
                "office",
                {"type": "smtp", "host": "mail.example.org", "security": "none"},
                tmp_path / "pressdist.toml",
            ),
            root=tmp_path,
        )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hots", "x", "gateways.office.hots"),
        ("security", "tls", "must be one of starttls, ssl, none"),
        ("connections", 0, "at least 1"),
        ("port", "25", "whole number"),
        ("ca_file", "missing.pem", "not found"),
        ("ca_file", "not-a-cert.pem", "holds no certificate"),
    ],
)
def test_smtp_settings_errors_name_the_key(tmp_path: Path, key, value, message) -> None:
    (tmp_path / "not-a-cert.pem").write_text("not a certificate\n", encoding="utf-8")
    table = {"type": "smtp", "host": "127.0.0.1", "security": "none", key: value}
    with pytest.raises(ConfigError, match=message):
        build(GatewayConfig.from_table("office", table, tmp_path / "pressdist.toml"), root=tmp_path)


def test_smtp_default_ports_follow_the_security_mode(tmp_path: Path) -> None:
    def port(security: str) -> int:
        table = {"type": "smtp", "host": "localhost", "security": security}
        return build(
            GatewayConfig.from_table("o", table, tmp_path / "p.toml"), root=tmp_path
        ).settings.port

    assert (port("starttls"), port("ssl"), port("none")) == (587, 465, 25)
