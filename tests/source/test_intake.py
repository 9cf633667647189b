"""Intake: an imported release into the workspace, by the rules `pressdist import` follows."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURE_RELEASE

from pressdist.errors import InputError
from pressdist.source.intake import prepare_import, same_release, write_import
from pressdist.source.release import load_release
from pressdist.workspace import Workspace

DATA = Path(__file__).parent.parent / "data" / "importer"
FOSHAN = "2019-11-04-isa-foshan"


@pytest.fixture
def ws(tmp_workspace: Path) -> Workspace:
    return Workspace.open(tmp_workspace)


def test_prepare_writes_nothing_and_write_gives_the_release_it_read_back(ws):
    intake = prepare_import(ws, FIXTURE_RELEASE)
    assert intake.target == ws.release_path(FOSHAN)
    assert not intake.target.exists()
    assert write_import(intake)
    assert intake.target.read_text(encoding="utf-8") == intake.text
    loaded = load_release(ws, FOSHAN)
    assert (loaded.title, loaded.paragraphs) == (intake.release.title, intake.release.paragraphs)
    assert len(intake.release.paragraphs) == 5 and intake.warnings == ()


def test_an_existing_release_is_replaced_only_with_force(ws):
    write_import(prepare_import(ws, FIXTURE_RELEASE))
    target = ws.release_path(FOSHAN)
    target.write_text(target.read_text(encoding="utf-8") + "\nVon Hand ergänzt.\n", "utf-8")
    with pytest.raises(InputError) as exc:
        prepare_import(ws, FIXTURE_RELEASE)
    assert (exc.value.path, exc.value.message) == (target, "release already exists")
    assert "--force" in (exc.value.hint or "")
    write_import(prepare_import(ws, FIXTURE_RELEASE, force=True))
    assert "Von Hand ergänzt" not in target.read_text(encoding="utf-8")


def test_a_chosen_id_is_used_and_the_same_release_under_another_id_is_named(ws):
    write_import(prepare_import(ws, FIXTURE_RELEASE))
    again = prepare_import(ws, FIXTURE_RELEASE, release_id="isa-foshan")
    assert again.target == ws.release_path("isa-foshan")
    assert again.release.id == "isa-foshan"
    assert again.same_as == (FOSHAN,)
    assert prepare_import(ws, FIXTURE_RELEASE, force=True).same_as == ()  # itself is no other


def test_the_same_release_ignores_case_and_spacing_of_the_title_and_broken_releases(ws):
    release = prepare_import(ws, FIXTURE_RELEASE, release_id="neu").release
    folder = ws.releases_dir
    folder.mkdir(parents=True, exist_ok=True)
    shouted = release.title.upper().replace(" ", "  ")
    (folder / "laut.md").write_text(
        f'+++\ndate = 2019-11-04\ntitle = "{shouted}"\n+++\n\nText.\n', encoding="utf-8"
    )
    (folder / "kaputt.md").write_text("kein front matter\n", encoding="utf-8")
    (folder / "anders.md").write_text(
        f'+++\ndate = 2019-11-05\ntitle = "{release.title}"\n+++\n\nText.\n', encoding="utf-8"
    )
    assert same_release(ws, release) == ["laut"]


def test_a_bad_id_is_refused_before_the_file_is_read(ws, tmp_path):
    with pytest.raises(InputError) as exc:
        prepare_import(ws, tmp_path / "does-not-exist.txt", release_id="../evil")
    assert "not found" not in exc.value.message
    assert not ws.releases_dir.exists() or list(ws.releases_dir.iterdir()) == []


def test_the_importers_warnings_come_along_in_reading_order(ws):
    intake = prepare_import(ws, DATA / "pm-2020-03-12-rheinufer.txt")
    assert len(intake.warnings) == 1
    assert intake.warnings[0].startswith("pm-2020-03-12-rheinufer.txt:39: a page break falls")
