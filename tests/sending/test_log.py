"""What `pressdist log` reads: the release-id rule, the rows, their CSV form."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pressdist.errors import PressdistError
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.sending.log import deliveries_csv, open_log
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    (example_workspace / "recipients" / "test.csv").write_text(
        "email,name,language\nanna@example.org,=Anna,de\n", encoding="utf-8"
    )
    return Workspace.open(example_workspace)


def test_a_release_id_that_is_neither_a_release_nor_sent_is_refused(ws) -> None:
    with pytest.raises(PressdistError, match="no release '2019-11-05-tippfehler'") as err:
        open_log(ws, "2019-11-05-tippfehler")
    assert RELEASE in (err.value.hint or "")
    assert open_log(ws, RELEASE) is None  # a release, nothing sent yet


def test_a_release_deleted_after_it_was_sent_still_has_its_log(ws) -> None:
    delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway()))
    ws.release_path(RELEASE).unlink()
    journal = open_log(ws, RELEASE)
    assert journal is not None
    try:
        (row,) = journal.deliveries(RELEASE)
    finally:
        journal.close()
    assert list(row.to_dict()) == list(jr.LOG_FIELDS)
    assert row.to_dict()["address"] == "anna@example.org"


def test_the_csv_has_a_bom_the_log_fields_and_cells_that_are_never_formulas(ws) -> None:
    delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway()))
    with jr.Journal(planning.journal_path(ws)) as journal:
        rows = [d.to_dict() for d in journal.deliveries()]
    text = deliveries_csv(rows)
    assert text.startswith("\ufeff") and "\r\n" in text
    header, line = list(csv.reader(io.StringIO(text[1:])))
    assert header == list(jr.LOG_FIELDS)
    assert line[header.index("name")] == "'=Anna"
    assert line[header.index("possibly_duplicate")] == "False"
