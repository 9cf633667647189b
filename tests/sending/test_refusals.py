"""A refusal that is not about the recipient stops the run instead of burning the list.

Against real servers on 127.0.0.1: an aiosmtpd server that wants a login, one
that refuses every final dot, one whose daily quota runs out, and an HTTP API
that answers 400 or 413 to every request. Each run stops, no delivery that
was not really refused is marked failed, and once the cause is gone the next
run (with ``retry_failed`` for the few refused before the stop) gets every
recipient exactly one mail.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from smtp_servers import Sink, SmtpServer

from pressdist.errors import GatewayError
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.sending.gateway import Envelope, Outcome, Result, Scope
from pressdist.sending.refusals import Refusals
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
READERS = [f"reader{i:02d}@example.org" for i in range(12)]


def workspace(root: Path, gateway: str) -> Workspace:
    langs = ["de", "en", "zh_CN"]
    rows = "".join(f"{a},Reader,{langs[i % 3]}\n" for i, a in enumerate(READERS))
    (root / "recipients" / "test.csv").write_text("email,name,language\n" + rows, "utf-8")
    cfg = root / "pressdist.toml"
    text = re.sub(
        r"(?m)^\[send\]\n",
        "[send]\nretry_base_seconds = 0.01\nretry_max_seconds = 0.05\n",
        cfg.read_text("utf-8"),
        count=1,
    )
    cfg.write_text(text + gateway, "utf-8")
    return Workspace.open(root)


def smtp(root: Path, port: int) -> Workspace:
    # One connection: the server sees the mails in the order they are sent.
    return workspace(
        root,
        f'\n[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\nconnections = 1\n',
    )


def send(ws: Workspace, **options) -> delivery.Report:
    return delivery.run(planning.plan(ws, RELEASE, ["test"], gateway="office", **options))


def states(ws: Workspace) -> Counter[str]:
    with jr.Journal(planning.journal_path(ws)) as journal:
        return Counter(d.state for d in journal.deliveries())


def nobody_refused(ws: Workspace) -> bool:
    return jr.FAILED_PERMANENT not in states(ws) and jr.SENT not in states(ws)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_wants_a_login_stops_the_run_at_mail_from_and_fails_nobody(
    example_workspace,
):
    sink = Sink()

    def auth(server, session, envelope, mechanism, data):  # nobody logs in here
        return AuthResult(success=False, handled=False)

    with SmtpServer(sink, authenticator=auth, auth_required=True, auth_require_tls=False) as srv:
        ws = smtp(example_workspace, srv.port)
        report = send(ws)
    assert isinstance(report.stop_error, GatewayError)
    assert "refuses the sender" in report.stop_error.message
    assert "MAIL FROM: 530 5.7.0 Authentication required" in report.stop_error.message
    assert "'username'" in report.stop_error.hint
    assert report.failures == [] and sink.messages == []
    assert nobody_refused(ws)
    # The office fixes its gateway (here: a server that takes it); the same command sends all.
    with SmtpServer(sink) as fixed:
        text = (ws.root / "pressdist.toml").read_text("utf-8")
        (ws.root / "pressdist.toml").write_text(
            text.replace(f"port = {srv.port}", f"port = {fixed.port}"), "utf-8"
        )
        again = send(Workspace.open(ws.root))
    assert again.ok and sink.received() == Counter(READERS)


def test_a_server_refusing_every_final_dot_stops_the_run_and_fails_nobody(example_workspace):
    sink = Sink()
    sink.dot_reply = "554 Transaction failed"
    with SmtpServer(sink) as srv:
        ws = smtp(example_workspace, srv.port)
        report = send(ws)
        assert "refuses the message itself" in report.stop_error.message
        assert "end of data: 554 Transaction failed" in report.stop_error.message
        assert report.failures == [] and nobody_refused(ws)
        assert sink.refused < len(READERS)  # stopped, not tried on everyone
        sink.dot_reply = None
        again = send(ws)
    assert again.ok and sink.received() == Counter(READERS)


def test_a_daily_quota_stops_the_run_and_retry_failed_sends_exactly_the_refused(
    example_workspace,
):
    sink = Sink()
    sink.quota = 5
    with SmtpServer(sink) as srv:
        ws = smtp(example_workspace, srv.port)
        report = send(ws)
        assert "550 5.4.5 Daily sending quota exceeded" in report.stop_error.message
        assert "--retry-failed" in report.stop_error.hint
        # The first refusal could have been that one address's; the second is the server's.
        (failure,) = report.failures
        assert failure.state == jr.FAILED_PERMANENT and "5.4.5" in failure.detail
        assert states(ws)[jr.SENT] == 5 and states(ws)[jr.FAILED_PERMANENT] == 1
        # The next day: the rest go out, the one refused waits for --retry-failed.
        sink.quota = None
        next_day = send(ws)
        assert next_day.ok and next_day.sent == len(READERS) - 6
        plan = planning.plan(ws, RELEASE, ["test"], gateway="office")
        assert (plan.to_send, plan.failed_before) == (0, 1)
        retried = send(ws, retry_failed=True)
        assert retried.ok and retried.sent == 1
        assert send(ws, retry_failed=True).sent == 0
    assert sink.received() == Counter(READERS)


def test_single_refusals_of_one_address_each_fail_only_that_recipient(example_workspace):
    sink = Sink()
    sink.script = {
        READERS[2]: ["550 5.1.1 no such user"],
        READERS[5]: ["550 5.4.1 Recipient address rejected: Access denied"],
        READERS[9]: ["550 rejected"],
    }
    with SmtpServer(sink) as srv:
        report = send(smtp(example_workspace, srv.port))
    assert not report.stopped
    assert {f.address for f in report.failures} == {READERS[2], READERS[5], READERS[9]}
    assert sink.received() == Counter(a for a in READERS if a not in sink.script)


# HTTP -------------------------------------------------------------------------------


class Refusing(BaseHTTPRequestHandler):
    """An API that takes the key and refuses every message with ``server.status``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.end_headers()

    def do_POST(self) -> None:
        doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            server.requests[doc["to"]] += 1
            status = server.status
        if status == 200:
            self._answer(200, {"id": doc["message_id"], "message": "Queued"})
        else:
            self._answer(status, {"message": server.words})


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    server.lock = threading.Lock()
    server.requests = Counter()
    server.status, server.words = 200, ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.mark.parametrize(
    ("status", "words"),
    [(400, "'from' parameter is missing"), (413, "request entity too large")],
)
def test_an_api_refusing_every_request_stops_after_three_recipients(
    example_workspace, api, status, words
):
    api.status, api.words = status, words
    ws = workspace(
        example_workspace,
        f'\n[gateways.office]\ntype = "http"\nurl = "http://127.0.0.1:{api.server_port}/send"\n'
        "concurrency = 1\n",
    )
    report = send(ws)
    assert f"{status} {words}" in report.stop_error.message
    assert "3 different recipients in a row" in report.stop_error.message
    assert len(report.failures) == 2 and "--retry-failed" in report.stop_error.hint
    assert states(ws)[jr.FAILED_PERMANENT] == 2
    assert sum(api.requests.values()) == 3  # not the whole list
    api.status = 200
    assert send(ws).sent == len(READERS) - 2
    assert send(ws, retry_failed=True).sent == 2
    assert set(api.requests) == set(READERS)


# The rule itself ----------------------------------------------------------------------


def _refused(scope: Scope, code: str, n: int = 0) -> Result:
    envelope = Envelope(f"m{n}@example.org", "presse@example.org", f"r{n}@example.org", b"")
    return Result(envelope, Outcome.PERMANENT, f"{code} words", scope=scope, code=code)


@pytest.mark.parametrize(
    ("scope", "stop_at"),
    [
        (Scope.SENDER, 1),
        (Scope.MESSAGE, 1),
        (Scope.SERVER, 2),
        (Scope.UNCLEAR, 3),
        (Scope.RECIPIENT, 10),
    ],
)
def test_the_same_refusal_stops_the_run_after_so_many_different_recipients(scope, stop_at):
    refusals = Refusals("office")
    judged = [refusals.judge(f"r{n}", _refused(scope, "550 5.0.0", n)) for n in range(12)]
    assert [j is not None for j in judged].index(True) == stop_at - 1


def test_a_delivery_in_between_or_another_answer_starts_the_row_again():
    refusals = Refusals("office")
    assert refusals.judge("a", _refused(Scope.SERVER, "550 5.4.5")) is None
    refusals.accepted()
    assert refusals.judge("b", _refused(Scope.SERVER, "550 5.4.5")) is None
    assert refusals.judge("c", _refused(Scope.SERVER, "554 5.7.1")) is None
    assert refusals.judge("c", _refused(Scope.SERVER, "554 5.7.1")) is None  # the same one
    assert refusals.judge("d", _refused(Scope.RECIPIENT, "")) is None
    assert refusals.judge("e", _refused(Scope.SERVER, "554 5.7.1")) is None
    assert refusals.judge("f", _refused(Scope.SERVER, "554 5.7.1")) is not None
