"""Sentence segmentation of German press-release paragraphs."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressdist.source.segment import split_sentences

ONE_SENTENCE = {
    "ordinal date": "Die ISA wurde am 4. November 2019 in Mainz gegründet.",
    "ordinal before month": "Wir treffen uns am 3. Oktober in Mainz.",
    "short date": "Der Vertrag wurde am 04.11.2019 unterzeichnet.",
    "version number": "Die Stadt setzt auf Industrie 4.0 und Elektromobilität.",
    "thousands": "Es kamen ca. 1.250 Gäste auf den Domplatz.",
    "z. B.": "Es gibt z. B. Führungen durch das Rathaus.",
    "z.B. without space": "Es gibt z.B. Führungen durch das Rathaus.",
    "Nr.": "Das regelt Nr. 3 der Satzung.",
    "Dr.": "Es sprach Dr. Eva Beispiel vom Umweltamt.",
    "bzw.": "Die Stadt bzw. der Kreis trägt die Kosten.",
    "u. a.": "Es kamen u. a. Gäste aus Foshan und Guiyang.",
    "Str.": "Das Amt liegt in der Kaiserstr. 3 in Mainz.",
    "Str. alone": "Das Büro ist in der Große Bleiche Str. 46 untergebracht.",
    "Abs.": "Das regelt § 3 Abs. 2 der Satzung.",
    "Tel.": "Anmeldung unter Tel. 06131 12 22 21 bis Freitag.",
    "Tel.:": "Anmeldung unter Tel.: 06131 12 22 21 bis Freitag.",
    "f.": "Einzelheiten stehen auf S. 4 f. der Broschüre.",
    "initial": "Es sprach Wirtschaftsdezernentin Manuela M. Matz im Rathaus.",
    "URL with query": "Mehr steht unter https://www.mainz.de/wirtschaft/index.php?id=3.",
    "URL without scheme": "Die Anmeldung läuft über www.mainz.de/anmeldung.html bis Mai.",
    "e-mail": "Fragen beantwortet pressestelle@stadt.mainz.de gern.",
    "quote with sentences inside": (
        "„Die Delegationsreise war überaus interessant. In der Zusammenarbeit liegt viel "
        "Potential. Die Chancen für den Wirtschaftsstandort Mainz werden weiter verfolgt“, "
        "so Wirtschaftsdezernentin Manuela Matz."
    ),
    "quote with number": (
        "„Mainz hat eine Industrie-Exportquote von 44,3%. Eine immer bedeutendere Rolle "
        "spielen dabei Kontakte nach China“, erklären Manuela Matz und Simone Ritter."
    ),
}


@pytest.mark.parametrize("text", ONE_SENTENCE.values(), ids=ONE_SENTENCE.keys())
def test_sentence_is_not_split_inside(text: str) -> None:
    assert split_sentences(text) == [text]


@pytest.mark.parametrize("text", ONE_SENTENCE.values(), ids=ONE_SENTENCE.keys())
def test_sentence_followed_by_another_gives_two_segments(text: str) -> None:
    paragraph = f"{text} Danach ging es weiter."
    assert split_sentences(paragraph) == [f"{text} ", "Danach ging es weiter."]


def test_quote_then_attribution_stays_one_segment() -> None:
    first = "„Die Chancen werden weiter verfolgt“, so Wirtschaftsdezernentin Manuela Matz. "
    second = "Die Beigeordnete betont die Rolle der Unternehmen."
    assert split_sentences(first + second) == [first, second]


def test_sentence_ending_in_a_phone_number_is_split() -> None:
    paragraph = "Anmeldung unter Tel.: 06131 12 22 21. Die Plätze sind begrenzt."
    assert split_sentences(paragraph) == [
        "Anmeldung unter Tel.: 06131 12 22 21. ",
        "Die Plätze sind begrenzt.",
    ]


def test_sentence_after_closed_quote_is_split() -> None:
    paragraph = "Sie sagte: „Wir sind bereit.“ Dann ging sie."
    assert split_sentences(paragraph) == ["Sie sagte: „Wir sind bereit.“ ", "Dann ging sie."]


def test_plain_sentences_are_split() -> None:
    paragraph = "Die ISA wurde 2016 gegründet. Ihr gehören 21 deutsche Städte an. Mainz ist dabei."
    assert split_sentences(paragraph) == [
        "Die ISA wurde 2016 gegründet. ",
        "Ihr gehören 21 deutsche Städte an. ",
        "Mainz ist dabei.",
    ]


def test_line_break_inside_a_paragraph_is_not_a_sentence_end() -> None:
    paragraph = "Die Stadt lädt am 3. Oktober\nzum Fest ein. Alle sind willkommen."
    assert split_sentences(paragraph) == [
        "Die Stadt lädt am 3. Oktober\nzum Fest ein. ",
        "Alle sind willkommen.",
    ]


def test_fixture_paragraph_with_quotes_segments_as_a_translator_expects() -> None:
    paragraph = (
        "„Die Delegationsreise nach China und die dortigen Veranstaltungen waren überaus "
        "interessant. Mainz ist zudem sehr interessant für chinesische Investoren. Die sich "
        "bietenden Chancen für den Wirtschaftsstandort Mainz werden weiter verfolgt“, so "
        "Wirtschaftsdezernentin Manuela Matz. Die Stadt Mainz sei bereits jetzt ein weltweit "
        "agierender Wirtschaftsstandort. „Mainz hat eine Industrie-Exportquote von 44,3%. "
        "Eine immer bedeutendere Rolle im internationalen Geschäft spielen dabei Kontakte nach "
        "China“, erklären Manuela Matz und Simone Ritter."
    )
    segments = split_sentences(paragraph)
    assert len(segments) == 3
    assert segments[0].endswith("so Wirtschaftsdezernentin Manuela Matz. ")
    assert segments[2].startswith("„Mainz hat eine Industrie-Exportquote von 44,3%.")


def test_empty_and_blank_paragraphs() -> None:
    assert split_sentences("") == []
    assert split_sentences("  ") == ["  "]


_PIECES = [
    *"abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789",
    *" .,:;!?-„“”«»\"'()/%@\n\t§",
    "z. B. ", "Nr. ", "Dr. ", " 4. November ", "www.", "https://", "Tel.: ", "Matz. ", " Die ",
]  # fmt: skip
german = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(german)
def test_joining_segments_gives_the_paragraph_back(paragraph: str) -> None:
    segments = split_sentences(paragraph)
    assert "".join(segments) == paragraph
    assert all(segments)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_joining_segments_gives_any_text_back(paragraph: str) -> None:
    assert "".join(split_sentences(paragraph)) == paragraph


def test_segmenting_a_paragraph_is_fast_enough_for_every_extract() -> None:
    paragraphs = [
        f"Absatz {i}: Die Stadt lädt am {i % 28 + 1}. Mai ein. Alle kommen." for i in range(200)
    ]
    start = time.perf_counter()
    for p in paragraphs:
        split_sentences(p)
    fresh = (time.perf_counter() - start) / len(paragraphs)
    start = time.perf_counter()
    for p in paragraphs:
        split_sentences(p)
    cached = (time.perf_counter() - start) / len(paragraphs)
    assert fresh < 0.02  # pysbd is ~1 ms a paragraph here; 20 ms means something broke
    assert cached < fresh / 5
