"""The translation memory: exact and fuzzy pre-fill, incremental index."""

from __future__ import annotations

import os
from pathlib import Path

import polib
import pytest

from pressdist.errors import InputError
from pressdist.source.release import load_release
from pressdist.translation import poformat
from pressdist.translation.catalog import extract
from pressdist.translation.memory import (
    INDEX_NAME,
    ImportAction,
    open_memory,
    plan_import,
    rebuild,
    store,
)
from pressdist.translation.pofile import load_catalog
from pressdist.workspace import Workspace

FIRST = "2019-11-04-isa-foshan"
SECOND = "2019-12-09-isa-besuch"
ALLIANCE = "Die ISA wurde im April 2016 gegründet."
MEMBERS = "Ihr gehören aktuell 21 deutsche Städte und Regionen aus 8 Bundesländern an."


def _release(root: Path, rid: str, date: str, body: str) -> None:
    (root / "releases" / f"{rid}.md").write_text(
        f'+++\ndate = {date}\ntitle = "Titel {rid}"\n+++\n\n{body}\n', encoding="utf-8"
    )


def _translate(path: Path, mapping: dict[str, str]) -> None:
    po = polib.pofile(str(path))
    for e in po:
        if e.msgid in mapping:
            e.msgstr = mapping[e.msgid]
    path.write_text(poformat.dumps(po), encoding="utf-8")


def _two_releases(root: Path) -> Workspace:
    _release(root, FIRST, "2019-11-04", f"{ALLIANCE} {MEMBERS}")
    ws = Workspace.open(root)
    path = extract(ws, load_release(ws, FIRST), "en").path
    _translate(
        path,
        {
            ALLIANCE: "The ISA was founded in April 2016.",
            MEMBERS: "It currently has 21 German cities and regions from 8 federal states.",
        },
    )
    _release(
        root,
        SECOND,
        "2019-12-09",
        f"{ALLIANCE} {MEMBERS.replace('21', '22')} Das Forum findet im Frühjahr statt.",
    )
    return ws


def test_extract_prefills_exact_and_fuzzy_matches_from_another_release(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    memory = open_memory(ws, "en")
    result = extract(ws, load_release(ws, SECOND), "en", memory=memory)
    assert (result.memory_exact, result.memory_fuzzy) == (1, 1)
    po = load_catalog(result.path, language="en")
    exact = po.find(ALLIANCE)
    assert exact.msgstr == "The ISA was founded in April 2016." and not exact.fuzzy
    assert f"memory: exact match from {FIRST}.po" in exact.comment
    near = po.find(MEMBERS.replace("21", "22"))
    assert near.fuzzy and near.previous_msgid == MEMBERS
    assert near.msgstr.startswith("It currently has 21")
    assert "% match from" in near.comment
    new = po.find("Das Forum findet im Frühjahr statt.")
    assert new.msgstr == "" and not new.fuzzy


def test_memory_holds_only_translated_non_fuzzy_entries(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    path = ws.po_path(FIRST, "en")
    po = polib.pofile(str(path))
    po.find(MEMBERS).flags.append("fuzzy")
    path.write_text(poformat.dumps(po), encoding="utf-8")
    memory = open_memory(ws, "en")
    assert memory.lookup(MEMBERS, threshold=75) is None
    assert memory.lookup(ALLIANCE).exact


def test_release_is_not_offered_its_own_translations_as_memory(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    memory = open_memory(ws, "en")
    assert memory.lookup(ALLIANCE, exclude=FIRST) is None
    assert memory.lookup(ALLIANCE).origin == f"{FIRST}.po"


def test_ties_go_to_the_most_recent_release(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    second = extract(ws, load_release(ws, SECOND), "en", memory=open_memory(ws, "en")).path
    _translate(second, {ALLIANCE: "The ISA was established in April 2016."})
    match = open_memory(ws, "en").lookup(ALLIANCE)
    assert match.origin == f"{SECOND}.po"
    assert match.target == "The ISA was established in April 2016."


def test_index_is_updated_incrementally_and_rebuilt_from_files(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    open_memory(ws, "en")
    index = ws.state_dir / INDEX_NAME
    assert index.exists()
    from pressdist.translation.memory import _connect, refresh

    db = _connect(index)
    assert refresh(db, "en", ws.language_dir("en")).read == 0
    path = ws.po_path(FIRST, "en")
    _translate(path, {ALLIANCE: "The ISA dates from April 2016."})
    assert refresh(db, "en", ws.language_dir("en")).read == 1
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    again = refresh(db, "en", ws.language_dir("en"))
    assert again.read == 0 and again.unchanged == 1  # touched, content the same
    db.close()
    rebuild(ws)
    assert not index.exists()
    assert open_memory(ws, "en").lookup(ALLIANCE).target == "The ISA dates from April 2016."


def test_memory_forgets_a_deleted_catalog(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    assert open_memory(ws, "en").lookup(ALLIANCE) is not None
    ws.po_path(FIRST, "en").unlink()
    memory = open_memory(ws, "en")
    assert memory.lookup(ALLIANCE) is None
    assert memory.db.execute("SELECT count(*) FROM terms").fetchone()[0] == 0


def test_near_match_below_threshold_is_not_offered(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    memory = open_memory(ws, "en")
    assert memory.lookup("Die ISA wurde von vielen Städten gemeinsam getragen.") is None
    hits = memory.concordance("ISA")
    assert [h.source for h in hits] == [ALLIANCE]


def test_exact_memory_match_beats_the_fuzzy_previous_version(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    second = extract(ws, load_release(ws, SECOND), "en", memory=open_memory(ws, "en")).path
    _translate(second, {"Das Forum findet im Frühjahr statt.": "The forum takes place in spring."})
    # The first release's alliance sentence is edited into the second release's sentence.
    _release(tmp_workspace, FIRST, "2019-11-04", f"Das Forum findet im Frühjahr statt. {MEMBERS}")
    result = extract(ws, load_release(ws, FIRST), "en", memory=open_memory(ws, "en"))
    entry = load_catalog(result.path, language="en").find("Das Forum findet im Frühjahr statt.")
    assert entry.msgstr == "The forum takes place in spring." and not entry.fuzzy
    assert result.memory_exact == 1 and result.obsolete == 1


def test_damaged_index_is_rebuilt_from_the_files(tmp_workspace):
    ws = _two_releases(tmp_workspace)
    ws.state_dir.mkdir(exist_ok=True)
    (ws.state_dir / INDEX_NAME).write_bytes(b"this is not a database" * 100)
    assert open_memory(ws, "en").lookup(ALLIANCE).target == "The ISA was founded in April 2016."


def test_similarity_needs_shared_words_not_just_shared_letters():
    from rapidfuzz import fuzz

    from pressdist.translation.memory import similarity

    frame = "Die Feuerwehr lädt am Montag in der Altstadt {} ein."
    a = frame.format("zum Sommerfest für Kinder und Eltern")
    b = frame.format("zur Lesung mit Kinderbuchautorinnen")
    assert fuzz.ratio(a, b) >= 75 > similarity(a, b)
    assert similarity(a, a.replace("Montag", "Dienstag")) >= 75
    assert similarity(a, a) == 100.0


def test_sentence_in_familiar_words_gets_no_junk_suggestion(tmp_workspace):
    frame = "Die Feuerwehr lädt am Montag in der Altstadt {} ein."
    _release(
        tmp_workspace, FIRST, "2019-11-04", frame.format("zum Sommerfest für Kinder und Eltern")
    )
    ws = Workspace.open(tmp_workspace)
    path = extract(ws, load_release(ws, FIRST), "en").path
    _translate(path, {frame.format("zum Sommerfest für Kinder und Eltern"): "Summer party."})
    memory = open_memory(ws, "en")
    assert memory.lookup(frame.format("zur Lesung mit Kinderbuchautorinnen")) is None
    assert memory.lookup(frame.format("zum Sommerfest für Kinder und Großeltern")).score >= 75


def test_a_tmx_memory_is_read_with_the_workspace_source_language(tmp_workspace):
    from pressdist.translation import tmx

    config = tmp_workspace / "pressdist.toml"
    text = config.read_text("utf-8").replace('source_language = "de"', 'source_language = "en"')
    config.write_text(text.replace('languages = ["en", "zh_CN"]', 'languages = ["de"]'), "utf-8")
    ws = Workspace.open(tmp_workspace)
    units = [("The ISA was founded in 2016.", "Die ISA wurde 2016 gegründet.", "2019-11-04")]
    (ws.language_dir("de") / "isa.tmx").parent.mkdir(parents=True)
    (ws.language_dir("de") / "isa.tmx").write_text(
        tmx.dumps(units, "de", source_language="en"), "utf-8"
    )
    with open_memory(ws, "de") as memory:
        match = memory.lookup("The ISA was founded in 2016.")
    assert match is not None and match.target == "Die ISA wurde 2016 gegründet."


def _office_tmx(path: Path, target: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="de"/>'
        f'<body><tu><tuv xml:lang="de"><seg>{ALLIANCE}</seg></tuv>'
        f'<tuv xml:lang="en"><seg>{target}</seg></tuv></tu></body></tmx>\n',
        encoding="utf-8",
    )
    return path


def test_an_import_is_planned_whole_before_anything_is_written(tmp_workspace, tmp_path):
    ws = Workspace.open(tmp_workspace)
    first = _office_tmx(tmp_path / "office.tmx", "The ISA was founded in April 2016.")
    [step] = plan_import(ws, first, language="en").steps
    assert step.action is ImportAction.STORE and step.count == 1
    assert not step.path.exists()
    store(ws, step)
    with open_memory(ws, "en") as memory:
        assert memory.lookup(ALLIANCE).origin == "office.tmx"
    assert plan_import(ws, first).steps[0].action is ImportAction.KEEP
    other = _office_tmx(tmp_path / "office.tmx", "The ISA dates from 2016.")
    with pytest.raises(InputError, match="different memory"):
        plan_import(ws, other)
    assert plan_import(ws, other, force=True).steps[0].action is ImportAction.REPLACE
    with pytest.raises(InputError, match="no units in zh-CN"):
        plan_import(ws, other, language="zh_CN")
