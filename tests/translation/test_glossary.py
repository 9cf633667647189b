"""The glossary: its file, and whether a translation renders a term as prescribed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.errors import InputError
from pressdist.translation.glossary import GlossaryTerm, check_glossary, load_glossary

ALLIANCE = GlossaryTerm("Industriestädteallianz", "Industrial Cities Alliance|ISA", "full name")


def test_a_german_term_is_found_in_its_inflected_forms():
    for source in (
        "Die Industriestädteallianz tagt.",
        "Vertreter der Industriestädteallianzen kamen.",
        "industriestädteallianz ist neu.",  # sentence-initial letter in either case
    ):
        assert check_glossary(source, "The network meets.", [ALLIANCE]), source


def test_a_term_inside_a_word_a_handle_or_an_address_is_not_the_term():
    term = GlossaryTerm("Beispiel", "Example")
    for source in ("Das Stadtbeispiel.", "Folgen Sie @Beispiel.", "Siehe www.Beispiel.de"):
        assert check_glossary(source, "Nothing.", [term]) == [], source


def test_any_of_the_alternatives_satisfies_the_term_in_any_case():
    source = "Die Industriestädteallianz tagt."
    assert check_glossary(source, "The ISA meets.", [ALLIANCE]) == []
    assert check_glossary(source, "The industrial cities alliance meets.", [ALLIANCE]) == []


def test_the_message_names_the_term_every_rendering_and_the_note():
    [message] = check_glossary("Die Industriestädteallianz tagt.", "It meets.", [ALLIANCE])
    assert "'Industriestädteallianz'" in message
    assert "“Industrial Cities Alliance” or “ISA”" in message and "(full name)" in message


_word = st.text(alphabet=st.sampled_from(list("abcdefgäöü")), min_size=3, max_size=10)


@given(term=_word, rendering=_word, before=_word, after=_word)
def test_a_translation_that_contains_the_rendering_always_passes(term, rendering, before, after):
    glossary = [GlossaryTerm(term.capitalize(), rendering)]
    source = f"Heute {term.capitalize()} und mehr."
    assert check_glossary(source, f"{before} {rendering.upper()} {after}", glossary) == []
    assert check_glossary(source, before, glossary) == [] or rendering not in before


def test_load_reads_rows_after_the_header_and_skips_blank_ones(tmp_path):
    path = tmp_path / "glossary.csv"
    path.write_text("source,translation,note\nFoshan,佛山,\n\n,,\nMainz,美因茨,city\n", "utf-8")
    terms = load_glossary(path)
    assert [(t.source, t.translation, t.note, t.line) for t in terms] == [
        ("Foshan", "佛山", "", 2),
        ("Mainz", "美因茨", "city", 5),
    ]


def test_a_missing_glossary_is_an_empty_one(tmp_path):
    assert load_glossary(tmp_path / "glossary.csv") == []


def test_glossary_row_without_translation_is_refused_with_its_line(tmp_path):
    path = tmp_path / "glossary.csv"
    path.write_text("source,translation,note\nFoshan,佛山,\nGuiyang\n", "utf-8")
    with pytest.raises(InputError) as exc:
        load_glossary(path)
    assert exc.value.line == 3
