"""`pressdist recipients forget`/`export` and `pressdist report` after a real maildir send."""

from __future__ import annotations

import email
import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
PERSON = "li.wei@example.com"


def journal_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (root / ".pressdist").glob("journal.sqlite3*"))


@pytest.fixture
def sent(cli, example_workspace: Path) -> Path:
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 0, result.output
    return example_workspace


def test_report_counts_per_language_after_a_maildir_send(cli, sent):
    result = cli("report", RELEASE, "--json", cwd=sent)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    got = {line["language"]: line["sent"] for line in data["lines"]}
    assert got == {"de": 5, "en": 4, "zh_CN": 3}
    assert data["failed"] == 0
    table = cli("report", RELEASE, cwd=sent)
    assert "zh_CN" in table.stdout and "Unsubscribed since" in table.stdout


def test_forget_erases_the_person_and_log_and_report_keep_their_counts(cli, sent):
    log_before = json.loads(cli("log", RELEASE, "--json", cwd=sent).stdout)
    original = (sent / "recipients" / "presse.csv").read_bytes()
    result = cli("recipients", "forget", "Li.Wei@Example.COM", cwd=sent)
    assert result.code == 0, result.output
    assert "presse.csv:8: row removed" in result.stdout
    assert "1 journal delivery" in result.stdout
    after = (sent / "recipients" / "presse.csv").read_bytes()
    assert after == b"".join(
        line for line in original.splitlines(keepends=True) if PERSON.encode() not in line
    )
    data = journal_bytes(sent)
    assert PERSON.encode() not in data.lower() and b"Li Wei" not in data
    log_after = json.loads(cli("log", RELEASE, "--json", cwd=sent).stdout)
    assert len(log_after) == len(log_before)
    assert sorted(d["state"] for d in log_after) == sorted(d["state"] for d in log_before)
    report = json.loads(cli("report", RELEASE, "--json", cwd=sent).stdout)
    assert report["sent"] == 12
    again = cli("recipients", "forget", PERSON, cwd=sent)
    assert again.code == 0
    assert "Nothing left" in again.stdout


def test_forget_refuses_a_read_only_list_by_name_and_changes_nothing(cli, sent):
    lst = sent / "recipients" / "presse.csv"
    before = (lst.read_bytes(), journal_bytes(sent))
    os.chmod(lst, 0o444)
    result = cli("recipients", "forget", PERSON, cwd=sent)
    assert result.code == 2
    assert "presse.csv" in result.stderr and "read-only" in result.stderr
    assert "Traceback" not in result.output
    assert (lst.read_bytes(), journal_bytes(sent)) == before


def test_export_shows_list_rows_and_deliveries(cli, sent):
    result = cli("recipients", "export", "LI.WEI@example.com", "--json", cwd=sent)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert [(r["list"], r["line"]) for r in data["rows"]] == [("presse", 8)]
    assert [(d["release_id"], d["language"], d["state"]) for d in data["deliveries"]] == [
        (RELEASE, "zh_CN", "sent")
    ]
    shown = cli("recipients", "export", PERSON, cwd=sent)
    assert "recipients/presse.csv:8" in shown.stdout and "Li Wei" in shown.stdout


def test_after_forget_a_reimported_row_is_still_skipped(cli, sent):
    assert cli("recipients", "forget", PERSON, cwd=sent).code == 0
    suppressed = (sent / "suppressed.csv").read_text("utf-8")
    assert PERSON not in suppressed.lower() and "erased" in suppressed
    # The office pastes its old Excel export back in: the same person, other case.
    lists = sent / "recipients" / "presse.csv"
    lists.write_text(lists.read_text("utf-8") + "LI.WEI@EXAMPLE.COM,Li Wei,zh,,\n", "utf-8")
    result = cli("send", RELEASE, "--list", "presse", "--resend", "--yes", cwd=sent)
    assert result.code == 0, result.output
    to = [
        email.message_from_bytes((sent / "outbox" / "new" / name).read_bytes())["To"]
        for name in os.listdir(sent / "outbox" / "new")
    ]
    assert sum(PERSON in t.lower() for t in to) == 1  # the mail before it was forgotten
    assert len(to) == 12 + 11
