"""Content: every word of a mail in its language, before any layout."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.mail.content import (
    LOCALE_DIR,
    Correction,
    content,
    format_release_date,
    join_sentences,
    labels,
    usable_translations,
)
from pressdist.source.release import Release, load_release
from pressdist.text import is_wide
from pressdist.translation.catalog import extract
from pressdist.workspace import Workspace

DATA = Path(__file__).parent.parent / "data" / "quality"
RELEASE = "2024-03-01-hafenfest"
ALL = ["de", "en", "zh_CN"]


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """The quality workspace with its catalogs extracted, nothing translated yet."""
    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    ws = Workspace.open(root)
    release = load_release(ws, RELEASE)
    for lang in ws.config.languages:
        extract(ws, release, lang)
    return ws


def translate(ws: Workspace, language: str, table: dict[str, tuple[str, list[str]]]) -> None:
    """Set msgstr and flags of the catalog's entries named in ``table``."""
    path = ws.po_path(RELEASE, language)
    po = polib.pofile(str(path))
    for entry in po:
        if entry.msgid in table:
            entry.msgstr, entry.flags = table[entry.msgid][0], table[entry.msgid][1]
    po.save()


def test_release_dates_are_formatted_for_each_language():
    day = dt.date(2019, 11, 4)
    assert format_release_date(day, "de") == "4. November 2019"
    assert format_release_date(day, "en") == "November 4, 2019"
    assert format_release_date(day, "zh_CN") == "2019年11月4日"


def test_labels_of_a_language_without_catalog_fall_back_to_english():
    assert labels("de")["Press release"] == "Pressemitteilung"
    assert labels("fr") == {}


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext missing")
def test_pressdist_label_catalogs_pass_msgfmt_check():
    import subprocess

    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/pressdist.po")):
        done = subprocess.run(
            ["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "{url}" in po.read_text(encoding="utf-8").rsplit("msgstr", 1)[1]


def test_the_source_language_is_the_original_with_german_labels(ws):
    c = content(ws, load_release(ws, RELEASE), "de", ALL)
    assert c.subject == "Pressemitteilung: Hafenfest & Industrie 4.0: Beispiel lädt ein"
    assert (c.kicker, c.contact_heading) == ("Pressemitteilung", "Kontakt")
    assert c.dateline == "Beispiel, 1. März 2024"
    assert c.embargo.startswith("Sperrfrist: 1. März 2024, 10:00")
    assert c.translated_note == ""
    assert c.others == (("en", "English"), ("zh_CN", "中文"))
    assert len(c.paragraphs) == 3 and len(c.contact) == 5


@pytest.mark.parametrize(
    ("language", "subject", "heading"),
    [
        ("de", "Korrektur: Pressemitteilung: ", "Korrektur"),
        ("en", "Correction: Press release: ", "Correction"),
        ("zh_CN", "更正：新闻稿：", "更正"),
    ],
)
def test_a_correction_says_so_in_its_subject_and_box_in_the_mails_language(
    ws, language, subject, heading
):
    release = load_release(ws, RELEASE)
    plain = content(ws, release, language, ALL)
    c = content(ws, release, language, ALL, Correction("Die Zahl war  falsch.\nJetzt stimmt sie."))
    assert c.subject == subject + c.title and plain.subject.endswith(c.title)
    assert c.correction == heading and c.correction_text
    assert c.correction_note == "Die Zahl war falsch. Jetzt stimmt sie."
    assert (plain.correction, plain.correction_note) == ("", "")


def test_untranslated_segments_fall_back_to_the_source_text(ws):
    release = load_release(ws, RELEASE)
    c = content(ws, release, "en", ALL)
    assert c.title == release.title and c.lead == release.lead
    assert c.subject == f"Press release: {release.title}"
    assert c.translated_note == "Translated from the German original."


def test_only_translated_entries_are_used_and_fuzzy_ones_only_when_allowed(ws):
    release = load_release(ws, RELEASE)
    translate(
        ws,
        "en",
        {
            release.title: ("Harbour festival", []),
            release.lead: ("The city expects guests", ["fuzzy"]),
            release.embargo_note: ("   ", []),
        },
    )
    found = usable_translations(ws, release, "en")
    assert found == {(None, release.title): "Harbour festival"}
    c = content(ws, release, "en", ALL)
    assert (c.title, c.lead, c.embargo_note) == (
        "Harbour festival",
        release.lead,
        release.embargo_note,
    )
    ws.config.allow_fuzzy = True
    assert content(ws, release, "en", ALL).lead == "The city expects guests"
    assert usable_translations(ws, release, "de") == {}


def test_the_dateline_place_comes_from_the_catalog_then_the_glossary(ws):
    release = load_release(ws, RELEASE)
    assert content(ws, release, "zh_CN", ALL).dateline.startswith("贝斯匹尔")  # glossary
    translate(ws, "zh_CN", {"Beispiel": ("拜施皮尔", [])})
    assert content(ws, release, "zh_CN", ALL).dateline.startswith("拜施皮尔")  # catalog


@pytest.mark.parametrize(
    ("available", "others"),
    [
        (ALL, (("de", "Deutsch"), ("zh_CN", "中文"))),
        (["en", "de"], (("de", "Deutsch"),)),
        ([], ()),
    ],
)
def test_the_footer_names_only_the_other_available_languages(ws, available, others):
    c = content(ws, load_release(ws, RELEASE), "en", available)
    assert c.others == others
    assert c.also_available == ("Also available in: ", "")


@pytest.mark.parametrize("lang", ALL)
def test_label_pieces_around_a_placeholder_keep_the_whole_label(ws, lang):
    c = content(ws, load_release(ws, RELEASE), lang, ALL)
    for (before, after), msgid, placeholder in (
        (c.also_available, "Also available in: {languages}", "{languages}"),
        (
            c.unsubscribe,
            "You receive this press release as a member of our distribution list. "
            "Unsubscribe: {url}",
            "{url}",
        ),
    ):
        assert before + placeholder + after == labels(lang).get(msgid, msgid)


_titles = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120).filter(
    str.strip
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=_titles)
def test_a_subject_is_one_line_ending_in_the_title_for_any_title(tmp_workspace, title):
    ws = Workspace.open(tmp_workspace)
    release = Release(id="2024-01-01-any", date=dt.date(2024, 1, 1), title=title)
    c = content(ws, release, "de", ["de"])
    assert "\n" not in c.subject and "\r" not in c.subject
    assert c.subject == " ".join(f"Pressemitteilung: {title.strip()}".split())


_sentences = st.lists(st.text(st.sampled_from("ab .中文。,"), max_size=8), max_size=6)


@given(_sentences)
def test_latin_sentences_are_joined_by_one_space(sentences):
    assert join_sentences(sentences, cjk=False) == " ".join(
        s.strip() for s in sentences if s.strip()
    )


@given(_sentences)
def test_cjk_sentences_lose_only_the_space_between_wide_characters(sentences):
    joined = join_sentences(sentences, cjk=True)
    parts = [s.strip() for s in sentences if s.strip()]
    assert joined.replace(" ", "") == "".join(parts).replace(" ", "")
    for left, right in zip(parts, parts[1:], strict=False):
        wide = is_wide(left[-1]) or is_wide(right[0])
        assert (left + right in joined) if wide else (f"{left} {right}" in joined)
