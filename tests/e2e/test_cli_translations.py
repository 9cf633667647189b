"""extract, status and memory as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, has_program

FIRST = "2019-11-04-isa-foshan"
needs_example = pytest.mark.skipif(
    not (REPO / "translations" / "en" / f"{FIRST}.po").exists(),
    reason="example translations not present",
)


def _clean(result) -> None:
    assert "Traceback" not in result.output


@needs_example
def test_status_shows_example_release_complete_in_both_languages(cli, example_workspace):
    r = cli("status", FIRST, "--json", cwd=example_workspace)
    _clean(r)
    assert r.code == 0
    rows = {row["language"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"en", "zh_CN"}
    assert all(row["percent"] == 100.0 and row["complete"] for row in rows.values())
    table = cli("status", FIRST, cwd=example_workspace)
    assert table.code == 0 and "100" in table.stdout and "zh_CN" in table.stdout
    assert cli("status", FIRST, "--strict", cwd=example_workspace).code == 0


def test_status_strict_exits_1_when_incomplete(cli, tmp_workspace):
    shutil.copy(REPO / "releases" / f"{FIRST}.md", tmp_workspace / "releases")
    assert cli("extract", "--all", cwd=tmp_workspace).code == 0
    r = cli("status", "--strict", cwd=tmp_workspace)
    _clean(r)
    assert r.code == 1 and "incomplete" in r.stderr
    assert cli("status", cwd=tmp_workspace).code == 0


@needs_example
def test_extract_on_example_changes_nothing_and_passes_msgfmt(cli, example_workspace):
    before = {p: p.read_bytes() for p in example_workspace.glob("translations/*/*.po")}
    r = cli("extract", "--all", cwd=example_workspace)
    _clean(r)
    assert r.code == 0
    assert {p: p.read_bytes() for p in before} == before
    if has_program("msgfmt"):
        import subprocess

        for p in before:
            check = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(p)])
            assert check.returncode == 0
            # GNU's own layout: a translator's tool rewrites none of it.
            gnu = subprocess.run(["msgcat", str(p)], capture_output=True, text=True, check=True)
            assert gnu.stdout == p.read_text(encoding="utf-8")


@needs_example
def test_extract_of_follow_up_release_prefills_from_memory(cli, example_workspace):
    follow_ups = [p for p in (example_workspace / "releases").glob("2019-12-*.md")]
    assert follow_ups
    rid = follow_ups[0].stem
    for p in example_workspace.glob(f"translations/*/{rid}.po"):
        p.unlink()
    r = cli("extract", rid, cwd=example_workspace)
    _clean(r)
    assert r.code == 0
    for line in r.stdout.replace("\n", " ").split(f"{rid}.po")[1:]:
        exact = int(line.split(" exact")[0].rsplit(" ", 1)[-1])
        assert exact > 0


def test_syntax_error_in_catalog_names_file_and_line_and_leaves_it_alone(cli, tmp_workspace):
    shutil.copy(REPO / "releases" / f"{FIRST}.md", tmp_workspace / "releases")
    assert cli("extract", cwd=tmp_workspace).code == 0
    path = tmp_workspace / "translations" / "en" / f"{FIRST}.po"
    broken = path.read_text(encoding="utf-8").replace(
        'msgstr ""\n\n#. lead', 'msgstr "oops\n\n#. lead'
    )
    path.write_text(broken, encoding="utf-8")
    line = broken[: broken.index('msgstr "oops')].count("\n") + 1
    r = cli("extract", cwd=tmp_workspace)
    _clean(r)
    assert r.code == 2
    assert f"{FIRST}.po:{line}" in r.stderr and "syntax error" in r.stderr
    assert path.read_text(encoding="utf-8") == broken


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("Language: en", "Language: zh_CN"), "folder"),
        (("charset=UTF-8", "charset=ISO-8859-1"), "ISO-8859-1"),
    ],
)
def test_catalog_with_wrong_language_or_charset_is_refused(cli, tmp_workspace, change, message):
    shutil.copy(REPO / "releases" / f"{FIRST}.md", tmp_workspace / "releases")
    assert cli("extract", cwd=tmp_workspace).code == 0
    path = tmp_workspace / "translations" / "en" / f"{FIRST}.po"
    path.write_text(path.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    for args in (("extract",), ("status",), ("memory", "stats")):
        r = cli(*args, cwd=tmp_workspace)
        _clean(r)
        assert r.code == 2 and message in r.stderr and f"{FIRST}.po:" in r.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_memory_import_search_export_round_trip(cli, tmp_workspace, tmp_path):
    tmx_in = _write(
        tmp_path / "office.tmx",
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="de" '
        'creationdate="20180101T000000Z"/><body>'
        '<tu><tuv xml:lang="de"><seg>Die Stadt Mainz grüßt Foshan.</seg></tuv>'
        '<tuv xml:lang="zh-Hans"><seg>美因茨市向佛山问好。</seg></tuv>'
        '<tuv xml:lang="en-GB"><seg>The city of Mainz greets Foshan.</seg></tuv></tu>'
        "</body></tmx>\n",
    )
    r = cli("memory", "import", tmx_in, cwd=tmp_workspace)
    _clean(r)
    assert r.code == 0, r.output
    assert (tmp_workspace / "translations" / "zh_CN" / "office.tmx").exists()
    assert (tmp_workspace / "translations" / "en" / "office.tmx").exists()
    found = cli("memory", "search", "Mainz", "--lang", "zh_CN", cwd=tmp_workspace)
    assert found.code == 0 and "美因茨市向佛山问好" in found.stdout and "office.tmx" in found.stdout
    out = tmp_path / "export.tmx"
    r = cli("memory", "export", "--lang", "zh_CN", "-o", out, cwd=tmp_workspace)
    assert r.code == 0
    text = out.read_text(encoding="utf-8")
    assert 'xml:lang="zh-CN"' in text and "美因茨市向佛山问好" in text
    stats = cli("memory", "stats", cwd=tmp_workspace)
    assert stats.code == 0 and "office.tmx" in stats.stdout
    (tmp_workspace / ".pressdist" / "memory.sqlite3").write_bytes(b"damaged")
    rebuilt = cli("memory", "rebuild", cwd=tmp_workspace)
    _clean(rebuilt)
    assert rebuilt.code == 0 and "2 units" in rebuilt.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<tmx><body><tu>", "not well-formed"),
        (
            '<tmx version="1.4"><header srclang="en"/><body><tu><tuv xml:lang="en"><seg>a</seg>'
            '</tuv><tuv xml:lang="zh-CN"><seg>b</seg></tuv></tu></body></tmx>',
            "no unit with a de variant",
        ),
    ],
)
def test_memory_import_refuses_bad_tmx_and_writes_nothing(
    cli, tmp_workspace, tmp_path, content, message
):
    bad = _write(tmp_path / "bad.tmx", content)
    r = cli("memory", "import", bad, cwd=tmp_workspace)
    _clean(r)
    assert r.code == 2 and message in r.stderr and "bad.tmx" in r.stderr
    assert not list((tmp_workspace / "translations").rglob("*.tmx"))
