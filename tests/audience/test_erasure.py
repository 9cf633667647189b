"""Erasure and access over list files: one person's rows out, every other byte kept."""

from __future__ import annotations

import codecs
import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.audience import erasure
from pressdist.audience.lists import ListFile, list_rows
from pressdist.audience.suppression import address_hash
from pressdist.errors import InputError, PressdistError
from pressdist.workspace import Workspace

PERSON = "li.wei@example.com"


@pytest.fixture
def ws(tmp_workspace: Path) -> Workspace:
    return Workspace.open(tmp_workspace)


def put(ws: Workspace, name: str, data: bytes) -> Path:
    path = ws.recipients_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def forget(ws: Workspace, address: str = "Li.Wei@Example.COM") -> list[erasure.ListChange]:
    changes = erasure.plan_list_erasure(ws, address)
    erasure.apply_list_erasure(changes)
    return changes


def test_the_key_is_case_folded_and_the_hash_is_sha256_of_it():
    assert erasure.address_key(" Li.Wei@Example.COM ") == PERSON
    assert address_hash("Li.Wei@Example.COM") == hashlib.sha256(PERSON.encode()).hexdigest()


def test_an_internationalised_domain_hashes_as_its_idna_form():
    assert address_hash("anna@bücher.de") == address_hash("ANNA@xn--bcher-kva.de")


def test_a_written_address_in_nfd_hashes_as_in_nfc():
    nfc = "müller@example.org"
    nfd = "mu\u0308ller@example.org"
    assert address_hash(nfd) == address_hash(nfc)


def test_what_is_not_an_address_is_refused_with_a_hint():
    with pytest.raises(InputError) as caught:
        erasure.address_key("li.wei at example")
    assert caught.value.hint


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("cp1252", b""),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ],
)
def test_forget_keeps_every_other_byte_in_each_encoding(ws, encoding, bom):
    lines = [
        "E-Mail;Name;Sprache\r\n",
        "anna@example.org;Jürgen Müller;de\r\n",
        "li.wei@example.com;Li Wei;en\r\n",
        '"zoë@example.org";"Zoë; Élodie";fr\r\n',
        "LI.WEI@EXAMPLE.COM;Li Wei again;de",
    ]
    data = lambda keep: bom + "".join(keep).encode(encoding)  # noqa: E731
    path = put(ws, "presse.csv", data(lines))
    (change,) = forget(ws)
    assert change.rows == ((3, 3), (5, 5))
    assert path.read_bytes() == data([lines[0], lines[1], lines[3]])


def test_a_row_whose_cell_holds_line_breaks_goes_with_all_its_lines(ws):
    head = b"email,name,organisation\n"
    before = b'anna@example.org,Anna,"Zeitung\nRedaktion"\n'
    person = b'li.wei@example.com,"Li\r\nWei","Xinhua\n\nFrankfurt"\n'
    after = b"jonas@example.com,Jonas,\n"
    path = put(ws, "presse.csv", head + before + person + after)
    (change,) = forget(ws)
    assert change.rows == ((4, 7),)
    assert path.read_bytes() == head + before + after


def test_list_rows_say_which_lines_a_row_spans(ws):
    path = put(ws, "p.csv", b'email,name\na@example.org,"x\ny\nz"\n\nb@example.org,B\n')
    rows = list(list_rows(path, [], ListFile("p", path)))
    assert [(r.line, r.last_line) for r in rows] == [(2, 4), (6, 6)]


def test_a_row_with_an_unknown_language_is_still_the_persons_row(ws):
    path = put(ws, "presse.csv", b"email,language\nli.wei@example.com,klingon\nb@example.org,de\n")
    forget(ws)
    assert path.read_bytes() == b"email,language\nb@example.org,de\n"


def test_lists_in_subfolders_are_searched_and_others_left_alone(ws):
    other = put(ws, "other.csv", b"email\nanna@example.org\n")
    nested = put(ws, "archiv/2019.csv", b"email\nli.wei@example.com\n")
    mtime = other.stat().st_mtime_ns
    changes = forget(ws)
    assert [c.path for c in changes] == [nested]
    assert nested.read_bytes() == b"email\n"
    assert other.stat().st_mtime_ns == mtime


def test_a_read_only_list_is_refused_by_name_and_nothing_changes_anywhere(ws):
    first = put(ws, "a.csv", b"email\nli.wei@example.com\n")
    locked = put(ws, "b.csv", b"email\nli.wei@example.com\n")
    os.chmod(locked, 0o444)
    with pytest.raises(PressdistError) as caught:
        erasure.plan_list_erasure(ws, PERSON)
    assert caught.value.path == locked
    assert "read-only" in str(caught.value)
    assert first.read_bytes() == locked.read_bytes() == b"email\nli.wei@example.com\n"


def test_a_read_only_list_without_the_person_is_no_obstacle(ws):
    locked = put(ws, "b.csv", b"email\nanna@example.org\n")
    os.chmod(locked, 0o444)
    put(ws, "a.csv", b"email\nli.wei@example.com\n")
    assert len(forget(ws)) == 1


def test_rewriting_keeps_the_files_permissions(ws):
    path = put(ws, "a.csv", b"email\nli.wei@example.com\n")
    os.chmod(path, 0o640)
    forget(ws)
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_broken_row_still_naming_the_address_is_a_mention_not_a_change(ws):
    path = put(ws, "a.csv", b'email,name\n"li.wei@example.com,"Li"x\nb@example.org,B\n')
    (change,) = forget(ws)
    assert change.rows == ()
    assert change.mentions == (2,)
    assert path.read_bytes().startswith(b'email,name\n"li.wei')


def test_forgetting_twice_finds_nothing_the_second_time(ws):
    put(ws, "a.csv", b"email\nli.wei@example.com\nb@example.org\n")
    assert forget(ws)
    assert forget(ws) == []


def test_find_rows_shows_file_line_and_cells(ws):
    path = put(
        ws, "presse.csv", b"email,name,language\nb@example.org,B,de\nLi.Wei@example.com,Li,en\n"
    )
    (row,) = erasure.find_rows(ws, PERSON)
    assert (row.list_name, row.path, row.line) == ("presse", path, 3)
    assert row.cells == {"email": "Li.Wei@example.com", "name": "Li", "language": "en"}


# Any list, any form ------------------------------------------------------------

_cell = st.text(
    alphabet=st.characters(codec="cp1252", exclude_characters="\x00\r\n\"'"),
    max_size=12,
)
_others = st.from_regex(r"[a-k]{1,8}@(example|beispiel)\.(org|de)", fullmatch=True)


@st.composite
def _lists(draw):
    delim = draw(st.sampled_from([",", ";", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    encoding, bom = draw(
        st.sampled_from(
            [
                ("utf-8", b""),
                ("utf-8", codecs.BOM_UTF8),
                ("cp1252", b""),
                ("utf-16-le", b"\xff\xfe"),
            ]
        )
    )
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        mine = draw(st.booleans())
        address = draw(st.sampled_from([PERSON, "LI.Wei@example.COM"])) if mine else draw(_others)
        name = draw(_cell)
        broken_line = draw(st.booleans())
        name_cell = '"' + name + ("\n" if broken_line else "") + draw(_cell) + '"'
        rows.append((mine, f"{address}{delim}{name_cell}{delim}de{end}"))
    return delim, end, encoding, bom, rows


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=_lists())
def test_forget_on_any_list_removes_exactly_the_persons_rows(ws, form):
    delim, end, encoding, bom, rows = form
    header = f"email{delim}name{delim}language{end}"
    path = put(ws, "gen.csv", bom + (header + "".join(t for _, t in rows)).encode(encoding))
    forget(ws, PERSON)
    kept = header + "".join(text for mine, text in rows if not mine)
    assert path.read_bytes() == bom + kept.encode(encoding)
