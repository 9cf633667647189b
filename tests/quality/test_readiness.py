"""Readiness: the rule that decides which languages may be sent, on checked units."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polib
from hypothesis import given
from hypothesis import strategies as st

from pressdist.quality.checks import LanguageCheck, check_units
from pressdist.quality.readiness import Readiness, judge, serving
from pressdist.source.release import Release
from pressdist.translation.units import State, catalog_units
from pressdist.workspace import Config

PO = Path("translations/en/2024-03-01-hafenfest.po")
RELEASE = Release(
    id="2024-03-01-hafenfest",
    date=dt.date(2024, 3, 1),
    title="Hafenfest in Beispiel",
    lead="Drei Tage Musik am Wasser",
    paragraphs=["Die Stadt lädt ein. Der Eintritt ist frei."],
    contact="Pressestelle",
)
GOOD = {
    "Hafenfest in Beispiel": "Harbour festival in Beispiel",
    "Drei Tage Musik am Wasser": "Three days of music by the water",
    "Die Stadt lädt ein.": "The city invites you.",
    "Der Eintritt ist frei.": "Admission is free.",
    "Pressestelle": "Press office",
}


def checked(entries: dict[str, tuple[str, bool]] | None, **config) -> tuple[LanguageCheck, Config]:
    """The checks of a catalog holding ``entries`` (msgid -> (msgstr, fuzzy)), None: no catalog."""
    cfg = Config(path=Path("pressdist.toml"), **config)
    po = None
    if entries is not None:
        po = polib.POFile()
        for n, (msgid, (msgstr, fuzzy)) in enumerate(entries.items()):
            entry = polib.POEntry(msgid=msgid, msgstr=msgstr, flags=["fuzzy"] if fuzzy else [])
            entry.linenum = 10 + 5 * n
            po.append(entry)
    units = check_units(
        catalog_units(po, RELEASE), RELEASE.id, "en", path=PO, check_fuzzy=cfg.allow_fuzzy
    )
    return LanguageCheck(RELEASE.id, "en", PO, po is not None, tuple(units)), cfg


def good(**changes: tuple[str, bool]) -> dict[str, tuple[str, bool]]:
    return {msgid: changes.get(msgid, (msgstr, False)) for msgid, msgstr in GOOD.items()}


def test_a_complete_correct_catalog_is_sendable():
    r = judge(*checked(good()))
    assert r.sendable and r.reasons == [] and (r.translated, r.total) == (5, 5)


def test_no_catalog_is_one_reason_that_says_to_extract():
    r = judge(*checked(None))
    assert not r.sendable and r.translated == 0 and r.total == 5
    assert r.reasons == [f"{PO}: no catalog yet; run `pressdist extract {RELEASE.id}`"]
    assert [f.check for f in r.findings] == ["untranslated"]


def test_untranslated_entries_are_named_by_line_below_the_threshold():
    r = judge(*checked(good(**{"Pressestelle": ("", False), "Die Stadt lädt ein.": ("", False)})))
    assert not r.sendable and r.translated == 3
    assert r.reasons == [
        f"3 of 5 entries translated (60%, 100% needed): {PO}:20, :30; "
        "translate and review fuzzy entries"
    ]


def test_a_fuzzy_entry_blocks_unless_fuzzy_ones_are_allowed():
    entries = good(**{"Pressestelle": ("Press office", True)})
    r = judge(*checked(entries, min_translated=80))
    assert not r.sendable
    assert r.reasons == [f"1 fuzzy entries ({PO}:30): review them and remove the flag"]
    assert judge(*checked(entries, allow_fuzzy=True)).sendable


def test_an_error_blocks_and_a_warning_only_when_configured():
    error = judge(*checked(good(**{"Der Eintritt ist frei.": ("Admission is free", False)})))
    assert not error.sendable and error.reasons == [
        f"{PO}:25: punctuation: the source ends a sentence; the translation should end in ., ! or ?"
    ]
    spaced = good(**{"Der Eintritt ist frei.": ("Admission  is free.", False)})
    assert judge(*checked(spaced)).sendable
    assert not judge(*checked(spaced, allow_warnings=False)).sendable


@given(
    states=st.lists(st.sampled_from(["ok", "fuzzy", "empty"]), min_size=5, max_size=5),
    min_translated=st.integers(0, 100),
    allow_fuzzy=st.booleans(),
)
def test_sendable_means_no_reason_and_counts_only_usable_translations(
    states, min_translated, allow_fuzzy
):
    texts = {"ok": None, "fuzzy": None, "empty": ""}
    entries = {
        msgid: (GOOD[msgid] if texts[s] is None else texts[s], s == "fuzzy")
        for msgid, s in zip(GOOD, states, strict=True)
    }
    check, cfg = checked(entries, min_translated=min_translated, allow_fuzzy=allow_fuzzy)
    r = judge(check, cfg)
    assert r.sendable == (r.reasons == [])
    usable = states.count("ok") + (states.count("fuzzy") if allow_fuzzy else 0)
    assert r.translated == usable
    if r.sendable:
        assert 100 * usable / 5 >= min_translated
        assert allow_fuzzy or "fuzzy" not in states
    assert [u.unit.state for u in r.results].count(State.UNTRANSLATED) == states.count("empty")


def _ready(language: str, sendable: bool) -> Readiness:
    return Readiness(language, sendable, None)


def test_a_sendable_language_serves_itself_and_others_follow_their_chain():
    cfg = Config(path=Path("pressdist.toml"), languages=["en", "zh_CN", "fr"])
    cfg.fallback = {"zh_CN": ["fr", "en"], "fr": ["zh_CN"]}
    judged = {
        "de": _ready("de", True),
        "en": _ready("en", True),
        "zh_CN": _ready("zh_CN", False),
        "fr": _ready("fr", False),
    }
    served = {code: r.serves for code, r in serving(judged, cfg).items()}
    assert served == {"de": "de", "en": "en", "zh_CN": "en", "fr": None}
