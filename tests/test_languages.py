"""The Language value and negotiation: the spellings readers and files use."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.languages import Language, is_known, is_valid_code, negotiate, spelling

AVAILABLE = [Language.parse(c) for c in ("de", "en", "zh_CN")]

codes = st.builds(
    lambda lang, rest, seps: lang + "".join(s + r for s, r in zip(seps, rest, strict=False)),
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=3),
    st.lists(st.sampled_from(["CN", "cn", "Hans", "hant", "GB", "us", "419", "posix"]), max_size=2),
    st.lists(st.sampled_from(["-", "_"]), min_size=2, max_size=2),
)


@pytest.mark.parametrize(
    ("written", "code", "tag"),
    [("zh-cn", "zh_CN", "zh-CN"), ("EN", "en", "en"), ("zh_hans_cn", "zh_Hans_CN", "zh-Hans-CN")],
)
def test_parse_gives_the_gettext_spelling_and_the_bcp47_tag(written, code, tag) -> None:
    language = Language.parse(written)
    assert language == code
    assert language.code == code and type(language.code) is str
    assert language.bcp47 == tag


@given(codes)
def test_parse_is_idempotent_and_survives_its_own_tag(written: str) -> None:
    language = Language.parse(written)
    assert Language.parse(language) is language
    assert Language.parse(language.bcp47) == language
    assert Language.parse(language.code.lower().replace("_", "-")) == language


@given(codes)
def test_a_language_keys_dicts_and_prints_as_its_code(written: str) -> None:
    language = Language.parse(written)
    table = {language.code: 1}
    assert table[language] == 1
    assert f"{language}" == language.code
    assert json.dumps({language: [language]}) == json.dumps({language.code: [language.code]})


def test_a_language_cannot_be_changed() -> None:
    language = Language.parse("en")
    with pytest.raises(AttributeError):
        language.code = "de"  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["", "e", "english!", "zh CN", "12", "en--GB"])
def test_what_is_no_language_code_is_refused(bad: str) -> None:
    assert not is_valid_code(bad)
    with pytest.raises(ValueError):
        Language.parse(bad)
    assert spelling(bad) == bad.strip()


def test_base_cjk_and_names() -> None:
    zh = Language.parse("zh_CN")
    assert zh.base == "zh" and zh.is_cjk
    assert not Language.parse("en_GB").is_cjk
    assert zh.own_name == "中文"
    assert Language.parse("de").own_name == "Deutsch"
    assert Language.parse("en").english_name == "English"
    assert zh.plural_forms == "nplurals=1; plural=0;"
    assert is_known("de") and not is_known("xx") and not is_known("no code")


@pytest.mark.parametrize(
    ("requested", "served"),
    [
        ("zh", "zh_CN"),
        ("zh-Hans", "zh_CN"),
        ("zh_SG", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("en-GB", "en"),
        ("en_US", "en"),
        ("de_AT", "de"),
        ("DE", "de"),
        ("zh-Hant", None),
        ("zh_TW", None),
        ("zh-HK", None),
        ("fr", None),
        ("", None),
        ("not a code", None),
    ],
)
def test_negotiation_is_script_aware(requested: str, served: str | None) -> None:
    assert negotiate(requested, AVAILABLE) == served


def test_negotiation_prefers_the_bare_language_over_a_regional_one() -> None:
    available = [Language.parse(c) for c in ("en_US", "en", "de")]
    assert negotiate("en-GB", available) == "en"


@given(st.sampled_from(AVAILABLE))
def test_every_available_language_serves_itself(language: Language) -> None:
    assert negotiate(language.bcp47, AVAILABLE) is language
