"""The one URL and e-mail pattern, and display widths, that every layer shares."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.diagnostics import Diagnostic, located, location
from pressdist.text import (
    BIDI_CONTROLS,
    EMAIL,
    URL,
    is_wide,
    printable,
    printable_json,
    text_width,
)

hosts = st.from_regex(r"[a-z]{2,10}(\.[a-z]{2,8}){1,2}", fullmatch=True)
paths = st.from_regex(r"(/[A-Za-z0-9_-]{1,8}){0,3}(\?[a-z]=[0-9])?", fullmatch=True)
ends = st.sampled_from(
    [".", ",", ";", ":", "!", "?", "。", "，", "；", "：", "！", "？", "、", ")", "）", "」", "”"]
)


@given(st.sampled_from(["https://", "http://", "www."]), hosts, paths, ends)
def test_a_url_ends_where_the_sentence_goes_on(prefix: str, host: str, path: str, end: str) -> None:
    url = f"{prefix}{host}{path}"
    for text in (f"Mehr unter {url}{end} Danke", f"详情请见{url}{end}"):
        assert [m.group(0) for m in URL.finditer(text)] == [url]


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("„www.mainz.de“", "www.mainz.de"),
        ("(siehe https://example.org/a_(b))", "https://example.org/a_"),
        ("www.neustadt.example.de/hallenbad。", "www.neustadt.example.de/hallenbad"),
        ("<https://example.org/x>", "https://example.org/x"),
        ("HTTPS://EXAMPLE.ORG/Seite.", "HTTPS://EXAMPLE.ORG/Seite"),
    ],
)
def test_quotes_and_brackets_end_a_url(text: str, url: str) -> None:
    assert URL.search(text).group(0) == url


@given(st.from_regex(r"[a-z][a-z0-9._-]{0,10}", fullmatch=True), hosts, ends)
def test_an_email_address_is_found_without_what_follows(local: str, host: str, end: str) -> None:
    address = f"{local}@{host}"
    for text in (f"Fragen an {address}{end}", f"请发邮件至{address}{end}谢谢"):
        assert EMAIL.search(text).group(0) == address


def test_wide_characters_take_two_columns() -> None:
    assert is_wide("中") and not is_wide("a")
    assert text_width("中文ab") == 6
    assert text_width("“x”", cjk=True) == 5 and text_width("“x”", cjk=False) == 3


def test_one_way_to_write_a_place() -> None:
    assert location(None) == "" and location("a.po") == "a.po" and location("a.po", 3) == "a.po:3"
    assert located("kaputt", "a.po", 3) == "a.po:3: kaputt" and located("kaputt", None) == "kaputt"
    d = Diagnostic(None, None, "error", "kaputt")
    assert str(d) == "kaputt" and d.location == ""


# What may reach a terminal -------------------------------------------------------

_anything = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
_HOSTILE = "\x1b]0;pwned\x07\x1b[2J\r\x9b31m\u202egnp.exe\u2066\x00\x7f"


def _obeyed(ch: str, *, lines: bool = False) -> bool:
    """A character a terminal acts on or that reorders text, rather than shows."""
    if lines and ch in "\n\t":
        return False
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


@given(_anything)
def test_printable_text_holds_no_control_or_direction_character(text: str) -> None:
    assert not any(_obeyed(c) for c in printable(text))
    assert not any(_obeyed(c, lines=True) for c in printable(text, lines=True))


@given(_anything)
def test_printable_shows_every_hidden_character_and_leaves_the_rest(text: str) -> None:
    shown = printable(text)
    if not any(_obeyed(c) for c in text):
        assert shown == text
    assert shown.count("\\") == text.count("\\") + sum(_obeyed(c) for c in text)


def test_terminal_commands_and_overrides_are_shown_as_escapes() -> None:
    assert printable(_HOSTILE) == (
        "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x9b31m\\u202egnp.exe\\u2066\\x00\\x7f"
    )
    assert printable("two\nlines\tand\x1b", lines=True) == "two\nlines\tand\\x1b"


@given(st.dictionaries(_anything, st.lists(_anything, max_size=3), max_size=3))
def test_json_keeps_the_data_but_no_raw_control_character(data) -> None:
    text = printable_json(json.dumps(data, ensure_ascii=False, indent=2))
    assert json.loads(text) == data
    assert not any(_obeyed(c, lines=True) for c in text)
