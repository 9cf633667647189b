"""Erasure and access across the workspace: lists, journal and the suppression call site."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pressdist
from pressdist.audience.suppression import address_hash
from pressdist.errors import PressdistError
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending.plan import journal_path
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
PERSON = "li.wei@example.com"


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    ws = pressdist.open_workspace(example_workspace)
    pressdist.send(pressdist.plan_send(ws, RELEASE, ["presse"], gateway=MemoryGateway()))
    return ws


def journal_bytes(ws: Workspace) -> bytes:
    path = journal_path(ws)
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_forget_takes_the_person_off_the_list_and_out_of_the_journal(ws):
    assert PERSON.encode() in journal_bytes(ws)
    done = pressdist.forget(ws, "Li.Wei@Example.COM")
    assert (done.list_rows, done.journal_rows) == (1, 1)
    assert [c.path.name for c in done.lists] == ["presse.csv"]
    assert PERSON.encode() not in journal_bytes(ws)
    assert "Li Wei" not in journal_bytes(ws).decode("utf-8", "replace")
    assert PERSON not in (ws.recipients_dir / "presse.csv").read_text("utf-8")
    assert pressdist.report(ws, RELEASE).sent == 12


def test_forget_leaves_a_hash_only_erased_entry_once(ws):
    pressdist.forget(ws, PERSON)
    pressdist.forget(ws, PERSON)
    rows = [r for r in pressdist.suppressions(ws).rows if r.hash == address_hash(PERSON)]
    assert [(r.reason, r.scope, r.address) for r in rows] == [("erased", "*", "")]
    assert PERSON not in (ws.root / "suppressed.csv").read_text("utf-8").lower()


def test_forget_twice_says_nothing_is_left(ws):
    assert pressdist.forget(ws, PERSON).changed
    again = pressdist.forget(ws, PERSON)
    assert not again.changed
    assert again.lists == ()


def test_a_read_only_list_stops_forget_before_the_journal_changes(ws):
    before = journal_bytes(ws)
    lst = ws.recipients_dir / "presse.csv"
    os.chmod(lst, 0o444)
    with pytest.raises(PressdistError) as caught:
        pressdist.forget(ws, PERSON)
    assert caught.value.path == lst
    assert PERSON.encode() in journal_bytes(ws)
    assert journal_bytes(ws) == before


def test_forget_without_a_journal_creates_none(example_workspace):
    ws = pressdist.open_workspace(example_workspace)
    assert pressdist.forget(ws, PERSON).list_rows == 1
    assert not journal_path(ws).exists()


def test_export_shows_the_rows_and_the_deliveries(ws):
    person = pressdist.export_person(ws, "LI.WEI@example.com")
    (row,) = person.rows
    assert (row.path.name, row.line, row.cells["name"]) == ("presse.csv", 8, "Li Wei")
    (delivery,) = person.deliveries
    assert (delivery.release_id, delivery.language, delivery.state) == (RELEASE, "zh_CN", "sent")
    data = person.to_dict()
    assert data["rows"][0]["cells"]["email"] == PERSON
    assert data["deliveries"][0]["sent_at"] == delivery.sent_at
    assert data["suppression"] == []


def test_export_after_forget_shows_only_the_pseudonymous_deliveries(ws):
    pressdist.forget(ws, PERSON)
    person = pressdist.export_person(ws, PERSON)
    assert person.rows == ()
    (delivery,) = person.deliveries
    assert (delivery.address, delivery.name) == (person.hash, "")


def test_forget_refuses_while_a_send_runs(ws):
    from pressdist.sending.delivery import send_lock

    with send_lock(ws), pytest.raises(PressdistError, match="another `pressdist send`"):
        pressdist.forget(ws, PERSON)
    assert PERSON in (ws.recipients_dir / "presse.csv").read_text("utf-8")


def test_forget_also_erases_what_came_back_about_the_person(ws):
    from pressdist.inbox import act
    from pressdist.inbox.findings import Finding, Kind
    from pressdist.sending import journal as jr

    with jr.Journal(journal_path(ws)) as journal:
        (mine,) = [d for d in journal.deliveries(RELEASE) if d.address == PERSON]
        diagnostic = f"550 5.1.1 <{PERSON}>: Recipient address rejected: User unknown"
        finding = Finding(
            Kind.HARD_BOUNCE, message_id=mine.message_id, recipient=PERSON, status="5.1.1",
            diagnostic=diagnostic,
        )  # fmt: skip
        action = act.apply(ws, journal, finding, source="test")
        journal.remember("mail:abc", "test", action.verdict.value, f"{action.text} {PERSON}")
    assert action.verdict is act.Verdict.BOUNCED
    assert PERSON.encode() in journal_bytes(ws)
    pressdist.forget(ws, PERSON)
    assert PERSON.encode() not in journal_bytes(ws)
    summary = pressdist.report(ws, RELEASE)
    assert sum(line.bounced for line in summary.lines) == 1
