"""Quality checks: each catches its planted mistake and passes the right translation."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from conftest import translate_catalogs
from hypothesis import given, settings
from hypothesis import strategies as st

from pressdist.quality import checks
from pressdist.quality.checks import check_entry, check_release
from pressdist.quality.readiness import readiness
from pressdist.source.release import load_release
from pressdist.translation.glossary import load_glossary
from pressdist.workspace import Workspace

DATA = Path(__file__).parent.parent / "data" / "quality"
RELEASE = "2024-03-01-hafenfest"


def translated_workspace(tmp_path: Path) -> Workspace:
    """A copy of tests/data/quality with both catalogs extracted and translated."""
    from pressdist.translation.catalog import extract

    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    ws = Workspace.open(root)
    release = load_release(ws, RELEASE)
    for lang in ws.config.languages:
        extract(ws, release, lang)
    translate_catalogs(root)
    return ws


def names(findings) -> list[str]:
    return [check for check, _msg in findings]


def run(source: str, translation: str, lang: str = "en", **kw) -> list[str]:
    return names(check_entry(source, translation, "de", lang, **kw))


# numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "translation", "lang"),
    [
        ("Die Quote liegt bei 44,3%.", "The rate is 44.3%.", "en"),
        ("Die Quote liegt bei 44,3%.", "出口率为44.3%。", "zh_CN"),
        ("Es kamen 1.500 Gäste.", "1,500 guests came.", "en"),
        ("Es kamen 1.500 Gäste.", "共有1500名嘉宾到场。", "zh_CN"),
        ("Mainz ist 2017 beigetreten.", "Mainz joined in 2017.", "en"),
        ("Mainz ist 2017 beigetreten.", "美因茨于2017年加入。", "zh_CN"),
        ("Am 4. November 2019 in Mainz.", "In Mainz on November 4, 2019.", "en"),
        ("Am 4. November 2019 in Mainz.", "2019年11月4日在美因茨。", "zh_CN"),
        ("Am 4.11.2019 um 10:00 Uhr.", "On 4 November 2019 at 10 a.m.", "en"),
        ("Am 4.11.2019 um 10:00 Uhr.", "2019年11月4日上午10:00。", "zh_CN"),
        ("Industrie 4.0 in 8 Ländern.", "Industry 4.0 in eight countries.", "en"),
        ("Industrie 4.0 in 8 Ländern.", "八个国家的工业4.0。", "zh_CN"),
    ],
)
def test_numbers_accept_a_correct_conversion_to_the_locale(source, translation, lang):
    assert "numbers" not in run(source, translation, lang)


@pytest.mark.parametrize(
    ("source", "translation", "lang"),
    [
        ("Die Quote liegt bei 44,3%.", "The rate is 44.8%.", "en"),
        ("Die Quote liegt bei 44,3%.", "出口率为43.3%。", "zh_CN"),
        # Left in German notation: 1.500 reads as one and a half in English.
        ("Es kamen 1.500 Gäste.", "1.500 guests came.", "en"),
        ("Es kamen 1.500 Gäste.", "共有150名嘉宾到场。", "zh_CN"),
        ("Mainz ist 2017 beigetreten.", "Mainz joined in 2016.", "en"),
        ("Am 4. November 2019 in Mainz.", "2019年11月14日在美因茨。", "zh_CN"),
        ("Am 4.11.2019 um 10:00 Uhr.", "On 4 December 2019 at 10 a.m.", "en"),
        ("Industrie 4.0 in 8 Ländern.", "工业4.1在八个国家。", "zh_CN"),
    ],
)
def test_numbers_catch_a_changed_number(source, translation, lang):
    findings = check_entry(source, translation, "de", lang)
    assert "numbers" in names(findings)


def test_numbers_finding_names_the_number_as_written_in_the_source():
    [(check, message)] = check_entry("Quote: 44,3%.", "Rate: 44.8%.", "de", "en")
    assert check == "numbers" and "44,3" in message


@settings(max_examples=60, deadline=None)
@given(
    value=st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False),
    lang=st.sampled_from(["en", "zh_CN"]),
)
def test_any_number_written_in_each_locales_convention_matches(value, lang):
    from babel.numbers import format_decimal

    source = f"Der Wert beträgt {format_decimal(value, locale='de')} Euro."
    translation = f"The value is {format_decimal(value, locale=lang)} euros."
    assert "numbers" not in run(source, translation, lang)


@settings(max_examples=40, deadline=None)
@given(value=st.integers(min_value=10, max_value=10_000_000), delta=st.integers(1, 9))
def test_any_changed_number_is_caught(value, delta):
    from babel.numbers import format_decimal

    source = f"Es sind {format_decimal(value, locale='de')} Besucher."
    translation = f"There are {format_decimal(value + delta, locale='en')} visitors."
    assert "numbers" in run(source, translation)


def test_strict_parsing_refuses_what_babel_reads_laxly():
    from pressdist.quality.numbers import parse

    assert parse("44,3", "de") == Decimal("44.3")
    assert parse("1.500", "de") == Decimal("1500")
    assert parse("44.3", "de") == "44.3"  # not 443: no German number at all


# urls, emails, phones, handles ------------------------------------------------


def test_urls_must_stay_unchanged():
    src = "Mehr unter https://example.org/hafenfest bereit."
    assert "urls" not in run(src, "More at https://example.org/hafenfest.")
    assert "urls" in run(src, "More at https://example.org/harbour-festival.")
    assert "urls" in run(src, "更多信息请见 https://example.com/hafenfest 。", "zh_CN")


def test_email_addresses_must_stay_unchanged():
    src = "E-Mail: presse@example.org"
    assert "emails" not in run(src, "电子邮件：presse@example.org", "zh_CN")
    assert "emails" in run(src, "E-mail: press@example.org")
    assert "emails" in run(src, "电子邮件：presse@example.com", "zh_CN")


def test_phone_numbers_keep_their_digits_but_may_change_spacing():
    src = "Telefon: +49 6131 12 22 21"
    assert "phones" not in run(src, "Phone: +49 6131 122221")
    assert "phones" in run(src, "Phone: +49 6131 12 22 12")
    assert "phones" in run(src, "电话：+49 6131 12 22 12", "zh_CN")


def test_handles_must_stay_unchanged():
    src = "Folgen Sie @beispiel_stadt für Neuigkeiten."
    assert "handles" not in run(src, "Follow @beispiel_stadt for news.")
    assert "handles" in run(src, "Follow @example_city for news.")
    assert "handles" not in run(src, "欢迎关注 @beispiel_stadt 获取最新消息。", "zh_CN")
    assert "handles" in run(src, "欢迎关注 @beispiel 获取最新消息。", "zh_CN")


# added-links --------------------------------------------------------------------


def added(source: str, translation: str, lang: str = "en") -> list[str]:
    return [m for c, m in check_entry(source, translation, "de", lang) if c == "added-links"]


@pytest.mark.parametrize(
    ("translation", "named"),
    [
        ("More at https://example.org/hafenfest, log in at https://examp1e.org/login.",
         "URL https://examp1e.org/login"),
        ("More at https://example.org/hafenfest or www.evil.example.", "URL www.evil.example"),
        ("More at https://example.org/hafenfest; questions to help@evil.example.",
         "e-mail address help@evil.example"),
        ("More at https://example.org/hafenfest; call +1 202 555 0143 for tickets.",
         "phone number +1 202 555 0143"),
        ("更多信息请见 https://example.org/hafenfest ，登录 https://evil.example/cn 。",
         "URL https://evil.example/cn"),
    ],
)  # fmt: skip
def test_a_link_or_number_the_source_does_not_have_is_an_error_naming_it(translation, named):
    src = "Mehr unter https://example.org/hafenfest bereit."
    lang = "zh_CN" if "更多" in translation else "en"
    [message] = added(src, translation, lang)
    assert message.startswith(f"{named} is not in the source")
    assert "#, pressdist-no-added-links" in message
    assert checks.by_name("added-links").level == "error"


@pytest.mark.parametrize(
    ("source", "translation"),
    [
        ("Mehr unter https://example.org/hafenfest bereit.",
         "More at https://example.org/hafenfest, or at https://example.org/hafenfest."),
        ("E-Mail: Presse@Example.org", "E-mail: presse@example.org"),
        ("Telefon: 06131 12-2334", "Phone: +49 6131 12-2334"),
        ("Telefon: +49 6131 12 22 21", "Phone: +49 6131 122221"),
        ("In den Jahren 2019–2020 wuchs die Stadt.", "In 2019-2020 the city grew."),
        ("Am 4.11.2019 in Mainz.", "In Mainz on 2019-11-04."),
        ("Es kamen 1.500 Gäste.", "1,500 guests came."),
    ],
)  # fmt: skip
def test_what_the_source_has_in_another_form_is_no_addition(source, translation):
    assert added(source, translation) == []


def test_the_flag_is_the_permission_for_an_added_link(tmp_path):
    ws = translated_workspace(tmp_path)
    english = "The programme is at https://example.org/hafenfest and https://example.org/en."
    line = plant(ws, "en", "example.org/hafenfest", english)
    [finding] = check_release(ws, load_release(ws, RELEASE), ["en"])
    assert (finding.check, finding.level, finding.line) == ("added-links", "error", line)
    assert "https://example.org/en" in finding.message
    assert not readiness(ws, load_release(ws, RELEASE))["en"].sendable
    plant(ws, "en", "example.org/hafenfest", english, ["pressdist-no-added-links"])
    assert check_release(ws, load_release(ws, RELEASE), ["en"]) == []
    assert readiness(ws, load_release(ws, RELEASE))["en"].sendable


def test_a_permission_for_the_urls_check_is_none_for_an_added_link(tmp_path):
    ws = translated_workspace(tmp_path)
    phishing = "The programme is at https://examp1e.org/hafenfest."
    plant(ws, "en", "example.org/hafenfest", phishing, ["pressdist-no-urls"])
    found = [f.check for f in check_release(ws, load_release(ws, RELEASE), ["en"])]
    assert found == ["added-links"]


# brackets, quotes, whitespace, punctuation -------------------------------------


def test_brackets_must_be_balanced_full_width_or_not():
    src = "Die Allianz (ISA) tagt."
    assert "brackets" not in run(src, "中德工业城市联盟（ISA）召开会议。", "zh_CN")
    assert "brackets" in run(src, "中德工业城市联盟（ISA召开会议。", "zh_CN")
    assert "brackets" in run(src, "The alliance (ISA] meets.")


def test_quotes_may_change_style_but_must_stay_balanced():
    src = "„Wir freuen uns“, sagte sie."
    assert "quotes" not in run(src, "“We are pleased,” she said.")
    assert "quotes" not in run(src, "她说：「我们很高兴。」", "zh_CN")
    assert "quotes" not in run(src, "她说：“我们很高兴。”", "zh_CN")
    assert "quotes" in run(src, "“We are pleased, she said.")
    assert "quotes" in run(src, "她说：“我们很高兴。", "zh_CN")


def test_a_quotation_spanning_sentences_stays_open_in_the_translation():
    src = "„Mainz hat eine Exportquote von 44,3%."
    assert "quotes" not in run(src, "“Mainz has an export rate of 44.3%.")
    assert "quotes" in run(src, "Mainz has an export rate of 44.3%.")


def test_whitespace_mismatch_and_doubled_spaces_are_warned():
    src = "Die Stadt lädt ein."
    assert "whitespace" not in run(src, "The city invites you.")
    assert "whitespace" in run(src, "The city invites you. ")
    assert "whitespace" in run(src, "The city  invites you.")
    assert "whitespace" not in run(src, "本市诚邀您参加。", "zh_CN")
    assert "whitespace" in run(src, " 本市诚邀您参加。", "zh_CN")
    assert checks.by_name("whitespace").level == checks.WARNING


def test_chinese_sentence_ends_in_chinese_punctuation():
    src = "Die Stadt lädt ein."
    assert "punctuation" not in run(src, "本市诚邀您参加。", "zh_CN")
    assert "punctuation" not in run(src, "市长说：“欢迎！”", "zh_CN")
    assert "punctuation" in run(src, "本市诚邀您参加.", "zh_CN")
    assert "punctuation" in run(src, "本市诚邀您参加", "zh_CN")


def test_english_sentence_keeps_its_final_punctuation():
    src = "Die Stadt lädt ein."
    assert "punctuation" not in run(src, "The city invites you.")
    assert "punctuation" not in run(src, "“The city invites you.”")
    assert "punctuation" in run(src, "The city invites you")


def test_a_title_without_final_punctuation_needs_none():
    assert "punctuation" not in run("Hafenfest in Beispiel", "Harbour festival in Beispiel")
    assert "punctuation" not in run("Hafenfest in Beispiel", "贝斯匹尔港口节", "zh_CN")


# glossary and length -----------------------------------------------------------


def test_glossary_warns_when_required_rendering_is_missing(tmp_path):
    path = tmp_path / "glossary.csv"
    path.write_text(
        "source,translation,note\nIndustriestädteallianz,Industrial Cities Alliance,full name\n",
        "utf-8",
    )
    terms = load_glossary(path)
    src = "Mainz ist der Chinesisch-Deutschen Industriestädteallianz beigetreten."
    good = "Mainz joined the Chinese-German Industrial Cities Alliance."
    bad = "Mainz joined the Sino-German Industry Town Alliance."
    assert "glossary" not in run(src, good, glossary=terms)
    assert "glossary" in run(src, bad, glossary=terms)
    zh = [checks.GlossaryTerm("Industriestädteallianz", "中德工业城市联盟")]
    assert "glossary" not in run(src, "美因茨加入了中德工业城市联盟。", "zh_CN", glossary=zh)
    assert "glossary" in run(src, "美因茨加入了中德工业城市同盟。", "zh_CN", glossary=zh)
    assert checks.by_name("glossary").level == checks.WARNING


def test_glossary_terms_do_not_match_inside_handles_or_urls():
    terms = [checks.GlossaryTerm("Beispiel", "贝斯匹尔")]
    assert "glossary" not in run(
        "Folgen Sie @beispiel_stadt.", "关注 @beispiel_stadt。", "zh_CN", glossary=terms
    )
    assert "glossary" in run("Beispiel lädt ein.", "本市诚邀您参加。", "zh_CN", glossary=terms)


def test_length_warns_on_an_absurd_translation_and_counts_cjk_fairly():
    src = "Die Landeshauptstadt Mainz hat ihre Wirtschaftsbeziehungen zu China intensiviert."
    assert "length" not in run(src, "The City of Mainz has stepped up its relations with China.")
    assert "length" not in run(src, "美因茨市进一步加强了与中国的经济联系。", "zh_CN")
    assert "length" in run(src, "Mainz.")
    assert "length" in run(src, "美因茨。", "zh_CN")


# catalogs, flags, release-level checks and readiness --------------------------


def test_correct_translations_of_the_test_workspace_have_no_error(tmp_path):
    ws = translated_workspace(tmp_path)
    findings = check_release(ws, load_release(ws, RELEASE))
    assert [f for f in findings if f.level == checks.ERROR] == []


def plant(ws: Workspace, lang: str, msgid_part: str, new: str, flags: list[str] | None = None):
    """Replace a translation in a catalog; return the entry's line in the file."""
    path = ws.po_path(RELEASE, lang)
    po = polib.pofile(str(path))
    entry = next(e for e in po if msgid_part in e.msgid)
    entry.msgstr = new
    if flags is not None:
        entry.flags = flags
    po.save()
    return next(e for e in polib.pofile(str(path)) if msgid_part in e.msgid).linenum


def test_a_finding_names_the_po_file_and_line(tmp_path):
    ws = translated_workspace(tmp_path)
    line = plant(ws, "zh_CN", "44,3", "本市的出口率为44.8%。")
    [finding] = [f for f in check_release(ws, load_release(ws, RELEASE)) if f.level == "error"]
    assert finding.check == "numbers" and finding.language == "zh_CN"
    assert finding.path == Path("translations/zh_CN/2024-03-01-hafenfest.po")
    assert finding.line == line


def test_a_flag_silences_one_check_on_one_entry(tmp_path):
    ws = translated_workspace(tmp_path)
    plant(ws, "en", "44,3", "The city's export rate is almost half.", ["pressdist-no-numbers"])
    findings = check_release(ws, load_release(ws, RELEASE), ["en"])
    assert "numbers" not in [f.check for f in findings]
    plant(ws, "en", "44,3", "The city's export rate is almost half.", [])
    findings = check_release(ws, load_release(ws, RELEASE), ["en"])
    assert "numbers" in [f.check for f in findings]


def test_a_translator_comment_silences_a_check_where_gnu_tools_drop_unknown_flags(tmp_path):
    ws = translated_workspace(tmp_path)
    path = ws.po_path(RELEASE, "en")
    po = polib.pofile(str(path))
    entry = next(e for e in po if "44,3" in e.msgid)
    entry.msgstr = "The city's export rate is almost half."
    entry.tcomment = "pressdist-no-numbers"
    po.save()
    findings = check_release(ws, load_release(ws, RELEASE), ["en"])
    assert "numbers" not in [f.check for f in findings]


def test_untranslated_and_fuzzy_entries_are_errors(tmp_path):
    ws = translated_workspace(tmp_path)
    plant(ws, "en", "Pressestelle", "")
    plant(ws, "en", "2017", "Beispiel joined the Industrial Cities Alliance in 2017.", ["fuzzy"])
    found = {f.check: f for f in check_release(ws, load_release(ws, RELEASE), ["en"])}
    assert found["untranslated"].level == "error" and found["untranslated"].line
    assert found["fuzzy"].level == "error"


def test_all_languages_of_a_correct_workspace_are_sendable(tmp_path):
    ws = translated_workspace(tmp_path)
    ready = readiness(ws, load_release(ws, RELEASE))
    assert list(ready) == ["de", "en", "zh_CN"]
    assert all(r.sendable and r.serves == code for code, r in ready.items())


def test_a_wrong_number_makes_chinese_unsendable_and_falls_back_to_english(tmp_path):
    ws = translated_workspace(tmp_path)
    line = plant(ws, "zh_CN", "44,3", "本市的出口率为44.8%。")
    ready = readiness(ws, load_release(ws, RELEASE))
    zh = ready["zh_CN"]
    assert not zh.sendable and zh.serves == "en"
    assert any(f"translations/zh_CN/2024-03-01-hafenfest.po:{line}" in r for r in zh.reasons)
    assert ready["en"].sendable


def test_missing_catalog_is_not_sendable_and_says_to_extract(tmp_path):
    ws = translated_workspace(tmp_path)
    ws.po_path(RELEASE, "zh_CN").unlink()
    zh = readiness(ws, load_release(ws, RELEASE))["zh_CN"]
    assert not zh.sendable and "pressdist extract" in zh.reasons[0]


def test_config_may_allow_fuzzy_entries_and_a_translation_threshold(tmp_path):
    ws = translated_workspace(tmp_path)
    plant(ws, "en", "2017", "Beispiel joined the Industrial Cities Alliance in 2017.", ["fuzzy"])
    plant(ws, "en", "Pressestelle", "")
    release = load_release(ws, RELEASE)
    assert not readiness(ws, release)["en"].sendable
    ws.config.allow_fuzzy = True
    ws.config.min_translated = 90
    en = readiness(ws, release)["en"]
    assert en.sendable, en.reasons


def test_warnings_block_sending_only_when_config_says_so(tmp_path):
    ws = translated_workspace(tmp_path)
    plant(ws, "en", "2017", "Beispiel joined the Sino-German Alliance in 2017.")
    release = load_release(ws, RELEASE)
    assert readiness(ws, release)["en"].sendable
    ws.config.allow_warnings = False
    en = readiness(ws, release)["en"]
    assert not en.sendable and any("glossary" in r for r in en.reasons)


def test_unfit_languages_without_a_sendable_fallback_serve_nobody(tmp_path):
    ws = translated_workspace(tmp_path)
    plant(ws, "zh_CN", "44,3", "本市的出口率为44.8%。")
    plant(ws, "en", "44,3", "The city's export rate is 44.8%.")
    ws.config.fallback = {"zh_CN": ["en"]}
    assert readiness(ws, load_release(ws, RELEASE))["zh_CN"].serves is None


def test_the_example_releases_translations_raise_no_finding():
    root = Path(__file__).resolve().parent.parent.parent
    ws = Workspace.open(root)
    release_id = "2019-11-04-isa-foshan"
    if not all(ws.po_path(release_id, lang).is_file() for lang in ws.config.languages):
        pytest.skip("the example workspace has no translations yet")
    assert check_release(ws, load_release(ws, release_id)) == []


def test_check_names_levels_and_order_are_the_interface():
    assert [(c.name, c.level) for c in checks.CHECKS] == [
        ("untranslated", "error"),
        ("fuzzy", "error"),
        ("numbers", "error"),
        ("urls", "error"),
        ("emails", "error"),
        ("phones", "error"),
        ("handles", "error"),
        ("added-links", "error"),
        ("brackets", "error"),
        ("quotes", "error"),
        ("punctuation", "error"),
        ("whitespace", "warning"),
        ("glossary", "warning"),
        ("length", "warning"),
    ]


def test_a_finding_is_a_diagnostic_and_prints_as_check_json_always_did(tmp_path):
    ws = translated_workspace(tmp_path)
    line = plant(ws, "zh_CN", "44,3", "本市的出口率为44.8%。")
    [finding] = [f for f in check_release(ws, load_release(ws, RELEASE)) if f.level == "error"]
    assert finding.location == finding.diagnostic.location == f"{finding.path}:{line}"
    assert list(finding.to_dict()) == [
        "release_id",
        "language",
        "path",
        "line",
        "check",
        "level",
        "message",
        "msgid",
    ]
    assert finding.to_dict()["path"] == "translations/zh_CN/2024-03-01-hafenfest.po"
