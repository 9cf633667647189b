"""Translation units: one state per entry, the same for every reader of a catalog."""

from __future__ import annotations

import datetime as dt

import polib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.source.release import Release
from pressdist.translation import poformat
from pressdist.translation.units import (
    State,
    catalog_units,
    count,
    entry_state,
    keyed_segments,
    release_units,
    state,
)
from pressdist.workspace import Workspace

RELEASE = Release(
    id="2024-03-01-hafenfest",
    date=dt.date(2024, 3, 1),
    title="Hafenfest in Beispiel",
    lead="Drei Tage Musik am Wasser",
    paragraphs=["Die Stadt lädt ein. Der Eintritt ist frei.", "Die Stadt lädt ein."],
    contact="Pressestelle",
)

_msgstr = st.text(alphabet=st.sampled_from(list("ab ßä.\n\t\u00a0佛")), max_size=12)


@given(msgstr=_msgstr, fuzzy=st.booleans())
def test_the_state_of_a_unit_is_a_function_of_msgstr_and_the_fuzzy_flag(msgstr, fuzzy):
    result = state(msgstr, fuzzy=fuzzy)
    if not msgstr.strip():
        assert result is State.UNTRANSLATED
    else:
        assert result is (State.FUZZY if fuzzy else State.TRANSLATED)
    assert state(msgstr, fuzzy=fuzzy, obsolete=True) is State.OBSOLETE


def test_an_entry_of_only_whitespace_or_only_a_fuzzy_flag_is_untranslated():
    assert entry_state(polib.POEntry(msgid="Hallo.", msgstr=" \n")) is State.UNTRANSLATED
    assert entry_state(polib.POEntry(msgid="Hallo.", msgstr="", flags=["fuzzy"])) is (
        State.UNTRANSLATED
    )
    assert entry_state(polib.POEntry(msgid="Hallo.", msgstr="Hi.", flags=["fuzzy"])) is (
        State.FUZZY
    )


def test_without_a_catalog_every_segment_is_an_untranslated_unit_missing_from_it():
    units = catalog_units(None, RELEASE)
    assert [u.segment for u in units] == RELEASE.segments()
    assert all(u.state is State.UNTRANSLATED and not u.in_catalog for u in units)
    assert all(u.line is None for u in units)


def test_a_stale_entry_is_no_unit_and_a_repeated_text_keeps_its_context():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Die Stadt lädt ein.", msgstr="The city invites you."))
    po.append(polib.POEntry(msgid="Die Stadt lädt ein.", msgctxt="paragraph 2", msgstr="Welcome."))
    po.append(polib.POEntry(msgid="Nicht mehr in der Meldung.", msgstr="Gone."))
    units = catalog_units(po, RELEASE)
    assert len(units) == len(RELEASE.segments())
    repeated = [u for u in units if u.segment.text == "Die Stadt lädt ein."]
    assert [(u.context, u.text) for u in repeated] == [
        (None, "The city invites you."),
        ("paragraph 2", "Welcome."),
    ]
    assert "Gone." not in [u.text for u in units]


def test_usable_allows_fuzzy_translations_only_when_asked():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Hafenfest in Beispiel", msgstr="Harbour", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Pressestelle", msgstr="Press office"))
    by_text = {u.segment.text: u for u in catalog_units(po, RELEASE)}
    assert not by_text["Hafenfest in Beispiel"].usable()
    assert by_text["Hafenfest in Beispiel"].usable(allow_fuzzy=True)
    assert by_text["Pressestelle"].usable()
    assert not by_text["Drei Tage Musik am Wasser"].usable(allow_fuzzy=True)


def test_count_sums_entries_and_source_words_by_state():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Hafenfest in Beispiel", msgstr="Harbour", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Pressestelle", msgstr="Press office"))
    s = count(catalog_units(po, RELEASE), obsolete=2)
    assert (s.translated, s.fuzzy, s.untranslated, s.obsolete) == (1, 1, 4, 2)
    assert (s.translated_words, s.fuzzy_words) == (1, 3)
    assert s.total == len(RELEASE.segments()) and not s.complete
    assert s.total_words == sum(len(seg.text.split()) for seg in RELEASE.segments())


_entry = st.tuples(_msgstr, st.booleans())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(_entry, min_size=6, max_size=6))
def test_units_round_trip_through_a_written_catalog(tmp_workspace, entries):
    """What a translator writes into the file is what every reader of units sees."""
    ws = Workspace.open(tmp_workspace)
    keyed = keyed_segments(RELEASE)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "en"}
    for (seg, ctxt), (msgstr, fuzzy) in zip(keyed, entries, strict=True):
        flags = ["fuzzy"] if fuzzy else []
        po.append(polib.POEntry(msgid=seg.text, msgctxt=ctxt, msgstr=msgstr, flags=flags))
    path = ws.po_path(RELEASE.id, "en")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(poformat.dumps(po), encoding="utf-8")
    units = release_units(ws, RELEASE, "en")
    assert [(u.segment, u.context) for u in units] == keyed
    assert [u.text for u in units] == [msgstr for msgstr, _ in entries]
    assert [u.state for u in units] == [state(m, fuzzy=f) for m, f in entries]
    lines = [u.line for u in units]
    assert all(lines) and lines == sorted(lines)
