"""`pressdist suppress` and `send` as a user runs them: the suppressed get no mail."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import mailbox
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
ANNA = "anna.becker@example.org"


def recipients_of(root: Path) -> list[str]:
    box = mailbox.Maildir(root / "outbox", factory=None, create=False)
    return [
        email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)["To"]
        .addresses[0]
        .addr_spec.lower()
        for k in box.iterkeys()
    ]


def presse(root: Path) -> list[str]:
    with (root / "recipients" / "presse.csv").open(encoding="utf-8") as fh:
        return [row["email"].lower() for row in csv.DictReader(fh)]


def suppressed_rows(root: Path) -> list[dict[str, str]]:
    with (root / "suppressed.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_suppressed_recipient_gets_no_mail_and_the_summary_says_so(cli, example_workspace):
    add = cli("suppress", "add", ANNA.upper(), "--reason", "unsubscribed", cwd=example_workspace)
    assert add.code == 0, add.output
    assert "Suppressed" in add.stdout
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    got = recipients_of(example_workspace)
    assert sorted(got) == sorted(a for a in presse(example_workspace) if a != ANNA)
    assert "1 suppressed (1 unsubscribed)" in result.stdout
    assert "Suppressed" in result.stdout  # the plan's column
    log = json.loads(cli("log", RELEASE, "--json", cwd=example_workspace).stdout)
    assert ANNA not in {d["address"].lower() for d in log}


def test_a_reimported_excel_list_in_other_case_keeps_them_suppressed(cli, example_workspace):
    cli("suppress", "add", ANNA, "--reason", "asked by phone", cwd=example_workspace)
    excel = (
        "E-Mail;Name;Sprache\r\n"
        "Anna.Becker@EXAMPLE.org;Anna Bäcker;de\r\n"
        "neu@example.org;Neu;en\r\n"
    )
    (example_workspace / "recipients" / "presse.csv").write_bytes(excel.encode("cp1252"))
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    assert recipients_of(example_workspace) == ["neu@example.org"]
    assert "1 suppressed (1 manual)" in result.stdout
    check = cli("recipients", "check", "presse", cwd=example_workspace)
    assert "presse.csv:2: suppressed: Anna.Becker@example.org (manual" in check.stdout
    show = cli("recipients", "show", "presse", cwd=example_workspace)
    assert "none: manual" in show.stdout and "1 of them suppressed" in show.stdout


def test_resend_still_skips_the_suppressed(cli, example_workspace):
    cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    first = len(recipients_of(example_workspace))
    cli("suppress", "add", ANNA, "--reason", "bounced", cwd=example_workspace)
    again = cli("send", RELEASE, "--list", "presse", "--resend", "--yes", cwd=example_workspace)
    assert again.code == 0, again.output
    got = recipients_of(example_workspace)
    assert len(got) == 2 * first - 1 and got.count(ANNA) == 1
    assert "1 suppressed (1 bounced)" in again.stdout


def test_dry_run_counts_the_suppressed_and_sends_nothing(cli, example_workspace):
    cli("suppress", "add", ANNA, "--reason", "complained", cwd=example_workspace)
    result = cli("send", RELEASE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "1 suppressed (1 complained)" in result.stdout
    assert not (example_workspace / "outbox").exists()


def test_remove_with_a_reason_brings_them_back_and_the_record_stays(cli, example_workspace):
    cli("suppress", "add", ANNA, "--reason", "unsubscribed", "--by", "Eva", cwd=example_workspace)
    back = cli(
        "suppress",
        "remove",
        ANNA,
        "--reason",
        "asked to be back on the list, mail of 3 May",
        "--by",
        "Eva",
        cwd=example_workspace,
    )
    assert back.code == 0, back.output
    rows = suppressed_rows(example_workspace)
    assert [r["reason"] for r in rows] == ["unsubscribed", "resubscribed"]
    assert rows[1]["note"] == "asked to be back on the list, mail of 3 May"
    assert rows[1]["source"] == "Eva"
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert ANNA in recipients_of(example_workspace)
    assert "suppressed" not in result.stdout
    listed = json.loads(cli("suppress", "list", "--json", cwd=example_workspace).stdout)
    assert listed == []
    history = json.loads(cli("suppress", "list", "--json", "--all", cwd=example_workspace).stdout)
    assert [r["reason"] for r in history] == ["unsubscribed", "resubscribed"]


def test_remove_without_a_reason_is_refused(cli, example_workspace):
    cli("suppress", "add", ANNA, "--reason", "unsubscribed", cwd=example_workspace)
    result = cli("suppress", "remove", ANNA, cwd=example_workspace)
    assert result.code == 2 and "--reason" in result.output


def test_suppress_list_shows_who_for_which_lists_and_why(cli, example_workspace):
    cli(
        "suppress",
        "add",
        ANNA,
        "--list",
        "presse",
        "--reason",
        "per Telefon",
        cwd=example_workspace,
    )
    table = cli("suppress", "list", cwd=example_workspace)
    assert table.code == 0, table.output
    assert ANNA in table.stdout and "presse" in table.stdout and "manual" in table.stdout
    assert "per Telefon" in table.stdout
    listed = json.loads(cli("suppress", "list", "--json", cwd=example_workspace).stdout)
    assert [(r["address"], r["scope"], r["reason"]) for r in listed] == [(ANNA, "presse", "manual")]
    again = cli("suppress", "add", ANNA, "--list", "presse", "--reason", "x", cwd=example_workspace)
    assert again.code == 0 and "already suppressed" in again.stdout
    assert len(suppressed_rows(example_workspace)) == 1


def test_a_malformed_address_is_one_error_and_nothing_is_written(cli, example_workspace):
    result = cli("suppress", "add", "anna(at)example.org", "--reason", "x", cwd=example_workspace)
    assert result.code == 2
    assert "invalid address" in result.stderr and "Traceback" not in result.output
    assert not (example_workspace / "suppressed.csv").exists()


def test_a_broken_suppression_file_stops_send_naming_its_line(cli, example_workspace):
    cli("suppress", "add", ANNA, "--reason", "unsubscribed", cwd=example_workspace)
    path = example_workspace / "suppressed.csv"
    path.write_text(path.read_text("utf-8").replace("unsubscribed", "weg"), encoding="utf-8")
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 2 and "Traceback" not in result.output
    assert "suppressed.csv:2" in result.stderr and "unknown reason" in result.stderr
    assert not (example_workspace / "outbox").exists()


def test_a_test_copy_goes_to_a_suppressed_address(cli, example_workspace):
    cli("suppress", "add", "me@example.org", "--reason", "manual", cwd=example_workspace)
    result = cli("send", RELEASE, "--to", "me@example.org", cwd=example_workspace)
    assert result.code == 0, result.output
    assert set(recipients_of(example_workspace)) == {"me@example.org"}
