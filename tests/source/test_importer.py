"""Importing releases as they come out of a PDF: header, furniture, page breaks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pressdist.errors import InputError
from pressdist.source.importer import import_file, import_text
from pressdist.source.release import dumps, loads

DATA = Path(__file__).parent.parent / "data" / "importer"
FIXTURE_RELEASE = Path(__file__).parent.parent.parent / "examples" / "pm-2019-11-04-isa-foshan.txt"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MAINZ_CONTACT = [
    "Landeshauptstadt Mainz",
    "Hauptamt",
    "Pressestelle | Kommunikation",
    "Stadthaus Große Bleiche",
    "Große Bleiche 46/Löwenhofstraße 1",
    "55116 Mainz",
    "Telefon: 49 6131 12 22 21",
    "Telefax: 49 61 31 12 33 83",
    "E-Mail: pressestelle@stadt.mainz.de",
    "www.mainz.de",
]


@pytest.fixture(scope="module")
def foshan():
    return import_file(FIXTURE_RELEASE)


# The fixture: the real release of 4 November 2019 --------------------------------
def test_fixture_header_is_recognised(foshan) -> None:
    release = foshan.release
    assert release.date == dt.date(2019, 11, 4)
    assert release.title == (
        "Deutsch-Chinesische Industriestädteallianz (ISA) - Delegationsreise nach Foshan"
    )
    assert release.lead == "Wirtschaftsdezernentin Matz will Chancen für Mainz nutzen"
    assert release.author == "rap"
    assert release.place == "Mainz"
    assert release.id == "2019-11-04-isa-foshan"


def test_fixture_body_has_no_trace_of_the_furniture(foshan) -> None:
    body = "\n\n".join(foshan.release.paragraphs)
    for furniture in ("Pressestelle", "Telefax", "www.mainz.de", "Hauptamt", "55116"):
        assert furniture not in body


def test_fixture_body_is_exactly_five_paragraphs(foshan) -> None:
    paragraphs = foshan.release.paragraphs
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("Die Landeshauptstadt Mainz hat ihre Wirtschaftsbeziehungen")
    assert paragraphs[3].startswith("„Die Delegationsreise nach China")
    assert paragraphs[4].endswith("ist für die Landeshauptstadt Mainz kostenfrei.")


def test_fixture_page_breaks_are_rejoined_with_a_single_space(foshan) -> None:
    paragraphs = foshan.release.paragraphs
    assert "Industriestädteallianz standen Gespräche mit Verantwortlichen" in paragraphs[1]
    assert "an der Schnittstelle zwischen IT und Industrie gebe" in paragraphs[3]
    assert all("  " not in p and "\n" not in p for p in paragraphs)


def test_fixture_contact_block_is_one_copy_of_the_furniture(foshan) -> None:
    assert foshan.release.contact_lines == MAINZ_CONTACT


def test_fixture_quotes_and_numbers_pass_through_exactly(foshan) -> None:
    text = FIXTURE_RELEASE.read_text(encoding="utf-8")
    for paragraph in foshan.release.paragraphs[2:]:
        for sentence in paragraph.split(". "):
            if "Schnittstelle" not in sentence:
                assert sentence in text
    assert "„Mainz hat eine Industrie-Exportquote von 44,3%." in foshan.release.paragraphs[3]
    assert "„Internet+powered by CEBIT“-Messe" in foshan.release.paragraphs[1]


def test_fixture_imports_without_warnings(foshan) -> None:
    assert foshan.warnings == []


def test_fixture_matches_the_example_release_in_the_workspace(foshan) -> None:
    example = Path(__file__).parent.parent.parent / "releases" / "2019-11-04-isa-foshan.md"
    assert dumps(foshan.release) == example.read_text(encoding="utf-8")


def test_imported_release_survives_the_file_format(foshan) -> None:
    again = loads(dumps(foshan.release), foshan.release.id)
    assert again.paragraphs == foshan.release.paragraphs
    assert again.contact == foshan.release.contact


# Other releases of the same office -----------------------------------------------
def test_other_furniture_with_page_numbers_is_removed_and_page_numbers_dropped() -> None:
    imported = import_file(DATA / "pm-2020-03-12-rheinufer.txt")
    release = imported.release
    assert release.date == dt.date(2020, 3, 12)
    assert release.place == "Mainz"
    assert (release.author, release.lead) == ("gst", "Ortsbeirat stimmt der Umgestaltung zu")
    assert release.contact_lines == [
        "Amt für Öffentlichkeitsarbeit",
        "Rathaus, Jockel-Fuchs-Platz 1",
        "55116 Mainz",
        "Tel.: 06131 12-0",
        "E-Mail: presse@example.org",
    ]
    body = "\n".join(release.paragraphs)
    for furniture in ("Seite", "Pressestelle", "Jockel-Fuchs", "presse@example.org"):
        assert furniture not in body
    assert len(release.paragraphs) == 4


def test_page_break_inside_a_quote_after_a_full_stop_is_rejoined() -> None:
    release = import_file(DATA / "pm-2020-03-12-rheinufer.txt").release
    assert (
        "von Anfang an beteiligt. Über 900 Vorschläge sind eingegangen“, sagte "
        "Umweltdezernentin Dr. Eva Beispiel" in release.paragraphs[1]
    )


def test_page_break_after_a_finished_sentence_warns_and_keeps_the_paragraph_end() -> None:
    imported = import_file(DATA / "pm-2020-03-12-rheinufer.txt")
    assert imported.release.paragraphs[3].startswith("Der Ortsbeirat hat dem Entwurf")
    assert len(imported.warnings) == 1
    assert imported.warnings[0].startswith("pm-2020-03-12-rheinufer.txt:39: a page break falls")
    assert "join them by hand" in imported.warnings[0]


def test_release_without_furniture_imports_cleanly() -> None:
    imported = import_file(DATA / "2020-05-04-spielplatz.txt")
    release = imported.release
    assert imported.warnings == []
    assert release.id == "2020-05-04-spielplatz"
    assert release.date == dt.date(2020, 5, 4)
    assert release.contact == ""
    assert release.paragraphs[1] == (
        "„Wir freuen uns, dass die Kinder den Spielplatz pünktlich zum Frühling "
        "zurückbekommen“, so Bürgermeister Max B. Muster."
    )
    assert "85.000 Euro" in release.paragraphs[0]


def test_page_break_without_furniture_inside_a_quote_is_rejoined() -> None:
    imported = import_file(DATA / "pm-2020-12-01-weihnachtsmarkt.txt")
    paragraphs = imported.release.paragraphs
    assert paragraphs[1] == (
        "Bürgermeisterin Eva Beispiel sagte: „Wir haben lange überlegt, ob wir den Markt in "
        "diesem Jahr überhaupt ausrichten können. Jetzt sind wir froh, dass es mit einem guten "
        "Konzept gelingt.“ Der Markt ist täglich von 11 bis 20.30 Uhr geöffnet."
    )
    assert len(paragraphs) == 3


def test_contact_block_printed_once_is_taken_with_a_warning() -> None:
    imported = import_file(DATA / "pm-2020-12-01-weihnachtsmarkt.txt")
    assert imported.release.contact_lines[0] == "Landeshauptstadt Mainz"
    assert imported.release.contact_lines[-1] == "E-Mail: presse@example.org"
    assert "Landeshauptstadt" not in "\n".join(imported.release.paragraphs)
    assert any("appears only once" in w and ":19:" in w for w in imported.warnings)


# Ambiguous and bad input ----------------------------------------------------------
HEADER = "4. November 2019\n\nPressemitteilung: Ein Titel\n\n(rap) Ein Vorspann\n\n"


def test_missing_title_line_takes_the_first_line_with_a_warning() -> None:
    text = "Mainz, 4. November 2019\n\nEin Titel ohne Vorsatz\n\nDer Text. Er ist kurz.\n"
    imported = import_text(text, source=Path("x.txt"))
    assert imported.release.title == "Ein Titel ohne Vorsatz"
    assert imported.release.place == "Mainz"
    assert any("no 'Pressemitteilung: …' line" in w for w in imported.warnings)
    assert any("no '(initials) lead' line" in w for w in imported.warnings)


def test_missing_date_line_takes_the_file_name_date_with_a_warning() -> None:
    text = "Pressemitteilung: Ein Titel\n\n(rap) Vorspann\n\nDer Text.\n"
    imported = import_text(text, source=Path("pm-2021-02-03-titel.txt"))
    assert imported.release.date == dt.date(2021, 2, 3)
    assert any("took 2021-02-03 from the file name" in w for w in imported.warnings)


def test_no_date_at_all_is_an_error_naming_the_file() -> None:
    with pytest.raises(InputError, match="no date found") as err:
        import_text("Pressemitteilung: Titel\n\nText.\n", source=Path("pm-ohne.txt"))
    assert str(err.value).startswith("pm-ohne.txt: ")


def test_no_title_at_all_is_an_error_naming_the_file() -> None:
    with pytest.raises(InputError, match="no title found") as err:
        import_text("4. November 2019\n\nEin Satz. Und noch einer.\n", source=Path("pm.txt"))
    assert str(err.value).startswith("pm.txt: ")


def test_short_numeric_date_is_recognised() -> None:
    text = "04.11.2019\n\nPressemitteilung: Titel\n\n(ab) Vorspann\n\nText.\n"
    release = import_text(text, source=Path("a.txt")).release
    assert release.date == dt.date(2019, 11, 4)


def test_initials_before_a_long_paragraph_are_the_author_not_a_lead() -> None:
    text = (
        "4. November 2019\n\nPressemitteilung: Titel\n\n"
        "(rap) Die Stadt lädt ein. Alle Bürgerinnen und Bürger sind willkommen.\n"
    )
    imported = import_text(text, source=Path("a.txt"))
    assert imported.release.author == "rap"
    assert imported.release.lead == ""
    assert imported.release.paragraphs == [
        "Die Stadt lädt ein. Alle Bürgerinnen und Bürger sind willkommen."
    ]


def test_hyphenated_word_cut_by_a_page_break_is_joined_with_a_warning() -> None:
    text = HEADER + "Die Wirtschafts-\f\nförderung lädt ein.\n"
    imported = import_text(text, source=Path("a.txt"))
    assert imported.release.paragraphs == ["Die Wirtschaftsförderung lädt ein."]
    assert imported.warnings == [
        "a.txt:8: joined the word 'Wirtschaftsförderung' hyphenated across a page break"
    ]


def test_hyphen_before_a_conjunction_keeps_hyphen_and_space() -> None:
    text = HEADER + "Es geht um Handels-\f\nund Investitionsfragen.\n"
    release = import_text(text, source=Path("a.txt")).release
    assert release.paragraphs == ["Es geht um Handels- und Investitionsfragen."]


def test_wrapped_lines_of_a_paragraph_are_joined_with_spaces() -> None:
    text = HEADER + "Die Stadt lädt\nam 3. Oktober\nzum Fest ein.\n"
    release = import_text(text, source=Path("a.txt")).release
    assert release.paragraphs == ["Die Stadt lädt am 3. Oktober zum Fest ein."]


def test_empty_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "leer.txt"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty") as err:
        import_file(path)
    assert err.value.path == path


def test_binary_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bild.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputError, match="binary") as err:
        import_file(path)
    assert err.value.path == path


def test_latin1_file_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes((HEADER + "Die Straße ist gesperrt.\n").encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        import_file(path)
    assert err.value.path == path
    assert err.value.line == 7  # "Straße", the first byte that is not UTF-8


def test_file_named_pdf_that_is_not_a_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pm.pdf"
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(InputError, match="not a PDF"):
        import_file(path)


# PDF -----------------------------------------------------------------------------
def _write_pdf(path: Path, pages: list[list[str]], furniture: list[str]) -> None:
    fpdf = pytest.importorskip("fpdf")
    if not FONT.is_file():
        pytest.skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    pdf = fpdf.FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=11)
    pdf.set_auto_page_break(False)
    for blocks in pages:
        pdf.add_page()
        for block in blocks:
            pdf.multi_cell(0, 6, block, align="L")
            pdf.ln(5)
        pdf.set_y(-45)
        for line in furniture:
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def test_pdf_is_imported_with_furniture_removed_and_page_break_rejoined(tmp_path: Path) -> None:
    path = tmp_path / "pm-2019-11-04-isa-foshan.pdf"
    first = (
        "Die Landeshauptstadt Mainz hat ihre Wirtschaftsbeziehungen zu China intensiviert. "
        "Zukünftig können Mainzer Unternehmen im Bereich der Industrie 4.0 profitieren. "
        "„Mainz hat eine Industrie-Exportquote von 44,3%. Eine immer bedeutendere Rolle "
        "spielen dabei Kontakte nach China“, erklären Manuela Matz und Simone Ritter. Bei "
        "der Plenarsitzung der Chinesisch-Deutschen Industriestädteallianz standen"
    )
    _write_pdf(
        path,
        [
            [
                "4. November 2019",
                "Pressemitteilung: Deutsch-Chinesische Industriestädteallianz (ISA)",
                "(rap) Wirtschaftsdezernentin Matz will Chancen für Mainz nutzen",
                first,
            ],
            [
                "Gespräche mit Verantwortlichen aus den ISA-Mitgliedsstädten im Mittelpunkt.",
                "Die ISA wurde im April 2016 gegründet.",
            ],
        ],
        [
            "Landeshauptstadt Mainz",
            "Pressestelle | Kommunikation",
            "55116 Mainz",
            "Telefon: 49 6131 12 22 21",
            "www.mainz.de",
        ],
    )
    imported = import_file(path)
    release = imported.release
    assert imported.warnings == []
    assert release.id == "2019-11-04-isa-foshan"
    assert release.title == "Deutsch-Chinesische Industriestädteallianz (ISA)"
    assert release.lead == "Wirtschaftsdezernentin Matz will Chancen für Mainz nutzen"
    assert release.author == "rap"
    assert release.place == "Mainz"
    assert release.contact_lines == [
        "Landeshauptstadt Mainz",
        "Pressestelle | Kommunikation",
        "55116 Mainz",
        "Telefon: 49 6131 12 22 21",
        "www.mainz.de",
    ]
    assert release.paragraphs == [
        first + " Gespräche mit Verantwortlichen aus den ISA-Mitgliedsstädten im Mittelpunkt.",
        "Die ISA wurde im April 2016 gegründet.",
    ]


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(InputError, match="no text"):
        import_file(path)


def test_broken_pdf_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"garbage " * 50)
    with pytest.raises(InputError) as err:
        import_file(path)
    assert err.value.path == path


def test_header_lines_set_without_blank_lines_are_told_apart() -> None:
    text = (
        "Mainz, 4. November 2019\nPressemitteilung: Ein Titel,\nder umbricht\n"
        "(rap) Ein Vorspann\n\nDer Text.\n"
    )
    imported = import_text(text, source=Path("a.txt"))
    release = imported.release
    assert (release.title, release.lead, release.author) == (
        "Ein Titel, der umbricht",
        "Ein Vorspann",
        "rap",
    )
    assert release.paragraphs == ["Der Text."]
    assert imported.warnings == []


def test_windows_line_endings_are_read_like_unix_ones(tmp_path: Path) -> None:
    path = tmp_path / "pm-2019-11-04-isa-foshan.txt"
    path.write_bytes(FIXTURE_RELEASE.read_bytes().replace(b"\n", b"\r\n"))
    assert dumps(import_file(path).release) == dumps(import_file(FIXTURE_RELEASE).release)


def test_title_and_date_repeated_on_every_page_are_read_once() -> None:
    page_top = "4. November 2019\n\nPressemitteilung: Ein Titel\n\n"
    text = (
        page_top + "(rap) Ein Vorspann\n\nDer erste Absatz endet mitten im\n\n"
        "Pressestelle\nTelefon: 06131 12 22 21\n\n\n\n"
        + page_top
        + "Satz. Der zweite Absatz.\n\nPressestelle\nTelefon: 06131 12 22 21\n"
    )
    imported = import_text(text, source=Path("a.txt"))
    release = imported.release
    assert (release.date, release.title) == (dt.date(2019, 11, 4), "Ein Titel")
    assert release.paragraphs == ["Der erste Absatz endet mitten im Satz. Der zweite Absatz."]
    assert release.contact_lines == ["Pressestelle", "Telefon: 06131 12 22 21"]
    assert imported.warnings == []


_WORDS = ["Stadt", "mainz", "lädt", "am", "3.", "Oktober", "1.250", "Gäste", "„Fest“", "ein",
          "Industrie", "4.0", "z. B.", "Rathaus", "44,3%", "und", "Mainzer", "Bürger"]  # fmt: skip
_sentence = st.lists(st.sampled_from(_WORDS), min_size=2, max_size=12).map(
    lambda ws: " ".join([ws[0].capitalize(), *ws[1:]]) + "."
)
_paragraph = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(st.lists(_paragraph, min_size=1, max_size=5, unique=True), st.data())
def test_a_paragraph_cut_anywhere_inside_a_sentence_is_rejoined(paragraphs, data) -> None:
    which = data.draw(st.integers(0, len(paragraphs) - 1))
    words = paragraphs[which].split(" ")
    cuts = [i for i in range(1, len(words)) if not words[i - 1].endswith(".")]
    if not cuts:
        return
    at = data.draw(st.sampled_from(cuts))
    furniture = "Pressestelle\n\nTelefon: 06131 12 22 21\n\nwww.example.org"
    # A block printed twice is furniture by definition; keep the pieces unique.
    assume(" ".join(words[at:]) not in paragraphs)
    body = list(paragraphs)
    body[which] = " ".join(words[:at]) + "\n\n" + furniture + "\n\n\n\n" + " ".join(words[at:])
    text = HEADER + "\n\n".join(body) + "\n\n" + furniture + "\n"
    imported = import_text(text, source=Path("a.txt"))
    assert imported.release.paragraphs == paragraphs
    assert imported.release.contact_lines == furniture.split("\n\n")
    assert imported.warnings == []


def test_letterhead_printed_once_before_the_date_is_dropped_with_a_warning() -> None:
    text = "Landeshauptstadt Mainz – Der Oberbürgermeister\n\n" + HEADER + "Der Text.\n"
    imported = import_text(text, source=Path("a.txt"))
    assert imported.release.paragraphs == ["Der Text."]
    assert imported.warnings == [
        "a.txt:1: ignored 'Landeshauptstadt Mainz – Der Oberbürgermeister' before the date line"
    ]


def test_words_hyphenated_at_line_ends_are_joined_with_a_warning() -> None:
    text = HEADER + "Die Wirtschafts-\nförderung und die Handels-\nund Investitions-\nberatung.\n"
    imported = import_text(text, source=Path("a.txt"))
    assert imported.release.paragraphs == [
        "Die Wirtschaftsförderung und die Handels- und Investitionsberatung."
    ]
    assert imported.warnings == [
        "a.txt:7: joined words hyphenated at a line end: Wirtschaftsförderung, "
        "Investitionsberatung — check them"
    ]
