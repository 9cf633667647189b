"""`pressdist send` against a real SMTP server (aiosmtpd on 127.0.0.1, port 0).

The server runs in a thread of the test process; `pressdist` runs as a real
process. Faults (4xx, 5xx, a closed port, a server that stalls mid-run) are
produced by the server for real; the crash is a real SIGKILL.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from smtp_servers import Sink, SmtpServer

from pressdist.sending.delivery import in_flight_window

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
LANGS = ["de", "en", "zh_CN", "en-GB", "zh-Hans", "de_AT", "fr", "zh_TW"]
WANT = {
    "de": "de",
    "en": "en",
    "zh_CN": "zh-CN",
    "en-GB": "en",
    "zh-Hans": "zh-CN",
    "de_AT": "de",
    "fr": "en",
    "zh_TW": "en",
}


@pytest.fixture
def sink():
    return Sink()


@pytest.fixture
def server(sink):
    with SmtpServer(sink) as s:
        yield s


# Every run here sends the release to the test list through the office gateway.
SEND_ARGS = ("send", RELEASE, "--list", "test", "--gateway", "office", "--yes")


def workspace(root: Path, port: int, count: int = 16, extra: str = "") -> list[str]:
    """The example workspace sending through 127.0.0.1:port; returns the addresses."""
    lines = ["email,name,language,organisation,salutation"]
    addresses = []
    for i in range(count):
        lang = LANGS[i % len(LANGS)]
        addr = f"reader{i:03d}@example.org"
        addresses.append(addr)
        lines.append(f"{addr},Reader {i},{lang},Zeitung {i},")
    (root / "recipients" / "test.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = root / "pressdist.toml"
    text = cfg.read_text(encoding="utf-8")
    text = re.sub(
        r"(?m)^\[send\]\n",
        "[send]\nretry_base_seconds = 0.01\nretry_max_seconds = 0.05\n",
        text,
        count=1,
    )
    text += (
        f'\n[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        f"connections = 4\n{extra}"
    )
    if "security" not in extra:
        text += 'security = "none"\n'
    cfg.write_text(text, encoding="utf-8")
    return addresses


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def lang_of(address: str) -> str:
    return WANT[LANGS[int(address[6:9]) % len(LANGS)]]


def test_every_recipient_gets_one_parseable_mail_in_their_language_alone(
    cli, example_workspace, server, sink
):
    addresses = workspace(example_workspace, server.port)
    result = cli(*SEND_ARGS, cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert sink.received() == Counter(addresses)
    for rcpts, raw in sink.messages:
        (rcpt,) = rcpts
        msg = parse(raw)
        assert msg["To"].addresses[0].addr_spec == rcpt
        assert msg["Content-Language"] == lang_of(rcpt)
        assert msg["Message-ID"] and msg["Date"] and msg["Subject"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "%40" in msg["List-Unsubscribe"] and rcpt.split("@")[0] in msg["List-Unsubscribe"]
        text = raw.decode("ascii", "replace") + msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        for other in addresses:
            if other != rcpt:
                assert other not in text and other not in html
    # Resume: a second run sends nothing new.
    again = cli(*SEND_ARGS, cwd=example_workspace)
    assert again.code == 0 and "Nothing to send" in again.stdout
    assert len(sink.messages) == len(addresses)


def test_starttls_and_auth_with_a_private_ca(cli, example_workspace, sink, tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "office-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"presse",
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)

    with SmtpServer(
        sink, tls_context=context, require_starttls=True, authenticator=auth, auth_required=True
    ) as srv:
        addresses = workspace(
            example_workspace,
            srv.port,
            count=6,
            extra=(
                'security = "starttls"\nusername = "presse"\n'
                f'password_env = "PRESSDIST_TEST_SMTP_PASSWORD"\nca_file = "{ca_file}"\n'
            ),
        )
        missing = cli(*SEND_ARGS, cwd=example_workspace)
        assert missing.code == 2
        assert "PRESSDIST_TEST_SMTP_PASSWORD" in missing.output
        assert "Traceback" not in missing.output
        assert sink.messages == []
        wrong = cli(
            *SEND_ARGS, cwd=example_workspace, env={"PRESSDIST_TEST_SMTP_PASSWORD": "wrong"}
        )
        assert wrong.code == 3, wrong.output
        assert "wrong" not in wrong.output
        assert sink.messages == []
        ok = cli(*SEND_ARGS, cwd=example_workspace, env={"PRESSDIST_TEST_SMTP_PASSWORD": "s3cret"})
        assert ok.code == 0, ok.output
        assert "s3cret" not in ok.output
    assert sink.received() == Counter(addresses)


def test_transient_replies_are_retried_permanent_ones_reported_and_the_run_finishes(
    cli, example_workspace, server, sink
):
    addresses = workspace(example_workspace, server.port, count=10)
    sink.script = {
        addresses[1]: ["451 4.3.0 greylisted, try again", "450 4.2.0 busy", "250 OK"],
        addresses[2]: ["550 5.1.1 no such mailbox"],
    }
    result = cli(*SEND_ARGS, cwd=example_workspace)
    assert "Traceback" not in result.output
    assert result.code == 1
    assert addresses[2] in result.stdout and "550 5.1.1" in result.stdout
    assert sink.received() == Counter(a for a in addresses if a != addresses[2])
    failed = json.loads(cli("log", RELEASE, "--failed", "--json", cwd=example_workspace).stdout)
    assert [(r["address"], r["state"]) for r in failed] == [(addresses[2], "failed-permanent")]
    rows = json.loads(cli("log", RELEASE, "--json", cwd=example_workspace).stdout)
    retried = next(r for r in rows if r["address"] == addresses[1])
    assert (retried["state"], retried["attempts"]) == ("sent", 3)


UTF8_ADDRESS = "jörg.müller@example.org"


def add_utf8_recipient(root: Path) -> None:
    with (root / "recipients" / "test.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{UTF8_ADDRESS},Jörg Müller,de,Rheinzeitung,\n")


def test_a_utf8_mailbox_name_is_delivered_through_a_server_with_smtputf8(
    cli, example_workspace, sink
):
    with SmtpServer(sink, enable_SMTPUTF8=True) as srv:
        addresses = workspace(example_workspace, srv.port, count=3)
        add_utf8_recipient(example_workspace)
        result = cli(*SEND_ARGS, cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert sink.received() == Counter([*addresses, UTF8_ADDRESS])
    raw = next(raw for rcpts, raw in sink.messages if rcpts == [UTF8_ADDRESS])
    msg = email.message_from_string(raw.decode("utf-8"), policy=email.policy.SMTPUTF8)
    assert [a.addr_spec for a in msg["To"].addresses] == [UTF8_ADDRESS]
    assert msg["To"].addresses[0].display_name == "Jörg Müller"
    assert msg["Content-Language"] == "de"


def test_a_server_without_smtputf8_fails_only_the_utf8_mailbox_naming_smtputf8(
    cli, example_workspace, server, sink
):
    addresses = workspace(example_workspace, server.port, count=3)
    add_utf8_recipient(example_workspace)
    result = cli(*SEND_ARGS, cwd=example_workspace)
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    assert "SMTPUTF8" in result.stdout and UTF8_ADDRESS in result.stdout
    assert sink.received() == Counter(addresses)
    failed = json.loads(cli("log", RELEASE, "--failed", "--json", cwd=example_workspace).stdout)
    assert [(r["address"], r["state"]) for r in failed] == [(UTF8_ADDRESS, "failed-permanent")]
    assert "SMTPUTF8" in failed[0]["last_error"]
    # The table of this run shows the tries the journal counts.
    row = next(ln for ln in result.stdout.splitlines() if ln.lstrip().startswith(UTF8_ADDRESS))
    assert row.split()[-1] == str(failed[0]["attempts"]) == "1"


def test_unreachable_gateway_is_a_clean_stop_and_the_next_run_sends_everything(
    cli, example_workspace, sink
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addresses = workspace(example_workspace, port, count=5)
    down = cli(*SEND_ARGS, cwd=example_workspace)
    assert down.code == 3, down.output
    assert "Traceback" not in down.output
    assert "office" in down.stderr
    with SmtpServer(sink) as srv:
        cfg = example_workspace / "pressdist.toml"
        cfg.write_text(cfg.read_text().replace(f"port = {port}", f"port = {srv.port}"))
        up = cli(*SEND_ARGS, cwd=example_workspace)
        assert up.code == 0, up.output
    assert sink.received() == Counter(addresses)


# The interrupted runs need the process itself (to signal it), so they start it
# directly rather than through the `cli` fixture.
SEND = [sys.executable, "-m", "pressdist", *SEND_ARGS]


def process_env() -> dict[str, str]:
    """Plain, wide output, and no workspace chosen from outside the test."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("PRESSDIST_WORKSPACE", None)
    return env


def start_send(root: Path, out: IO[str]) -> subprocess.Popen[bytes]:
    """`pressdist send` started, not waited for, its output going to ``out``."""
    return subprocess.Popen(SEND, cwd=root, env=process_env(), stdout=out, stderr=subprocess.STDOUT)


def send_again(root: Path) -> subprocess.CompletedProcess[str]:
    """The run after the interrupted one, to its end."""
    return subprocess.run(
        SEND, cwd=root, env=process_env(), capture_output=True, text=True, timeout=120
    )


def log_rows(root: Path) -> list[dict]:
    """`pressdist log --json` of the release: one row per delivery."""
    log = subprocess.run(
        [sys.executable, "-m", "pressdist", "log", RELEASE, "--json"],
        cwd=root,
        env=process_env(),
        capture_output=True,
        text=True,
    )
    return json.loads(log.stdout)


def test_sigkill_mid_run_then_restart_delivers_to_everyone_and_reports_duplicates(
    example_workspace, server, sink, tmp_path
):
    addresses = workspace(example_workspace, server.port, count=120)
    sink.stall_after = 30
    with (tmp_path / "out1").open("w") as out:
        proc = start_send(example_workspace, out)
        try:
            assert sink.stalled.wait(60), "the send never reached the stalled server"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    in_doubt = set(sink.received())
    server.open_gate()
    sink.stall_after = None
    second = send_again(example_workspace)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    received = sink.received()
    assert set(received) == set(addresses)  # nobody lost
    duplicates = {a for a, n in received.items() if n > 1}
    assert max(received.values()) <= 2
    assert duplicates and duplicates <= in_doubt
    rows = log_rows(example_workspace)
    flagged = {r["address"] for r in rows if r["possibly_duplicate"]}
    assert duplicates <= flagged  # every real duplicate is reported
    assert len(flagged) <= in_flight_window(4)
    assert "possibly duplicated" in second.stderr
    assert {r["state"] for r in rows} == {"sent"}


def test_ctrl_c_stops_cleanly_returning_queued_mails_to_pending(
    example_workspace, server, sink, tmp_path
):
    addresses = workspace(example_workspace, server.port, count=80)
    sink.stall_after = 10
    with (tmp_path / "out").open("w+") as out:
        proc = start_send(example_workspace, out)
        try:
            assert sink.stalled.wait(60)
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
        out.seek(0)
        output = out.read()
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    states = Counter(r["state"] for r in log_rows(example_workspace))
    # Only what a connection was handing over stays in doubt; the queue went back.
    # (the smtp gateway's concurrency: 2 per connection, 4 connections)
    assert states["sending"] <= 8
    assert states["pending"] > 0
    server.open_gate()
    sink.stall_after = None
    again = send_again(example_workspace)
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(sink.received()) == set(addresses)


def test_a_daily_quota_stops_the_send_and_retry_failed_recovers_without_sending_twice(
    cli, example_workspace, server, sink
):
    addresses = workspace(example_workspace, server.port, count=12)
    sink.quota = 5
    stopped = cli(*SEND_ARGS, cwd=example_workspace)
    assert stopped.code == 3, stopped.output
    assert "Traceback" not in stopped.output
    assert "550 5.4.5 Daily sending quota exceeded" in stopped.output
    assert "not of these addresses" in stopped.output and "--retry-failed" in stopped.output
    assert len(sink.messages) == 5
    states = Counter(r["state"] for r in log_rows(example_workspace))
    assert states["failed-permanent"] == 1 and states["sent"] == 5
    # The next day the quota is back: the rest go out, the one refused waits.
    sink.quota = None
    next_day = cli(*SEND_ARGS, cwd=example_workspace)
    assert next_day.code == 0, next_day.output
    assert "--retry-failed" in next_day.stderr
    nothing = cli(*SEND_ARGS, cwd=example_workspace)
    assert nothing.code == 1, nothing.output
    assert "Nothing to send" in nothing.stdout
    assert "1 delivery failed permanently" in nothing.stderr
    retried = cli(*SEND_ARGS, "--retry-failed", cwd=example_workspace)
    assert retried.code == 0, retried.output
    assert sink.received() == Counter(addresses)
    done = cli(*SEND_ARGS, cwd=example_workspace)
    assert done.code == 0 and "Nothing to send" in done.stdout


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_wants_a_login_stops_the_send_at_mail_from_naming_the_login(
    cli, example_workspace, sink
):
    def auth(server, session, envelope, mechanism, data):  # nobody logs in here
        return AuthResult(success=False, handled=False)

    with SmtpServer(sink, authenticator=auth, auth_required=True, auth_require_tls=False) as srv:
        workspace(example_workspace, srv.port, count=10)
        result = cli(*SEND_ARGS, cwd=example_workspace)
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    assert "MAIL FROM: 530 5.7.0 Authentication required" in result.stderr
    assert "'username'" in result.stderr
    assert sink.messages == []
    assert {r["state"] for r in log_rows(example_workspace)} <= {"pending", "sending"}
