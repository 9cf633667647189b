"""The suppression list: one hash for every spelling, a file that keeps its history."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.audience import suppression as sp
from pressdist.audience.lists import ListFile, iter_audience, iter_recipients
from pressdist.errors import InputError
from pressdist.mail.addresses import check_address
from pressdist.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_workspace: Path) -> Workspace:
    return Workspace.open(tmp_workspace)


# Hashing ------------------------------------------------------------------------

local_parts = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüßéèçñ0123456789._-"), min_size=1
).filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s)
labels = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüéç0123456789"), min_size=1)


def _swap_case(text: str, flips: list[bool]) -> str:
    """Some letters in capitals, as a person types them (ß has no capital of its own:
    "SS" is another address)."""
    flips = (flips + [False] * len(text))[: len(text)]
    return "".join(
        c.upper() if f and c.upper().lower() == c else c for c, f in zip(text, flips, strict=True)
    )


@given(local_parts, labels, st.lists(st.booleans(), max_size=30))
def test_case_of_the_address_does_not_change_its_hash(local, label, flips):
    address = f"{local}@{label}.de"
    assert sp.address_hash(_swap_case(address, flips)) == sp.address_hash(address)


@given(local_parts, labels)
def test_unicode_and_idna_forms_of_a_domain_hash_alike(local, label):
    address = f"{local}@{label}.de"
    try:
        _, key, _ = check_address(address)
    except ValueError:
        return  # not an address a list would accept
    ascii_domain = key.rsplit("@", 1)[1]
    assert sp.address_hash(f"{local}@{ascii_domain}") == sp.address_hash(address)
    assert sp.address_hash(key) == sp.address_hash(address)


@given(local_parts, labels)
def test_composed_and_decomposed_characters_hash_alike(local, label):
    address = f"{local}@{label}.de"
    decomposed = unicodedata.normalize("NFD", address)
    assert sp.address_hash(decomposed) == sp.address_hash(address)


def test_the_hash_is_the_sha256_of_the_normalised_address():
    import hashlib

    expected = hashlib.sha256(b"m\xc3\xbcller@xn--bcher-kva.de").hexdigest()
    assert sp.address_hash("  MÜLLER@Bücher.DE ") == expected
    assert sp.address_hash("müller@xn--bcher-kva.de.") == expected
    assert sp.address_hash("anna@example.org") != sp.address_hash("anna@example.com")


@pytest.mark.parametrize("text", ["", "anna", "@example.org", "anna@", "anna@localhost"])
def test_what_is_no_address_has_no_hash(text):
    with pytest.raises(ValueError):
        sp.address_hash(text)


# Adding, removing, the file --------------------------------------------------------


def test_add_is_idempotent_and_matches_by_hash(ws):
    assert sp.add(ws, "Anna@Example.org", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    assert not sp.add(ws, "anna@EXAMPLE.org", list_name=None, reason=sp.BOUNCED, source="dsn")
    held = sp.load(ws)
    assert len(held) == 1 and len(held.rows) == 1
    found = held.lookup("ANNA@example.org", "presse")
    assert found is not None and found.reason == sp.UNSUBSCRIBED and found.scope == sp.ALL_LISTS
    assert found.address == "Anna@example.org" and found.source == "link"
    assert held.lookup("other@example.org", "presse") is None


def test_a_list_scope_holds_back_that_list_only(ws):
    assert sp.add(ws, "anna@example.org", list_name="presse", reason=sp.MANUAL, source="Eva")
    held = sp.load(ws)
    assert held.lookup("anna@example.org", "presse") is not None
    assert held.lookup("anna@example.org", "partner") is None
    assert held.lookup("anna@example.org", None) is not None
    # All lists after one list is a wider suppression: written; the other way round is not.
    assert sp.add(ws, "anna@example.org", list_name=None, reason=sp.COMPLAINED, source="arf")
    assert not sp.add(ws, "anna@example.org", list_name="partner", reason=sp.MANUAL, source="x")
    assert sp.load(ws).lookup("anna@example.org", "presse").scope == sp.ALL_LISTS


def test_remove_appends_a_resubscribed_row_and_keeps_the_history(ws):
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    assert sp.remove(ws, "ANNA@example.org", reason="asked again by phone, 3 May", source="Eva")
    assert not sp.remove(ws, "anna@example.org", reason="again", source="Eva")
    held = sp.load(ws)
    assert held.lookup("anna@example.org", "presse") is None and not held
    assert [r.reason for r in held.rows] == [sp.UNSUBSCRIBED, sp.RESUBSCRIBED]
    assert held.rows[1].note == "asked again by phone, 3 May" and held.rows[1].source == "Eva"
    # Suppressed again later: the newest row counts.
    assert sp.add(ws, "anna@example.org", list_name=None, reason=sp.BOUNCED, source="dsn")
    assert sp.load(ws).lookup("anna@example.org", None).reason == sp.BOUNCED


def test_remove_needs_a_reason(ws):
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    with pytest.raises(InputError, match="reason"):
        sp.remove(ws, "anna@example.org", reason="  ", source="Eva")
    assert sp.load(ws).lookup("anna@example.org", None) is not None


def test_erasure_keeps_only_the_hash_in_every_row_of_the_address(ws):
    sp.add(ws, "anna@example.org", list_name="presse", reason=sp.UNSUBSCRIBED, source="link")
    sp.add(ws, "bob@example.org", list_name=None, reason=sp.BOUNCED, source="dsn")
    sp.add(
        ws, "Anna@example.org", list_name=None, reason=sp.ERASED, source="Eva", keep_address=False
    )
    text = sp.suppression_path(ws).read_text("utf-8")
    assert "anna@" not in text.lower() and "bob@example.org" in text
    assert sp.load(ws).lookup("anna@example.org", "partner").reason == sp.ERASED


def test_a_malformed_address_is_refused_and_nothing_is_written(ws):
    with pytest.raises(InputError, match="invalid address"):
        sp.add(ws, "anna(at)example.org", list_name=None, reason=sp.MANUAL, source="Eva")
    assert not sp.suppression_path(ws).exists()


def test_the_file_round_trips_byte_for_byte(ws):
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    sp.add(ws, "li@bücher.de", list_name="presse", reason=sp.MANUAL, source="Eva", note='a, "b"')
    path = sp.suppression_path(ws)
    text = path.read_text("utf-8")
    assert text.splitlines()[0] == ",".join(sp.COLUMNS)
    held = sp.read(path)
    assert sp.render(held.rows) == text
    assert held.rows[1].note == 'a, "b"' and held.rows[1].line == 3


def test_a_note_with_line_breaks_is_written_on_one_line(ws):
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.MANUAL, source="Eva", note="a\nb")
    assert sp.load(ws).rows[0].note == "a b"
    assert len(sp.suppression_path(ws).read_text("utf-8").splitlines()) == 2


def test_a_row_added_by_hand_without_a_hash_is_read_by_its_address(ws):
    path = sp.suppression_path(ws)
    path.write_text(
        ",".join(sp.COLUMNS) + "\n,Anna@Example.org,*,unsubscribed,2024-05-03T09:30:00Z,mail,\n",
        encoding="utf-8",
    )
    assert sp.load(ws).lookup("anna@example.org", "presse") is not None


GOOD = "{h},anna@example.org,*,unsubscribed,2024-05-03T09:30:00Z,link,"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{h},anna@example.org,*,unsubscribed,2024-05-03T09:30:00Z,link", "6 fields"),
        ("{h},anna@example.org,*,gone,2024-05-03T09:30:00Z,link,", "unknown reason"),
        ("{h},anna@example.org,*,unsubscribed,3 May 2024,link,", "date and time"),
        ("{h},anna@example.org,*,unsubscribed,2024-05-03T09:30:00,link,", "time zone"),
        ("{h},anna@example.org,,unsubscribed,2024-05-03T09:30:00Z,link,", "scope"),
        ("{h},bob@example.org,*,unsubscribed,2024-05-03T09:30:00Z,link,", "hash is not"),
        (",,*,unsubscribed,2024-05-03T09:30:00Z,link,", "no valid hash"),
        ('{h},"anna@example.org,*,unsubscribed,2024-05-03T09:30:00Z,link,', "quoting"),
        ("{h},anna(at)example.org,*,unsubscribed,2024-05-03T09:30:00Z,link,", "invalid address"),
    ],
)
def test_a_bad_hand_edit_is_one_error_at_its_line_and_nothing_is_written(ws, line, message):
    digest = sp.address_hash("anna@example.org")
    path = sp.suppression_path(ws)
    text = "\n".join([",".join(sp.COLUMNS), GOOD.format(h=digest), "", line.format(h=digest)])
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        sp.add(ws, "new@example.org", list_name=None, reason=sp.MANUAL, source="Eva")
    assert info.value.path == path and info.value.line == 4 and info.value.hint
    assert path.read_text("utf-8") == text + "\n"


def test_a_file_with_another_header_is_refused_at_line_one(ws):
    path = sp.suppression_path(ws)
    path.write_text("email,name\nanna@example.org,Anna\n", encoding="utf-8")
    with pytest.raises(InputError, match="first line") as info:
        sp.load(ws)
    assert info.value.line == 1


def test_a_file_saved_in_another_encoding_is_refused_with_its_line(ws):
    path = sp.suppression_path(ws)
    path.write_bytes((",".join(sp.COLUMNS) + "\n").encode() + "x,Jörg".encode("cp1252"))
    with pytest.raises(InputError, match="UTF-8") as info:
        sp.load(ws)
    assert info.value.line == 2


def test_no_file_is_no_suppression(ws):
    held = sp.load(ws)
    assert not held and held.lookup("anna@example.org", "presse") is None


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("unsubscribed", ("unsubscribed", "")),
        ("Bounced", ("bounced", "")),
        ("asked by phone", ("manual", "asked by phone")),
        ("erased", ("manual", "erased")),
    ],
)
def test_a_persons_reason_is_a_known_reason_or_their_note_under_manual(text, stored):
    assert sp.reason_of(text) == stored


def test_two_processes_adding_at_once_lose_nothing(ws):
    script = (
        "import sys\n"
        "from pressdist.audience import suppression as sp\n"
        "from pressdist.workspace import Workspace\n"
        "ws = Workspace.open(sys.argv[1])\n"
        "for i in range(40):\n"
        "    sp.add(ws, f'{sys.argv[2]}{i}@example.org', list_name=None, reason='manual',"
        " source='test')\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(ws.root), who], cwd=REPO)
        for who in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    held = sp.load(ws)
    assert len(held) == 80 and len(held.rows) == 80
    for who in ("a", "b"):
        assert all(held.lookup(f"{who}{i}@example.org", "x") for i in range(40))


# Lists -----------------------------------------------------------------------------


def _list(path: Path, rows: str) -> Path:
    path.write_text("email,name,language\n" + rows, encoding="utf-8")
    return path


def test_someone_suppressed_for_one_list_still_gets_the_mail_through_another(ws, tmp_path):
    presse = _list(tmp_path / "presse.csv", "anna@example.org,Anna,de\nbob@example.org,Bob,en\n")
    partner = _list(tmp_path / "partner.csv", "ANNA@example.org,Anna,de\n")
    sp.add(ws, "anna@example.org", list_name="presse", reason=sp.UNSUBSCRIBED, source="link")
    lists = [ListFile("presse", presse), ListFile("partner", partner)]
    problems: list = []
    got = [(r.address, r.list_name, s) for r, s in iter_audience(lists, problems, sp.load(ws))]
    assert got == [("bob@example.org", "presse", None), ("ANNA@example.org", "partner", None)]
    assert [p.level for p in problems] == ["note"]  # on two lists: one mail


def test_someone_suppressed_everywhere_is_yielded_once_with_their_suppression(ws, tmp_path):
    presse = _list(tmp_path / "presse.csv", "anna@example.org,Anna,de\nbob@example.org,Bob,en\n")
    partner = _list(tmp_path / "partner.csv", "Anna@Example.org,Anna,de\n")
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.BOUNCED, source="dsn")
    lists = [ListFile("presse", presse), ListFile("partner", partner)]
    got = list(iter_audience(lists, [], sp.load(ws)))
    assert [(r.address, r.list_name) for r, _ in got] == [
        ("bob@example.org", "presse"),
        ("anna@example.org", "presse"),
    ]
    assert got[1][1].reason == sp.BOUNCED
    assert [r.address for r in iter_recipients(lists, [], sp.load(ws))] == ["bob@example.org"]


def test_the_suppression_file_is_never_read_as_a_list(ws):
    from pressdist.audience.lists import open_lists

    sp.add(ws, "anna@example.org", list_name=None, reason=sp.MANUAL, source="Eva")
    with pytest.raises(InputError, match="suppression file"):
        open_lists(ws, [str(sp.suppression_path(ws))])
