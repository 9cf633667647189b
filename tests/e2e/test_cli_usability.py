"""The commands as people use them in an ordinary 80-column terminal.

Each test here comes from walking the README with a press officer's and a
translator's eyes: ids, file:line and messages must come out whole and legible,
and every error must say what to do next.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polib
import pytest

from pressdist.workspace import Workspace
from tests.conftest import FIXTURE_RELEASE

EXAMPLE = "2019-11-04-isa-foshan"
NARROW = {"COLUMNS": "80"}


def alter(path: Path, old: str, new: str) -> int:
    """Change text in the one msgstr that contains it; return the entry's line."""
    po = polib.pofile(str(path))
    [entry] = [e for e in po if old in e.msgstr]
    entry.msgstr = entry.msgstr.replace(old, new)
    po.save()
    return next(e.linenum for e in polib.pofile(str(path)) if new in e.msgstr)


def test_check_in_a_narrow_terminal_prints_each_finding_whole_on_one_line(example_workspace, cli):
    po = example_workspace / "translations" / "zh_CN" / f"{EXAMPLE}.po"
    line = alter(po, "44.3%", "44.8%")
    result = cli("check", EXAMPLE, cwd=example_workspace, env=NARROW)
    assert result.code == 1
    [finding] = [
        row for row in result.stdout.splitlines() if row.startswith(f"translations/zh_CN/{EXAMPLE}")
    ]
    assert finding.startswith(f"translations/zh_CN/{EXAMPLE}.po:{line}: error: ")
    assert "number 44,3 of the source is missing or changed" in finding
    assert finding.endswith("[numbers]")
    assert "Traceback" not in result.output


def test_log_in_a_narrow_terminal_shows_every_address_and_release_id_whole(example_workspace, cli):
    sent = cli("send", EXAMPLE, "--list", "presse", "--yes", cwd=example_workspace)
    assert sent.code == 0, sent.output
    rows = json.loads(cli("log", EXAMPLE, "--json", cwd=example_workspace).stdout)
    assert rows
    deliveries = cli("log", EXAMPLE, cwd=example_workspace, env=NARROW)
    runs = cli("log", cwd=example_workspace, env=NARROW)
    for result in (deliveries, runs):
        assert result.code == 0, result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= 80
        assert "…" not in result.stdout
    for row in rows:
        assert row["address"] in deliveries.stdout
    assert EXAMPLE in runs.stdout
    assert "--json" in deliveries.stdout  # says where the left-out fields are


def test_log_shows_times_on_the_readers_clock_one_line_each(example_workspace, cli):
    import datetime as dt

    sent = cli("send", EXAMPLE, "--list", "presse", "--yes", cwd=example_workspace)
    assert sent.code == 0, sent.output
    rows = json.loads(cli("log", EXAMPLE, "--json", cwd=example_workspace).stdout)
    utc = dt.datetime.fromisoformat(rows[0]["sent_at"].replace("Z", "+00:00"))
    shanghai = (utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    result = cli("log", EXAMPLE, cwd=example_workspace, env={**NARROW, "TZ": "Asia/Shanghai"})
    assert result.code == 0, result.output
    line = next(row for row in result.stdout.splitlines() if rows[0]["address"] in row)
    assert shanghai in line
    runs = cli("log", cwd=example_workspace, env={**NARROW, "TZ": "Asia/Shanghai"})
    assert (utc + dt.timedelta(hours=8)).strftime("%Y-%m-%d") in runs.stdout
    assert "UTC" not in result.stdout + runs.stdout


def test_the_dry_run_table_says_would_send(example_workspace, cli):
    result = cli("send", EXAMPLE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Would send" in result.stdout
    assert "│ Sent" not in result.stdout and "┃ Sent" not in result.stdout


def test_status_and_releases_in_a_narrow_terminal_keep_ids_and_words_whole(example_workspace, cli):
    ids = sorted(p.stem for p in (example_workspace / "releases").glob("*.md"))
    assert "2019-12-09-isa-besuch-foshan" in ids
    status = cli("status", cwd=example_workspace, env=NARROW)
    releases = cli("releases", cwd=example_workspace, env=NARROW)
    for result in (status, releases):
        assert result.code == 0, result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= 80
        for release_id in ids:
            assert release_id in result.stdout
    # The long German compound wraps as a whole word, not as "…allian / z".
    assert "Industriestädteallianz" in releases.stdout


def test_a_release_date_with_a_time_is_refused_in_plain_words(example_workspace, cli):
    path = example_workspace / "releases" / f"{EXAMPLE}.md"
    text = path.read_text("utf-8")
    line = text.splitlines().index("date = 2019-11-04") + 1
    path.write_text(text.replace("date = 2019-11-04", "date = 2019-11-04T10:00:00"), "utf-8")
    result = cli("check", EXAMPLE, cwd=example_workspace)
    assert result.code == 2
    assert f"{EXAMPLE}.md:{line}: 'date' must be a day like 2019-11-04" in result.stderr
    assert "2019-11-04T10:00:00" in result.stderr
    assert "datetime" not in result.output  # no Python repr for a press officer
    assert "embargo" in result.stderr  # where a time belongs
    assert "Traceback" not in result.output


def test_an_unknown_release_names_the_releases_there_are(example_workspace, cli):
    for args in (
        ("check", "2019-11-04-isa-fosham"),
        ("preview", "2019-11-04-isa-fosham"),
        ("send", "2019-11-04-isa-fosham", "--list", "presse", "--yes"),
    ):
        result = cli(*args, cwd=example_workspace)
        assert result.code == 2, args
        assert "release not found" in result.stderr
        assert f"hint: known: {EXAMPLE}, 2019-12-09-isa-besuch-foshan" in result.stderr
        assert "Traceback" not in result.output
    assert not (example_workspace / "outbox").exists()


def test_a_broken_catalog_gets_a_hint_that_can_work(example_workspace, cli):
    po = example_workspace / "translations" / "zh_CN" / f"{EXAMPLE}.po"
    good = po.read_bytes()
    po.write_bytes(good.replace(b'msgstr "', b"msgstr ", 1))  # quote lost in an editor
    broken = cli("extract", EXAMPLE, "--lang", "zh_CN", cwd=example_workspace)
    assert broken.code == 2
    assert "syntax error" in broken.stderr and "hint: fix that line" in broken.stderr
    assert "re-run" not in broken.stderr  # extract stops at that very line
    po.write_bytes(b"\x00\x01\x02" + good)  # e.g. a .mo saved under the .po's name
    binary = cli("check", EXAMPLE, cwd=example_workspace)
    assert binary.code == 2
    assert f"{EXAMPLE}.po: catalog looks binary" in binary.stderr
    assert ".pdf" not in binary.stderr
    assert "Traceback" not in broken.output + binary.output


def test_recipients_check_counts_problems_in_proper_english(example_workspace, cli):
    (example_workspace / "recipients" / "kaputt.csv").write_text(
        "email,name,language\nnot-an-address,A,de\nb@example.org,B,de\nB@example.org,B,de\n",
        "utf-8",
    )
    result = cli("recipients", "check", "kaputt", cwd=example_workspace)
    assert result.code == 1
    assert "kaputt.csv:2: error: invalid address" in result.stderr
    assert "kaputt.csv:4: warning: B@example.org is already on line 3" in result.stderr
    assert "1 error, 1 warning: fix the rows above" in result.stderr


def test_preview_names_each_written_file_on_one_line(example_workspace, cli):
    result = cli("preview", EXAMPLE, cwd=example_workspace, env=NARROW)
    assert result.code == 0, result.output
    written = [line.removeprefix("wrote ") for line in result.stdout.splitlines()]
    assert len(written) == 4  # de, en, zh_CN and the side-by-side index
    for name in written:
        assert (example_workspace / name).is_file(), name


def test_a_dry_run_does_not_claim_to_have_sent(example_workspace, cli):
    result = cli("send", EXAMPLE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Dry run: 12 mails rendered, none handed to the gateway" in result.stdout
    assert " sent in " not in result.stdout
    assert not (example_workspace / "outbox").exists()


# A different permanent status for each recipient: the same one for all of them
# would be the service's answer to everyone, and stop the run (docs/sending.md).
_REFUSALS = [400, 404, 405, 406, 409, 410, 411, 412, 413, 414, 415, 422]


class Refusing(BaseHTTPRequestHandler):
    """A mail API on 127.0.0.1 that takes the token and refuses every message for good,
    each recipient with a status of their own."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        self._answer(204)

    def do_POST(self) -> None:
        to = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))["to"]
        seen = self.server.seen
        status = _REFUSALS[seen.setdefault(to, len(seen)) % len(_REFUSALS)]
        self._answer(status, b'{"message": "recipient mailbox does not exist here"}')


@pytest.fixture
def refusing_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    server.seen = {}  # recipient -> the order they first came in
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_failed_deliveries_in_a_narrow_terminal_show_each_address_and_why(
    example_workspace, cli, refusing_api
):
    cfg = example_workspace / "pressdist.toml"
    cfg.write_text(
        cfg.read_text("utf-8")
        + f'\n[gateways.api]\ntype = "http"\nurl = "http://127.0.0.1:{refusing_api}/send"\n'
        'token_env = "QA_API_TOKEN"\n',
        "utf-8",
    )
    env = {**NARROW, "QA_API_TOKEN": "tok-qa"}
    result = cli(
        "send",
        EXAMPLE,
        "--list",
        "presse",
        "--gateway",
        "api",
        "--yes",
        cwd=example_workspace,
        env=env,
    )
    assert result.code == 1
    assert "12 deliveries failed" in result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "…" not in result.stdout
    rows = json.loads(cli("log", EXAMPLE, "--json", cwd=example_workspace).stdout)
    assert len(rows) == 12 and {r["state"] for r in rows} == {"failed-permanent"}
    for row in rows:
        assert row["address"] in result.stdout
    assert "mailbox does not exist" in " ".join(result.stdout.split())
    assert "tok-qa" not in result.output


def test_a_truncated_pdf_gets_one_error_and_no_library_chatter(example_workspace, cli, tmp_path):
    pdf = tmp_path / "pm-kaputt.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n<<")  # a download cut short
    result = cli("import", pdf, cwd=example_workspace)
    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {pdf}: cannot read the PDF: Stream has ended unexpectedly",
        "hint: export the PDF again from the original, or import its text as .txt",
    ]
    assert not (example_workspace / "releases" / "pm-kaputt.md").exists()


def test_recipients_show_prints_names_as_written_and_addresses_whole(example_workspace, cli):
    (example_workspace / "recipients" / "online.csv").write_text(
        "email,name,language,organisation\n"
        "staedtepartnerschaft@erfurt.example.org,Katrin [/Vogel],de,Zeitung [Online]\n"
        "b@example.org,[bold]Bernd[/bold],en,X\n",
        "utf-8",
    )
    wide = cli("recipients", "show", "online", cwd=example_workspace)
    assert wide.code == 0, wide.output
    assert "Traceback" not in wide.output
    for text in ("Katrin [/Vogel]", "Zeitung [Online]", "[bold]Bernd[/bold]"):
        assert text in wide.stdout
    narrow = cli("recipients", "show", "online", cwd=example_workspace, env=NARROW)
    assert narrow.code == 0, narrow.output
    assert "staedtepartnerschaft@erfurt.example.org" in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert "Left out to fit the terminal: Organisation" in narrow.stdout


def test_memory_search_for_text_with_square_brackets_answers_plainly(example_workspace, cli):
    result = cli("memory", "search", "[/Anlage 1]", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "nothing in the memory contains or resembles '[/Anlage 1]'" in result.stdout
    assert "Traceback" not in result.output


def test_the_send_summary_shows_the_sender_exactly_as_configured(example_workspace, cli):
    cfg = example_workspace / "pressdist.toml"
    text = cfg.read_text("utf-8").replace(
        'sender = "pressestelle@example.org"',
        'sender = "\\"Presse [red]Mainz\\" <pressestelle@example.org>"',
    )
    cfg.write_text(text, "utf-8")
    result = cli("send", EXAMPLE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 0, result.output
    assert 'sender: "Presse [red]Mainz" <pressestelle@example.org>' in result.stdout


def test_init_writes_a_config_it_can_read_whatever_the_organisation_is_called(cli, tmp_path):
    name = 'Stadt "Am Fluss" \\ Pressestelle'
    result = cli(
        "init", "ws", "--organisation", name, "--sender", "presse@example.org", cwd=tmp_path
    )
    assert result.code == 0, result.output
    listed = cli("releases", cwd=tmp_path / "ws")
    assert listed.code == 0, listed.output
    assert Workspace.open(tmp_path / "ws").config.organisation == name


def test_help_names_what_each_option_wants_and_send_says_how_it_ends(cli, tmp_path):
    for command in ("init", "import", "check", "preview", "send"):
        result = cli(command, "--help", cwd=tmp_path)
        assert result.code == 0, result.output
        assert "<str>" not in result.stdout and "<path>" not in result.stdout, command
    send = " ".join(cli("send", "--help", cwd=tmp_path).stdout.split())
    assert "--list NAME" in send and "--gateway NAME" in send
    assert "asks before anything leaves" in send and "Safe to run again" in send
    assert "Exit status: 0 every mail accepted" in send
    assert "--sender ADDRESS" in cli("init", "--help", cwd=tmp_path).stdout


def test_import_names_the_new_release_file_in_one_piece(example_workspace, cli, tmp_path):
    source = tmp_path / "Übersicht.txt"  # no id in the name: one is made from date and title
    source.write_bytes(FIXTURE_RELEASE.read_bytes())
    result = cli("import", source, cwd=example_workspace, env=NARROW)
    assert result.code == 0, result.output
    [created] = [
        p for p in (example_workspace / "releases").glob("*.md") if "deutsch-chinesische" in p.name
    ]
    assert f"releases/{created.name}" in result.stdout
