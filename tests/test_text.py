"""The one URL and e-mail pattern, and display widths, that every layer shares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.diagnostics import Diagnostic, located, location
from pressdist.text import EMAIL, URL, is_wide, text_width

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
