"""`pressdist recipients`, `send` and `log` as a user runs them, with the maildir gateway."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import mailbox
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.cli.sending import csv_safe

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"


def mails(root: Path):
    box = mailbox.Maildir(root / "outbox", factory=None, create=False)
    return [
        email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
        for k in box.iterkeys()
    ]


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output


def test_main_job_fills_the_outbox_with_german_english_and_chinese_mails(cli, example_workspace):
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 0, result.output
    found = mails(example_workspace)
    assert {m["Content-Language"] for m in found} == {"de", "en", "zh-CN"}
    addresses = [m["To"].addresses[0].addr_spec for m in found]
    assert len(addresses) == len(set(addresses)) > 0
    assert "Sent" in result.stdout


def test_second_send_says_nothing_to_send_and_adds_no_mail(cli, example_workspace):
    cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    before = len(mails(example_workspace))
    again = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert again.code == 0
    assert "Nothing to send" in again.stdout
    assert len(mails(example_workspace)) == before


def test_two_lists_with_a_shared_address_mail_it_once(cli, example_workspace):
    shared = "anna.becker@example.org"
    with (example_workspace / "recipients" / "partnerstaedte.csv").open("a", encoding="utf-8") as f:
        f.write(f"{shared.upper()};Anna Becker;de;Allgemeine Zeitung\n")
    result = cli(
        "send",
        RELEASE,
        "--list",
        "presse",
        "--list",
        "partnerstaedte",
        "--yes",
        cwd=example_workspace,
    )
    assert result.code == 0, result.output
    counts = Counter(m["To"].addresses[0].addr_spec.lower() for m in mails(example_workspace))
    assert counts[shared] == 1
    assert set(counts.values()) == {1}


def test_without_a_terminal_and_without_yes_send_refuses_before_sending(cli, example_workspace):
    result = cli("send", RELEASE, "--list", "presse", cwd=example_workspace)
    no_traceback(result)
    assert result.code != 0
    assert "--yes" in result.output
    assert not (example_workspace / "outbox").exists()


def test_dry_run_shows_the_plan_and_sends_nothing(cli, example_workspace):
    result = cli("send", RELEASE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Dry run" in result.stdout
    assert "zh_CN" in result.stdout
    assert not (example_workspace / "outbox").exists()
    assert not (example_workspace / ".pressdist" / "journal.sqlite3").exists()


def test_test_copy_sends_every_language_to_one_address_only(cli, example_workspace):
    result = cli("send", RELEASE, "--to", "me@example.org", cwd=example_workspace)
    assert result.code == 0, result.output
    found = mails(example_workspace)
    assert sorted(m["Content-Language"] for m in found) == ["de", "en", "zh-CN"]
    assert {m["To"].addresses[0].addr_spec for m in found} == {"me@example.org"}
    log = cli("log", "--json", cwd=example_workspace)
    assert json.loads(log.stdout) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("broken@,Kaputt,de,,", "invalid address"),
        ("x@example.org,X,klingon,,", "unknown language"),
        ('"open@example.org,Offen,de,,', "quote"),
        ("y@example.org,Y,de", "fields"),
    ],
)
def test_bad_rows_stop_send_before_anything_is_sent_naming_file_and_line(
    cli, example_workspace, row, message
):
    path = example_workspace / "recipients" / "presse.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, row]) + "\n", encoding="utf-8")
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2
    assert f"presse.csv:{len(lines) + 1}" in result.stderr
    assert message in result.stderr
    assert not (example_workspace / "outbox").exists()


def test_cp1252_list_is_sent_with_names_intact(cli, example_workspace):
    path = example_workspace / "recipients" / "excel.csv"
    path.write_bytes("E-Mail;Name;Sprache\r\njoerg@example.org;Jörg Weiß;de\r\n".encode("cp1252"))
    result = cli("send", RELEASE, "--list", "excel", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    (mail,) = mails(example_workspace)
    assert mail["To"].addresses[0].display_name == "Jörg Weiß"


def test_a_file_neither_utf8_nor_cp1252_is_refused(cli, example_workspace):
    (example_workspace / "recipients" / "bad.csv").write_bytes(
        b"email,name,language\na@example.org,\x81\x8d,de\n"
    )
    result = cli("send", RELEASE, "--list", "bad", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2
    assert "bad.csv:2" in result.stderr


def test_unknown_list_names_the_lists_there_are(cli, example_workspace):
    result = cli("send", RELEASE, "--list", "presse-alt", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2
    assert "partnerstaedte" in result.stderr


def test_recipients_check_reports_rows_and_counts_languages(cli, example_workspace):
    ok = cli("recipients", "check", "presse", "partnerstaedte", cwd=example_workspace)
    no_traceback(ok)
    assert ok.code == 0, ok.output
    assert "zh_CN" in ok.stdout and "fallback" in ok.stdout
    path = example_workspace / "recipients" / "presse.csv"
    first = path.read_text(encoding="utf-8").splitlines()[1]
    with path.open("a", encoding="utf-8") as f:
        f.write(first + "\n")
    dup = cli("recipients", "check", "presse", cwd=example_workspace)
    assert dup.code == 1
    assert "already on line 2" in dup.stderr


def test_recipients_show_lists_each_recipient_with_the_language_they_get(cli, example_workspace):
    result = cli("recipients", "show", "partnerstaedte", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "waishi@guiyang.example.com" in result.stdout
    assert "zh_CN" in result.stdout


def test_log_shows_deliveries_as_table_json_and_formula_safe_csv(cli, example_workspace):
    path = example_workspace / "recipients" / "presse.csv"
    with path.open("a", encoding="utf-8") as f:
        f.write('evil@example.org,"=HYPERLINK(""http://x"")",de,@SUM(1),\n')
    assert cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace).code == 0
    table = cli("log", RELEASE, cwd=example_workspace)
    assert table.code == 0 and "evil@example.org" in table.stdout
    runs = cli("log", cwd=example_workspace)
    assert RELEASE[:7] in runs.stdout
    rows = json.loads(cli("log", RELEASE, "--json", cwd=example_workspace).stdout)
    assert {r["state"] for r in rows} == {"sent"}
    evil = next(r for r in rows if r["address"] == "evil@example.org")
    assert evil["language"] == "de"
    out = example_workspace / "log.csv"
    assert cli("log", RELEASE, "--csv", out, cwd=example_workspace).code == 0
    with out.open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == len(rows)
    name = next(r["name"] for r in records if r["address"] == "evil@example.org")
    assert name == '\'=HYPERLINK("http://x")'
    failed = cli("log", RELEASE, "--failed", cwd=example_workspace)
    assert failed.code == 0 and "No deliveries" in failed.stdout


def test_log_before_any_send_says_so(cli, example_workspace):
    result = cli("log", cwd=example_workspace)
    assert result.code == 0
    assert "Nothing sent yet" in result.stdout


@given(st.text(max_size=20))
def test_csv_cells_never_start_like_a_formula(value):
    cell = csv_safe(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.endswith(value) and len(cell) - len(value) in (0, 1)


def test_a_duplicate_row_is_named_before_sending_and_mailed_once(cli, example_workspace):
    path = example_workspace / "recipients" / "presse.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    address = lines[1].split(",")[0]
    path.write_text("\n".join([*lines, lines[1].upper()]) + "\n", encoding="utf-8")
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    assert f"presse.csv:{len(lines) + 1}" in result.stderr
    assert "already on line 2" in result.stderr
    sent_to = [m["To"].addresses[0].addr_spec.lower() for m in mails(example_workspace)]
    assert sent_to.count(address.lower()) == 1


def test_a_language_that_is_not_ready_stops_send_naming_what_to_fix(cli, example_workspace):
    import polib

    path = example_workspace / "translations" / "zh_CN" / f"{RELEASE}.po"
    po = polib.pofile(str(path))
    next(e for e in po if e.msgstr and not e.obsolete).msgstr = ""
    po.save(str(path))
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 1
    assert "zh_CN" in result.stderr and "--allow-fallback" in result.stderr
    assert not (example_workspace / "outbox").exists()
    fallback = cli(
        "send", RELEASE, "--list", "presse", "--allow-fallback", "--yes", cwd=example_workspace
    )
    assert fallback.code == 0, fallback.output
    assert {m["Content-Language"] for m in mails(example_workspace)} == {"de", "en"}
