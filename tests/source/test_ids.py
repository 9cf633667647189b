"""Release ids: what a release is called when the office does not say."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pressdist.source.ids import MAX_ID_LENGTH, default_release_id, slug
from pressdist.workspace import validate_release_id


def test_default_id_drops_a_prefix_before_the_date() -> None:
    date = dt.date(2019, 11, 4)
    assert default_release_id("pm-2019-11-04-isa-foshan", date, "x") == "2019-11-04-isa-foshan"
    assert default_release_id("PM_2019-11-04 ISA Foshan", date, "x") == "2019-11-04-isa-foshan"


def test_default_id_without_a_date_uses_date_and_title_slug() -> None:
    title = "Große Straßenfeste für Mainz: Überblick"
    assert default_release_id("entwurf", dt.date(2020, 1, 2), title) == (
        "2020-01-02-grosse-strassenfeste-fuer-mainz-ueberblick"
    )
    assert slug("Déjà vu — „Zitat“") == "deja-vu-zitat"


def test_an_id_from_a_long_title_is_cut_at_a_dash() -> None:
    title = "Deutsch-Chinesische Industriestädteallianz (ISA) - Delegationsreise nach Foshan"
    assert default_release_id("neu", dt.date(2019, 11, 4), title) == (
        "2019-11-04-deutsch-chinesische-industriestaedteallianz-isa"
    )
    long_stem = "pm-2019-11-04-" + "-".join(["delegationsreise"] * 8)
    assert default_release_id(long_stem, dt.date(2019, 11, 4), "x") == (
        "2019-11-04-delegationsreise-delegationsreise"  # a third would make 61
    )


@given(st.text(min_size=1, max_size=300), st.text(max_size=300))
@settings(max_examples=200)
def test_a_default_id_is_never_longer_than_60_and_always_valid(stem: str, title: str) -> None:
    release_id = default_release_id(stem, dt.date(2019, 11, 4), title)
    assert len(release_id) <= 60
    assert validate_release_id(release_id) == release_id


def test_a_title_word_too_long_for_an_id_is_left_out_rather_than_cut() -> None:
    word = "donaudampfschifffahrtsgesellschaft" * 2
    assert len("2019-11-04-" + word) > MAX_ID_LENGTH
    assert default_release_id("neu", dt.date(2019, 11, 4), word) == "2019-11-04"
    assert default_release_id("neu", dt.date(2019, 11, 4), f"Fest {word}") == "2019-11-04-fest"


def test_an_impossible_date_in_the_file_name_still_gives_an_id() -> None:
    assert default_release_id("pm-2019-13-45-fest", dt.date(2019, 11, 4), "x") == "2019-13-45-fest"


@given(st.text(max_size=200), st.integers(min_value=1, max_value=12))
def test_a_slug_is_lowercase_words_joined_by_single_dashes(text: str, words: int) -> None:
    found = slug(text, words=words)
    assert re.fullmatch(r"(?:[a-z0-9]+(?:-[a-z0-9]+)*)?", found)
    assert len(found.split("-")) <= words
