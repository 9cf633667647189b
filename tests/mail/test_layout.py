"""Layout: a mail's content as plain text and HTML, with the recipients' slots."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from pressdist.languages import Language
from pressdist.mail.content import Content
from pressdist.mail.layout import (
    HTML_URL_SLOT,
    SLOT,
    TEXT_URL_SLOT,
    layout_html,
    layout_text,
    linked,
)
from pressdist.mail.wrap import NO_START
from pressdist.text import text_width

ENGLISH = Content(
    language=Language.parse("en"),
    subject="Press release: Harbour festival",
    kicker="Press release",
    dateline="Beispiel, March 1, 2024",
    embargo="Embargo: March 1, 2024, 10:00 GMT+01:00",
    embargo_note="Please do not publish before 10:00.",
    title="Harbour festival",
    lead="The city expects 1,500 guests on the Rhine",
    paragraphs=(
        "The programme is at https://example.org/hafenfest. " * 3,
        "Write to presse@example.org.",
    ),
    contact_heading="Contact",
    contact=("City of Beispiel", "www.example.org/presse"),
    also_available=("Also available in: ", ""),
    others=((Language.parse("de"), "Deutsch"), (Language.parse("zh_CN"), "中文")),
    translated_note="Translated from the German original.",
    organisation="Stadt Beispiel",
    unsubscribe=("Unsubscribe: ", ""),
)
CHINESE = dataclasses.replace(
    ENGLISH,
    language=Language.parse("zh_CN"),
    title="港口节",
    paragraphs=("中德工业城市联盟旨在推动企业、行业和科研机构之间高效、快速、直接的对接。" * 4,),
    also_available=("其他语言版本：", ""),
)


class _Text(HTMLParser):
    """The text inside each element, by tag name, as a browser shows it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag not in ("br", "meta", "hr"):
            self.stack.append(tag)
            self.found.setdefault(tag, []).append("")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self.stack:
            self.found[self.stack[-1]][-1] += data


def texts(page: str) -> dict[str, list[str]]:
    parser = _Text()
    parser.feed(page)
    parser.close()
    return parser.found


def test_text_has_dateline_underlined_title_and_a_signature_separator():
    text = layout_text(ENGLISH)
    lines = text.split("\n")
    assert lines[0] == "Press release · Beispiel, March 1, 2024"
    at = lines.index("Harbour festival")
    assert lines[at + 1] == "=" * len("Harbour festival")
    assert "-- " in lines and text.endswith("Stadt Beispiel\n")
    assert "Also available in: Deutsch · 中文" in lines


def test_text_lines_fit_72_columns_in_latin_and_chinese():
    for c in (ENGLISH, CHINESE):
        lines = layout_text(c).splitlines()
        assert all(text_width(line, cjk=c.language == "zh_CN") <= 72 for line in lines)
    assert not any(line[:1] in NO_START for line in layout_text(CHINESE).splitlines())


def test_the_chinese_title_is_underlined_by_its_display_width():
    lines = layout_text(CHINESE).split("\n")
    assert lines[lines.index("港口节") + 1] == "======"


def test_without_an_embargo_there_is_no_embargo_line_in_either_body():
    bare = dataclasses.replace(ENGLISH, embargo="", embargo_note="ignored without an embargo")
    assert "ignored" not in layout_text(bare) and "ignored" not in layout_html(bare)


def test_the_unsubscribe_slots_appear_only_with_the_unsubscribe_line():
    assert TEXT_URL_SLOT not in layout_text(ENGLISH)
    assert HTML_URL_SLOT not in layout_html(ENGLISH)
    text = layout_text(ENGLISH, unsubscribe=True)
    assert text.split("\n").count(TEXT_URL_SLOT) == 1  # the link: a line of its own
    assert text.endswith("Unsubscribe:\n" + TEXT_URL_SLOT + "\n")
    assert layout_html(ENGLISH, unsubscribe=True).count(HTML_URL_SLOT) == 1


def test_the_html_has_one_salutation_slot_before_the_release():
    for unsubscribe in (False, True):
        page = layout_html(ENGLISH, unsubscribe=unsubscribe)
        assert page.count(SLOT) == 1
        assert page.index("<body") < page.index(SLOT) < page.index(ENGLISH.dateline)


def test_html_names_the_other_languages_in_their_own_language():
    page = layout_html(ENGLISH)
    assert (
        'Also available in: <span lang="de">Deutsch</span> · <span lang="zh-CN">中文</span>' in page
    )
    assert '<html lang="en" dir="ltr">' in page
    assert '<html lang="zh-CN" dir="ltr">' in layout_html(CHINESE)


def test_urls_and_addresses_are_linked_and_the_rest_escaped():
    assert linked("Siehe www.example.org & <b>") == (
        'Siehe <a href="https://www.example.org" style="color:inherit">www.example.org</a>'
        " &amp; &lt;b&gt;"
    )
    assert linked("presse@example.org") == (
        '<a href="mailto:presse@example.org" style="color:inherit">presse@example.org</a>'
    )


_any_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


@given(title=_any_text, lead=_any_text, subject=_any_text)
def test_any_text_reaches_the_reader_of_the_html_exactly(title, lead, subject):
    c = dataclasses.replace(ENGLISH, title=title, lead=lead, subject=subject)
    shown = texts(layout_html(c))
    assert shown["h1"] == [title]
    assert shown["title"] == [subject]
    assert shown["p"][3] == lead  # after kicker, dateline and the embargo box


@given(paragraph=_any_text)
def test_every_word_of_a_latin_paragraph_survives_wrapping(paragraph):
    c = dataclasses.replace(ENGLISH, paragraphs=(paragraph,))
    assert " ".join(paragraph.split()) in " ".join(layout_text(c).split())
