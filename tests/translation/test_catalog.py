"""Catalogs: extract, update, strict reading, GNU layout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.source.release import load_release
from pressdist.translation import poformat
from pressdist.translation.catalog import extract
from pressdist.translation.pofile import load_catalog
from pressdist.translation.units import catalog_stats, keyed_segments
from pressdist.workspace import Workspace

RID = "2019-11-04-isa-foshan"
RELEASE = """\
+++
date = 2019-11-04
title = "Delegationsreise nach Foshan"
lead = "Wirtschaftsdezernentin Matz will Chancen für Mainz nutzen"
embargo = 2019-11-04T10:00:00+01:00
embargo_note = "Sperrfrist: 4. November 2019, 10 Uhr"
contact = \"\"\"
Landeshauptstadt Mainz
Telefon: 49 6131 12 22 21
www.mainz.de
\"\"\"
+++

Die Landeshauptstadt Mainz hat ihre Wirtschaftsbeziehungen zu China intensiviert. \
Dazu besuchten Wirtschaftsdezernentin Manuela Matz und Simone Ritter die chinesischen \
Metropolen Foshan und Guiyang.

Die ISA wurde im April 2016 gegründet. Die Mitgliedschaft ist für die Landeshauptstadt \
Mainz kostenfrei.
"""

needs_gettext = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext missing")


def _ws(root: Path, text: str = RELEASE) -> Workspace:
    (root / "releases" / f"{RID}.md").write_text(text, encoding="utf-8")
    return Workspace.open(root)


def _extract(ws: Workspace, lang: str = "en", memory=None):
    return extract(ws, load_release(ws, RID), lang, memory=memory)


def _translate(path: Path, mapping: dict[str, str]) -> None:
    po = polib.pofile(str(path))
    for e in po:
        if e.msgid in mapping:
            e.msgstr = mapping[e.msgid]
    path.write_text(poformat.dumps(po), encoding="utf-8")


def test_extract_writes_one_entry_per_segment_with_reference_and_part(tmp_workspace):
    ws = _ws(tmp_workspace)
    result = _extract(ws)
    po = load_catalog(result.path, language="en")
    release = load_release(ws, RID)
    assert [e.msgid for e in po] == [s.text for s in release.segments()]
    title = po.find("Delegationsreise nach Foshan")
    assert title.occurrences == [(f"releases/{RID}.md", "3")]
    assert title.comment == "title"
    second = po.find("Die Mitgliedschaft ist für die Landeshauptstadt Mainz kostenfrei.")
    assert "paragraph 2, sentence 2 of 2" in second.comment
    assert "paragraph 2: Die ISA wurde im April 2016 gegründet." in second.comment
    assert po.find("www.mainz.de").comment == "contact, line 3"
    embargo = po.find("Sperrfrist: 4. November 2019, 10 Uhr")
    assert embargo.comment == "embargo" and embargo.occurrences == [(f"releases/{RID}.md", "6")]


def test_extract_header_names_release_language_and_plural_forms(tmp_workspace):
    ws = _ws(tmp_workspace)
    po = load_catalog(_extract(ws, "zh_CN").path, language="zh_CN")
    assert po.metadata["Project-Id-Version"] == RID
    assert po.metadata["Language"] == "zh_CN"
    assert po.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert po.metadata["Content-Transfer-Encoding"] == "8bit"
    assert po.metadata["POT-Creation-Date"].startswith("2019-11-04")
    assert po.metadata["X-Generator"].startswith("pressdist ")
    assert po.metadata["Language-Team"]


def test_extract_twice_changes_no_byte(tmp_workspace):
    ws = _ws(tmp_workspace)
    first = _extract(ws)
    _translate(first.path, {"Delegationsreise nach Foshan": "Delegation trip to Foshan"})
    before = first.path.read_bytes()
    again = _extract(ws)
    assert again.written is False
    assert again.path.read_bytes() == before


def test_update_keeps_unchanged_and_marks_changed_source_fuzzy(tmp_workspace):
    ws = _ws(tmp_workspace)
    path = _extract(ws).path
    _translate(
        path,
        {
            "Delegationsreise nach Foshan": "Delegation trip to Foshan",
            "Die ISA wurde im April 2016 gegründet.": "The ISA was founded in April 2016.",
        },
    )
    _ws(tmp_workspace, RELEASE.replace("im April 2016", "im Mai 2016"))
    result = _extract(ws)
    assert result.changed == 1
    po = load_catalog(path, language="en")
    assert po.find("Delegationsreise nach Foshan").msgstr == "Delegation trip to Foshan"
    changed = po.find("Die ISA wurde im Mai 2016 gegründet.")
    assert changed.fuzzy
    assert changed.msgstr == "The ISA was founded in April 2016."
    assert changed.previous_msgid == "Die ISA wurde im April 2016 gegründet."
    assert '#| msgid "Die ISA wurde im April 2016 gegründet."' in path.read_text()


def test_update_makes_deleted_segment_obsolete_and_revives_it(tmp_workspace):
    ws = _ws(tmp_workspace)
    path = _extract(ws).path
    _translate(path, {"Die ISA wurde im April 2016 gegründet.": "The ISA was founded in 2016."})
    _ws(tmp_workspace, RELEASE.replace("Die ISA wurde im April 2016 gegründet. ", ""))
    assert _extract(ws).obsolete == 1
    text = path.read_text()
    assert '#~ msgid "Die ISA wurde im April 2016 gegründet."' in text
    _ws(tmp_workspace)
    _extract(ws)
    po = load_catalog(path, language="en")
    revived = po.find("Die ISA wurde im April 2016 gegründet.")
    assert revived.msgstr == "The ISA was founded in 2016." and not revived.fuzzy
    assert not [e for e in po if e.obsolete]


def test_update_preserves_translator_comments_and_flags(tmp_workspace):
    ws = _ws(tmp_workspace)
    path = _extract(ws).path
    po = polib.pofile(str(path))
    e = po.find("www.mainz.de")
    e.msgstr = "www.mainz.de"
    e.tcomment = "URL stays as it is"
    e.flags.append("no-wrap")
    path.write_text(poformat.dumps(po), encoding="utf-8")
    _extract(ws)
    again = load_catalog(path, language="en").find("www.mainz.de")
    assert again.tcomment == "URL stays as it is"
    assert "no-wrap" in again.flags


def test_keyed_segments_gives_context_only_to_repeated_text(tmp_workspace):
    twice = "Die ISA wurde im April 2016 gegründet."
    ws = _ws(tmp_workspace, RELEASE + f"\n{twice} Das ist neu.\n")
    keyed = keyed_segments(load_release(ws, RID))
    assert [c for s, c in keyed if s.text == twice] == [None, "paragraph 3"]
    assert all(c is None for s, c in keyed if s.text != twice)


@needs_gettext
def test_every_written_catalog_passes_msgfmt_check(tmp_workspace):
    ws = _ws(tmp_workspace)
    for lang in ("en", "zh_CN"):
        path = _extract(ws, lang).path
        _translate(path, {"Delegationsreise nach Foshan": "访问佛山" if lang != "en" else "Trip"})
        _ws(tmp_workspace, RELEASE.replace("Foshan und", "Foshan (Guangdong) und"))
        _extract(ws, lang)
        proc = subprocess.run(
            ["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr
        _ws(tmp_workspace)


LONG_ZH = (
    "德中工业城市联盟（ISA）成立于2016年4月。目前，联盟成员包括来自德国8个联邦州的21个城市和地区，"
    "以及来自中国12个省份的23个城市。详情请访问https://www.mainz.de/verwaltung-und-politik/"
    "pressemitteilungen.php或发送电子邮件至pressestelle@stadt.mainz.de。"
)


@needs_gettext
def test_layout_is_identical_to_msgcat_for_long_lines_urls_and_chinese(tmp_path):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "zh_CN"}
    po.header = "Test catalog."
    texts = [
        "Weitere Informationen unter https://www.mainz.de/verwaltung-und-politik/"
        "pressemitteilungen/2019/isa-foshan.php?id=12&lang=de oder pressestelle@stadt.mainz.de.",
        'Sie sagte: "Das ist \\ gut" – und ging.\tDanach: „Internet+powered by CEBIT“-Messe '
        "mit 44,3 % Exportquote und 1.250 Besuchern aus 8 Bundesländern (Stand: 2019).",
        "Zeile eins\nZeile zwei ist deutlich länger und muss umbrochen werden, weil sie so lang "
        "ist wie kaum eine andere Zeile\n",
    ]
    for i, t in enumerate(texts):
        zh = LONG_ZH + ("\n" if t.endswith("\n") else "")
        po.append(polib.POEntry(msgid=t, msgstr=zh, occurrences=[("releases/x.md", str(i))]))
    po.append(
        polib.POEntry(
            msgid="Alt", msgstr="旧", flags=["fuzzy"], previous_msgid=texts[0], comment="x"
        )
    )
    po.append(polib.POEntry(msgid=texts[1] + " Alt.", msgstr=LONG_ZH, obsolete=True))
    po.append(polib.POEntry(msgid=texts[0] + " Ende.", msgstr=LONG_ZH, flags=["no-wrap"]))
    path = tmp_path / "f.po"
    path.write_text(poformat.dumps(po), encoding="utf-8")
    gnu = subprocess.run(["msgcat", str(path)], capture_output=True, text=True, check=True)
    assert gnu.stdout == path.read_text(encoding="utf-8")


_text = st.text(
    alphabet=st.sampled_from(
        list("abcdefghij ABCäß.,:;!?/-–—…()[]„“”\"'\\\n\t%+€@&0123456789")
        + list("佛山贵阳，。、：；！？（）「」【】《》％１")
        + ["\u00a0", "\u00ad", "\u2009", "\u0301"]
    ),
    max_size=200,
)


@needs_gettext
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msgid=_text.filter(lambda s: s.strip()), msgstr=_text)
def test_layout_matches_msgcat_for_any_text(tmp_path, msgid, msgstr):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    # msgfmt insists that msgid and msgstr agree on a final newline.
    msgstr = msgstr.rstrip("\n") + ("\n" if msgid.endswith("\n") else "") if msgstr else ""
    po.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    path = tmp_path / "p.po"
    path.write_text(poformat.dumps(po), encoding="utf-8")
    gnu = subprocess.run(["msgcat", str(path)], capture_output=True, text=True)
    assert gnu.returncode == 0, gnu.stderr
    assert gnu.stdout == path.read_text(encoding="utf-8")


def test_status_counts_catalog_against_current_release(tmp_workspace):
    ws = _ws(tmp_workspace)
    release = load_release(ws, RID)
    assert catalog_stats(ws, release, "en").translated == 0
    path = _extract(ws).path
    _translate(path, {s.text: "x" for s in release.segments()})
    s = catalog_stats(ws, release, "en")
    assert s.complete and s.translated == len(release.segments())
    assert s.translated_words == sum(len(x.text.split()) for x in release.segments())


_SENTENCES = ["Die ISA wurde 2016 gegründet.", "Mainz ist dabei.", "Das ist gut.", "Hallo Welt."]


@settings(max_examples=30, deadline=None)
@given(
    paragraphs=st.lists(
        st.lists(st.sampled_from(_SENTENCES), min_size=1, max_size=4), min_size=1, max_size=5
    ),
    contact=st.lists(st.sampled_from(["Mainz ist dabei.", "Telefon: 1234"]), max_size=3),
)
def test_keyed_segments_keys_are_unique_and_first_occurrences_plain(paragraphs, contact):
    import datetime as dt

    from pressdist.source.release import Release

    release = Release(
        id="x",
        date=dt.date(2019, 11, 4),
        title="Das ist gut.",
        paragraphs=[" ".join(p) for p in paragraphs],
        contact="\n".join(contact),
    )
    keyed = keyed_segments(release)
    keys = [(c, s.text) for s, c in keyed]
    assert len(keys) == len(set(keys))
    first: dict[str, str | None] = {}
    for seg, ctxt in keyed:
        first.setdefault(seg.text, ctxt)
    assert all(c is None for c in first.values())
