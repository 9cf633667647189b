"""`pressdist` against servers and files that try to leak secrets or take over the terminal.

Real servers on 127.0.0.1: an HTTP service that echoes the Authorization
header into its error, or answers with terminal commands; a small SMTP server
scripted to misbehave as no polite server does (echoing AUTH PLAIN in its
535, escape sequences in its replies); aiosmtpd receiving mails addressed
to hostile names. `pressdist` runs as a real process; what it prints, the
journal file and `log --json/--csv` are searched for what must not be there.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import re
import threading
import unicodedata
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from smtp_servers import Sink, SmtpServer

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
TOKEN = "tok-Hostile-0815-abcdef"
PASSWORD = "Passw0rd-Hostile-4711"
# A window title, a bell, a cleared screen, CSI as one C1 character, a reversed text.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202egnp.exe"
LIST = "hostile"
# Unicode's Bidi_Control characters, written out here rather than taken from pressdist.
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def obeyed(text: str) -> list[str]:
    """The characters of ``text`` a terminal acts on (or that reorder what it shows)."""
    return [c for c in text if (unicodedata.category(c) == "Cc" and c not in "\n\t")
            or c in BIDI_CONTROLS]  # fmt: skip


def forms_of(secret: str, user: str = "presse") -> list[str]:
    raw = secret.encode()
    packed = [raw, f"{user}:".encode() + raw, b"\0" + user.encode() + b"\0" + raw]
    return [secret] + [base64.b64encode(p).decode() for p in packed]


def leaked(secret: str, *texts: str | bytes) -> list[str]:
    out = []
    for text in texts:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        out += [form for form in forms_of(secret) if form in text]
    return out


def journal_bytes(root: Path) -> bytes:
    folder = root / ".pressdist"
    return b"".join(p.read_bytes() for p in sorted(folder.glob("journal.sqlite3*")))


def add_gateway(root: Path, table: str, *, max_attempts: int = 1) -> None:
    cfg = root / "pressdist.toml"
    text = cfg.read_text(encoding="utf-8").replace(
        "max_attempts = 5\n",
        f"max_attempts = {max_attempts}\nretry_base_seconds = 0.01\nretry_max_seconds = 0.02\n",
    )
    cfg.write_text(text + "\n" + table, encoding="utf-8")


def add_list(root: Path, rows: list[str]) -> None:
    path = root / "recipients" / f"{LIST}.csv"
    path.write_text("email,name,language\n" + "\n".join(rows) + "\n", encoding="utf-8")


def send(cli, root: Path, gateway: str, env: dict[str, str] | None = None):
    return cli("send", RELEASE, "--list", LIST, "--gateway", gateway, "--yes", cwd=root, env=env)


# An HTTP service ------------------------------------------------------------------


class Api:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (method, Authorization)
        self.answer: Callable[[str], tuple[int, dict]] = lambda auth: (200, {"id": "1"})


def handler_for(api: Api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _reply(self, status: int, body: dict | None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_OPTIONS(self) -> None:
            auth = self.headers.get("Authorization", "")
            api.requests.append(("OPTIONS", auth))
            self._reply(204 if auth == f"Bearer {TOKEN}" else 401, None)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            auth = self.headers.get("Authorization", "")
            api.requests.append(("POST", auth))
            self._reply(*api.answer(auth))

    return Handler


@pytest.fixture
def api():
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.port = server.server_address[1]
    yield api
    server.shutdown()
    server.server_close()
    thread.join(10)


def http_gateway(root: Path, port: int, *, url: str = "") -> None:
    url = url or f"http://127.0.0.1:{port}/send"
    add_gateway(
        root, f'[gateways.api]\ntype = "http"\nurl = "{url}"\ntoken_env = "PRESSDIST_TEST_TOKEN"\n'
    )


READERS = [f"reader{i}@example.org,Reader {i},{lang}" for i, lang in enumerate(["de", "en"])]


# A small SMTP server that misbehaves ------------------------------------------------


class ScriptedSmtp:
    """An SMTP server on 127.0.0.1 whose replies the test writes, byte for byte in UTF-8.

    ``auth`` answers AUTH PLAIN given its argument; ``rcpt`` answers RCPT TO given
    the address; ``queued`` is the reply to the end of the data.
    """

    def __init__(self) -> None:
        self.auth: Callable[[str], str] = lambda arg: "235 2.7.0 ok"
        self.rcpt: Callable[[str], str] = lambda address: "250 2.1.5 ok"
        self.queued = "250 2.0.0 queued"
        self.offers_auth = False
        self.received: list[str] = []  # the recipients of mails that arrived
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        def say(*lines: str) -> None:
            writer.write("".join(f"{line}\r\n" for line in lines).encode("utf-8"))

        say("220 scripted ESMTP")
        recipient = ""
        try:
            while line := (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n"):
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    say(*(["250-scripted"] + ["250-AUTH PLAIN"] * self.offers_auth), "250 8BITMIME")
                elif verb == "AUTH":
                    say(self.auth(line.split(" ", 2)[-1]))
                elif verb == "MAIL":
                    say("250 2.1.0 ok")
                elif verb == "RCPT":
                    recipient = line.partition("<")[2].rstrip(">")
                    say(self.rcpt(recipient))
                elif verb == "DATA":
                    say("354 go on")
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    self.received.append(recipient)
                    say(self.queued)
                elif verb == "QUIT":
                    say("221 bye")
                    break
                else:
                    say("250 ok")
                await writer.drain()
        finally:
            writer.close()

    def __enter__(self) -> ScriptedSmtp:
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._session, "127.0.0.1", 0), self.loop
        )
        self.server = started.result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def smtp_gateway(root: Path, port: int, extra: str = "") -> None:
    add_gateway(
        root,
        f'[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        f'security = "none"\nconnections = 1\n{extra}',
    )


# 7. Secrets never leak ---------------------------------------------------------------


def test_a_500_echoing_the_authorization_header_leaves_the_token_nowhere(
    cli, example_workspace, api, tmp_path
):
    root = example_workspace
    http_gateway(root, api.port)
    add_list(root, READERS)
    api.answer = lambda auth: (500, {"message": f"upstream rejected header Authorization: {auth}"})
    result = send(cli, root, "api", {"PRESSDIST_TEST_TOKEN": TOKEN})
    assert result.code == 1, result.output
    assert ("POST", f"Bearer {TOKEN}") in api.requests  # the service did get it, and echoed it
    assert "Not delivered" in result.stdout and "Authorization: Bearer [REDACTED]" in result.stdout
    as_json = cli("log", RELEASE, "--json", cwd=root)
    rows = json.loads(as_json.stdout)
    assert {r["last_error"] for r in rows} == {
        "500 upstream rejected header Authorization: Bearer [REDACTED]"
    }
    table = cli("log", RELEASE, "--failed", cwd=root)
    cli("log", RELEASE, "--csv", tmp_path / "log.csv", cwd=root)
    csv_text = (tmp_path / "log.csv").read_text(encoding="utf-8-sig")
    assert leaked(TOKEN, result.output, as_json.output, table.output, csv_text) == []
    assert leaked(TOKEN, journal_bytes(root)) == []


def test_a_token_file_ending_in_a_newline_is_used_as_the_token_without_it(
    cli, example_workspace, api
):
    http_gateway(example_workspace, api.port)
    add_list(example_workspace, READERS)
    result = send(cli, example_workspace, "api", {"PRESSDIST_TEST_TOKEN": TOKEN + "\n"})
    assert result.code == 0, result.output
    assert api.requests.count(("POST", f"Bearer {TOKEN}")) == len(READERS)


@pytest.mark.parametrize("value", [TOKEN + "\r\nX-Injected: 1", TOKEN + "\n\n", "\n" + TOKEN])
def test_a_token_with_a_line_break_inside_is_refused_naming_only_the_variable(
    cli, example_workspace, api, value
):
    http_gateway(example_workspace, api.port)
    add_list(example_workspace, READERS)
    result = send(cli, example_workspace, "api", {"PRESSDIST_TEST_TOKEN": value})
    assert result.code == 2, result.output
    assert "PRESSDIST_TEST_TOKEN" in result.stderr and "pressdist.toml:" in result.stderr
    assert "line break" in result.stderr and "Traceback" not in result.output
    assert leaked(TOKEN, result.output) == [] and "tok-" not in result.output
    assert api.requests == []


def test_a_535_echoing_the_auth_plain_string_does_not_print_the_password(cli, example_workspace):
    with ScriptedSmtp() as server:
        server.offers_auth = True
        server.auth = lambda arg: f"535 5.7.8 Authentication failed for {arg} ({PASSWORD})"
        smtp_gateway(
            example_workspace,
            server.port,
            'username = "presse"\npassword_env = "PRESSDIST_TEST_SMTP_PASSWORD"\n',
        )
        add_list(example_workspace, READERS)
        result = send(cli, example_workspace, "office", {"PRESSDIST_TEST_SMTP_PASSWORD": PASSWORD})
    assert result.code == 3, result.output
    assert "login as 'presse' refused: 535 5.7.8 Authentication failed for" in result.stderr
    assert leaked(PASSWORD, result.output) == []
    assert "[REDACTED]" in result.stderr and server.received == []


def test_a_password_in_the_url_is_refused_without_being_repeated(cli, example_workspace, api):
    url = f"http://api:{PASSWORD}@127.0.0.1:{api.port}/send"
    http_gateway(example_workspace, api.port, url=url)
    add_list(example_workspace, READERS)
    result = send(cli, example_workspace, "api", {"PRESSDIST_TEST_TOKEN": TOKEN})
    assert result.code == 2, result.output
    assert "'gateways.api.url' holds a password" in result.stderr
    assert PASSWORD not in result.output and api.requests == []


def test_a_password_in_the_smtp_host_is_refused_without_being_repeated(cli, example_workspace):
    add_gateway(
        example_workspace,
        f'[gateways.office]\ntype = "smtp"\nhost = "presse:{PASSWORD}@127.0.0.1"\n'
        'security = "none"\n',
    )
    add_list(example_workspace, READERS)
    result = send(cli, example_workspace, "office")
    assert result.code == 2, result.output
    assert "'gateways.office.host' must be a host name" in result.stderr
    assert PASSWORD not in result.output


@pytest.mark.parametrize("pasted", ["Sommer2024", "Sommer 2024!", PASSWORD])
def test_a_password_pasted_into_password_env_is_never_echoed(cli, example_workspace, pasted):
    with ScriptedSmtp() as server:
        smtp_gateway(
            example_workspace, server.port, f'username = "presse"\npassword_env = "{pasted}"\n'
        )
        add_list(example_workspace, READERS)
        result = send(cli, example_workspace, "office")
    assert result.code == 2, result.output
    assert "gateways.office.password_env" in result.stderr
    assert pasted not in result.output and "Traceback" not in result.output


# 8. Hostile text is shown, never obeyed ------------------------------------------------


def test_escape_sequences_in_smtp_replies_reach_neither_the_screen_nor_the_log(
    cli, example_workspace, tmp_path
):
    root = example_workspace
    with ScriptedSmtp() as server:
        server.rcpt = lambda a: f"550 5.1.1 {ESCAPES} no such user" if "0@" in a else "250 ok"
        server.queued = f"250 2.0.0 {ESCAPES} queued"
        smtp_gateway(root, server.port)
        add_list(root, READERS)
        result = send(cli, root, "office")
    assert result.code == 1, result.output
    assert server.received == ["reader1@example.org"]
    assert obeyed(result.output) == []
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe no such user" in result.stdout
    shown = cli("log", RELEASE, cwd=root)
    assert obeyed(shown.output) == [] and "\\x1b]0;owned" in shown.stdout
    as_json = cli("log", RELEASE, "--json", cwd=root)
    assert obeyed(as_json.stdout) == [] and "\\u001b]0;owned\\u0007" in as_json.stdout
    errors = {r["address"]: r["last_error"] for r in json.loads(as_json.stdout)}
    assert errors["reader0@example.org"] == f"RCPT TO: 550 5.1.1 {ESCAPES} no such user"
    assert errors["reader1@example.org"] == f"250 2.0.0 {ESCAPES} queued"  # the data is kept
    cli("log", RELEASE, "--csv", tmp_path / "log.csv", cwd=root)
    assert obeyed((tmp_path / "log.csv").read_text(encoding="utf-8-sig")) == []


def test_escape_sequences_in_an_api_message_reach_neither_the_screen_nor_the_log(
    cli, example_workspace, api
):
    http_gateway(example_workspace, api.port)
    add_list(example_workspace, READERS)
    api.answer = lambda auth: (400, {"message": f"{ESCAPES} refused"})
    result = send(cli, example_workspace, "api", {"PRESSDIST_TEST_TOKEN": TOKEN})
    assert result.code == 1, result.output
    assert obeyed(result.output) == [] and "\\u202egnp.exe refused" in result.stdout
    shown = cli("log", RELEASE, "--failed", cwd=example_workspace)
    assert obeyed(shown.output) == [] and "\\x1b[2J" in shown.stdout


HOSTILE_ROWS = [
    f"anna@example.org,Anna {ESCAPES},de",
    "bob@example.org,Bob \u202eresu\u202c \u2066Müller\u2069,en",
    "carl@example.org," + "Carl" * 25_000 + ",de",
]


def test_names_in_recipients_show_and_check_are_shown_not_obeyed(cli, example_workspace):
    add_list(example_workspace, HOSTILE_ROWS)
    shown = cli("recipients", "show", LIST, cwd=example_workspace)
    assert shown.code == 0, shown.output
    assert obeyed(shown.output) == []
    assert "\\u202eresu\\u202c" in shown.stdout
    checked = cli("recipients", "check", LIST, cwd=example_workspace)
    assert checked.code == 1 and obeyed(checked.output) == []
    warnings = [line for line in checked.stderr.splitlines() if "warning:" in line]
    assert [line.split(":")[1] for line in warnings] == ["2", "3", "4"]
    assert "the name is 100,000 characters long; the To line shows the first 200" in warnings[2]


def test_hostile_names_reach_the_to_line_without_overrides_and_cut(cli, example_workspace):
    sink = Sink()
    with SmtpServer(sink) as server:
        smtp_gateway(example_workspace, server.port)
        add_list(example_workspace, HOSTILE_ROWS)
        result = send(cli, example_workspace, "office")
    assert result.code == 0, result.output
    assert sorted(sink.received()) == ["anna@example.org", "bob@example.org", "carl@example.org"]
    names = {}
    for (rcpt,), raw in sink.messages:
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) < 998 and len(head) < 3000
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["To"].addresses[0].addr_spec == rcpt
        names[rcpt] = to_name(head)
    assert all(len(name) <= 200 and obeyed(name) == [] for name in names.values())
    assert names["bob@example.org"] == "Bob resu Müller"
    assert names["carl@example.org"] == ("Carl" * 50)[:199] + "…"


def to_name(head: bytes) -> str:
    """The display name of To as RFC 2047 reads it (no space between encoded-words)."""
    from email.header import decode_header, make_header

    unfolded = head.decode("ascii").replace("\r\n ", " ")
    value = re.search(r"(?m)^To: (.*)$", unfolded).group(1)
    return str(make_header(decode_header(value.rpartition(" <")[0])))


def test_a_quoted_local_part_is_refused_by_check_as_send_would(cli, example_workspace):
    add_list(example_workspace, ['"""odd name""@example.org",Odd,de', "ok@example.org,Ok,de"])
    checked = cli("recipients", "check", LIST, cwd=example_workspace)
    assert checked.code == 1
    assert re.search(r"hostile\.csv:2: error: invalid address: .*quoted mailbox", checked.stderr)


def test_a_list_whose_header_has_a_200_kb_field_is_a_finding_not_a_traceback(
    cli, example_workspace
):
    path = example_workspace / "recipients" / f"{LIST}.csv"
    path.write_text("email,name," + "x" * 200_000 + "\nok@example.org,Ok\n", encoding="utf-8")
    checked = cli("recipients", "check", LIST, cwd=example_workspace)
    assert checked.code == 1 and "Traceback" not in checked.output
    assert "hostile.csv:1: error: a field longer than 131,072 characters" in checked.stderr


@pytest.mark.parametrize(
    ("setting", "value"),
    [("sender", "pressestelle@example.org, b@evil.example"),
     ("reply_to", "redaktion@example.org, b@evil.example")],
)  # fmt: skip
def test_a_sender_or_reply_to_of_two_addresses_is_refused_before_sending(
    cli, example_workspace, setting, value
):
    cfg = example_workspace / "pressdist.toml"
    text = re.sub(rf'(?m)^{setting} = ".*"$', f'{setting} = "{value}"', cfg.read_text("utf-8"))
    cfg.write_text(text, encoding="utf-8")
    add_list(example_workspace, READERS)
    result = cli("send", RELEASE, "--list", LIST, "--dry-run", cwd=example_workspace)
    assert result.code == 2, result.output
    assert "holds 2 addresses; it must be one" in result.stderr
    assert not list((example_workspace / "outbox").glob("*/*"))
