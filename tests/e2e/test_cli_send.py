"""`pressdist recipients`, `send` and `log` as a user runs them, with the maildir gateway."""

from __future__ import annotations

import contextlib
import csv
import email
import email.policy
import json
import mailbox
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.sending.log import csv_safe

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


def test_a_utf8_mailbox_name_is_delivered_to_the_maildir(cli, example_workspace):
    path = example_workspace / "recipients" / "presse.csv"
    with path.open("a", encoding="utf-8") as f:
        f.write("müller@example.org,Jörg Müller,de,Rheinzeitung,\n")
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 0, result.output
    box = mailbox.Maildir(example_workspace / "outbox", factory=None, create=False)
    raws = [box.get_bytes(k) for k in box.iterkeys()]
    found = [
        email.message_from_string(raw.decode("utf-8"), policy=email.policy.SMTPUTF8)
        for raw in raws
        if "müller".encode() in raw
    ]
    assert [m["To"].addresses[0].addr_spec for m in found] == ["müller@example.org"]
    rows = json.loads(cli("log", RELEASE, "--json", cwd=example_workspace).stdout)
    assert {r["state"] for r in rows} == {"sent"}


def test_a_quoted_mailbox_name_is_refused_by_the_list_check_before_anything_is_sent(
    cli, example_workspace
):
    # Valid in RFC 5322, but no header of pressdist's can carry it: the list's
    # check says so, rather than the send failing that recipient.
    path = example_workspace / "recipients" / "presse.csv"
    with path.open("a", encoding="utf-8") as f:
        f.write('"""a b""@example.org",Quoted,de,,\n')
    line = len(path.read_text(encoding="utf-8").splitlines())
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2, result.output
    assert f"presse.csv:{line}: error: invalid address" in result.stderr
    assert "quoted mailbox name" in result.stderr
    assert not (example_workspace / ".pressdist" / "journal.sqlite3").exists()


def journal_rows(root: Path) -> list[tuple]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(root / ".pressdist" / "journal.sqlite3")) as db:
        return (
            db.execute("SELECT * FROM runs").fetchall()
            + db.execute("SELECT * FROM deliveries ORDER BY recipient").fetchall()
        )


def test_dry_run_after_a_send_renders_only_whom_the_real_run_would_send_and_writes_nothing(
    cli, example_workspace
):
    assert cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace).code == 0
    before = journal_rows(example_workspace)
    both = ("--list", "presse", "--list", "partnerstaedte")
    dry = cli("send", RELEASE, *both, "--dry-run", cwd=example_workspace)
    no_traceback(dry)
    assert dry.code == 0, dry.output
    total = re.search(r"^│ total\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", dry.stdout, re.M)
    assert total, dry.stdout
    _recipients, to_send, already = map(int, total.groups())
    assert already == len(before) - 1 > 0  # every delivery of the first run, not its run row
    assert f"Dry run: {to_send} mails rendered" in dry.stdout
    assert journal_rows(example_workspace) == before
    real = cli("send", RELEASE, *both, "--yes", cwd=example_workspace)
    assert real.code == 0, real.output
    assert re.search(rf"^{to_send} sent in", real.stdout, re.M), real.stdout


@pytest.mark.parametrize("sent_before", [False, True])
def test_log_of_an_unknown_release_is_an_error_naming_it_and_the_known_ones(
    cli, example_workspace, sent_before
):
    if sent_before:
        assert cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace).code == 0
    for args in ([], ["--json"], ["--failed"]):
        result = cli("log", "2019-11-04-isa-foshn", *args, cwd=example_workspace)
        no_traceback(result)
        assert result.code == 2, result.output
        assert "2019-11-04-isa-foshn" in result.stderr
        assert RELEASE in result.stderr  # the hint names the releases there are
        assert result.stdout == ""


def test_log_keeps_the_deliveries_of_a_release_deleted_after_sending(cli, example_workspace):
    assert cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace).code == 0
    (example_workspace / "releases" / f"{RELEASE}.md").unlink()
    result = cli("log", RELEASE, "--json", cwd=example_workspace)
    assert result.code == 0, result.output
    assert {r["state"] for r in json.loads(result.stdout)} == {"sent"}


@pytest.mark.parametrize("sent_before", [False, True])
def test_log_csv_with_nothing_to_write_says_so(cli, example_workspace, sent_before):
    if sent_before:
        assert cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace).code == 0
    out = example_workspace / "failed.csv"
    result = cli("log", RELEASE, "--failed", "--csv", out, cwd=example_workspace)
    no_traceback(result)
    assert result.code == 0, result.output
    said = " ".join(result.stderr.split())
    assert ("No deliveries recorded" if sent_before else "Nothing sent yet") in said
    assert "column names only" in said and out.name in said
    with out.open(encoding="utf-8-sig", newline="") as f:
        (header,) = list(csv.reader(f))
    assert header[:4] == ["release_id", "revision", "language", "address"]


def test_an_invalid_test_address_is_refused_before_anything_is_announced(cli, example_workspace):
    result = cli("send", RELEASE, "--to", "x[/x]@example.org", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2
    assert "--to" in result.stderr and "x[/x]@example.org" in result.stderr
    assert "Test copy" not in result.output
    assert not (example_workspace / "outbox").exists()


def set_sender(root: Path, toml_value: str) -> int:
    """Replace the sender line of pressdist.toml; returns its line number."""
    cfg = root / "pressdist.toml"
    lines = cfg.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("sender ="))
    lines[index] = f"sender = {toml_value}"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index + 1


@pytest.mark.parametrize("args", [["--list", "presse", "--yes"], ["--to", "me@example.org"]])
def test_a_sender_with_a_line_break_is_refused_naming_pressdist_toml(cli, example_workspace, args):
    line = set_sender(example_workspace, '"presse@example.org\\r\\nBcc: all@example.net"')
    result = cli("send", RELEASE, *args, cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2, result.output
    assert f"pressdist.toml:{line}" in result.stderr and "line break" in result.stderr
    assert not (example_workspace / "outbox").exists()


def test_a_sender_name_with_brackets_is_refused_saying_to_quote_it(cli, example_workspace):
    line = set_sender(example_workspace, '"Presse [Mainz] <presse@example.org>"')
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2, result.output
    said = " ".join(result.stderr.split())
    assert f"pressdist.toml:{line}" in said and "quote" in said
    assert """'"Presse [Mainz]" <presse@example.org>'""" in said
    assert not (example_workspace / "outbox").exists()
    set_sender(example_workspace, """'"Presse [Mainz]" <presse@example.org>'""")
    quoted = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert quoted.code == 0, quoted.output
    assert {m["From"].addresses[0].display_name for m in mails(example_workspace)} == {
        "Presse [Mainz]"
    }


def test_send_settings_out_of_range_are_refused_naming_key_and_line(cli, example_workspace):
    cfg = example_workspace / "pressdist.toml"
    text = cfg.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^max_attempts = .*$", "", text)
    cfg.write_text(text.replace("[send]\n", "[send]\nmax_attempts = 0\n", 1), encoding="utf-8")
    line = cfg.read_text(encoding="utf-8").splitlines().index("max_attempts = 0") + 1
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    no_traceback(result)
    assert result.code == 2
    assert f"pressdist.toml:{line}" in result.stderr and "send.max_attempts" in result.stderr
    assert not (example_workspace / "outbox").exists()


def test_an_excel_list_with_line_breaks_in_cells_is_checked_and_sent_clean(cli, example_workspace):
    path = example_workspace / "recipients" / "excel.csv"
    path.write_bytes(
        (
            "E-Mail;Name;Sprache;Medium;Anrede\r\n"
            'joerg@example.org;"Jörg\nWeiß";de;"Zeitung\nRedaktion";"Sehr geehrter\nHerr Weiß"\r\n'
            "li@example.org;Li Wei;zh_CN;Xinhua;\r\n"
        ).encode("cp1252", "replace")
    )
    check = cli("recipients", "check", "excel", cwd=example_workspace)
    no_traceback(check)
    assert check.code == 0, check.output
    assert "2 recipients" in check.stdout
    result = cli("send", RELEASE, "--list", "excel", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    joerg = next(m for m in mails(example_workspace) if "joerg" in str(m["To"]))
    assert joerg["To"].addresses[0].display_name == "Jörg Weiß"
    assert "Sehr geehrter Herr Weiß" in joerg.get_body(("plain",)).get_content()


# A damaged journal --------------------------------------------------------------------


def _sent_once(cli, root):  # type: ignore[no-untyped-def]
    first = cli("send", "2019-11-04-isa-foshan", "--list", "presse", "--yes", cwd=root)
    assert first.code == 0, first.output
    return root / ".pressdist" / "journal.sqlite3"


def _damage_a_page(path):  # type: ignore[no-untyped-def]
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = bytes((i * 131 + 7) % 256 for i in range(page))
    path.write_bytes(bytes(data))


def _drop_deliveries(path):  # type: ignore[no-untyped-def]
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DROP TABLE deliveries")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda path: path.write_bytes(b""), "is empty, but this workspace has sent before"),
        (lambda path: path.unlink(), "is missing, but this workspace has sent before"),
        (_damage_a_page, "damaged"),
        (_drop_deliveries, "table deliveries is gone"),
    ],
    ids=["truncated", "deleted", "random page", "dropped table"],
)
def test_a_damaged_journal_is_refused_and_nobody_is_mailed_again(
    cli, example_workspace, damage, words
):
    journal = _sent_once(cli, example_workspace)
    outbox = example_workspace / "outbox" / "new"
    before = sorted(outbox.iterdir())
    # Checkpointed first: the damage must hit the file itself, not a WAL beside it.
    import sqlite3

    db = sqlite3.connect(journal)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    damage(journal)
    for args in (("--dry-run",), ("--yes",)):
        again = cli(
            "send", "2019-11-04-isa-foshan", "--list", "presse", *args, cwd=example_workspace
        )
        assert again.code == 2, again.output
        assert words in again.stderr and "Traceback" not in again.output
        assert "backup" in again.stderr
    log = cli("log", cwd=example_workspace)
    assert log.code == 2 and "Traceback" not in log.output
    assert sorted(outbox.iterdir()) == before


def test_a_journal_lost_for_good_can_be_let_go_by_deleting_its_marker(cli, example_workspace):
    journal = _sent_once(cli, example_workspace)
    for path in journal.parent.glob("journal.sqlite3*"):
        path.unlink()
    refused = cli(
        "send", "2019-11-04-isa-foshan", "--list", "presse", "--yes", cwd=example_workspace
    )
    assert refused.code == 2
    (journal.parent / "journal.expected").unlink()
    again = cli("send", "2019-11-04-isa-foshan", "--list", "presse", "--yes", cwd=example_workspace)
    assert again.code == 0, again.output
