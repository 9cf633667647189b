"""`pressdist check` as a press officer runs it: findings, verdicts, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polib
import pytest
from conftest import translate_catalogs

DATA = Path(__file__).parent.parent / "data" / "quality"
RELEASE = "2024-03-01-hafenfest"
EXAMPLE = "2019-11-04-isa-foshan"


@pytest.fixture
def translated(tmp_path: Path, cli) -> Path:
    """A small workspace, extracted with the CLI and translated by 'the translators'."""
    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    result = cli("extract", "--all", cwd=root)
    assert result.code == 0, result.output
    translate_catalogs(root)
    return root


def alter(path: Path, old: str, new: str) -> None:
    """Change text in the one msgstr of a .po file that contains it."""
    po = polib.pofile(str(path))
    [entry] = [e for e in po if old in e.msgstr]
    entry.msgstr = entry.msgstr.replace(old, new)
    po.save()


def entry_line(path: Path, needle: str) -> int:
    return next(e.linenum for e in polib.pofile(str(path)) if needle in e.msgstr)


def test_check_reports_both_languages_sendable(translated, cli):
    result = cli("check", cwd=translated)
    assert result.code == 0, result.output
    assert f"{RELEASE} en: sendable" in result.stdout
    assert f"{RELEASE} zh_CN: sendable" in result.stdout
    assert "Traceback" not in result.output


def test_an_altered_number_makes_chinese_unsendable_naming_file_and_line(translated, cli):
    po = translated / "translations" / "zh_CN" / f"{RELEASE}.po"
    alter(po, "44.3%", "44.8%")
    line = entry_line(po, "44.8%")
    result = cli("check", RELEASE, cwd=translated)
    assert result.code == 1
    out = " ".join(result.stdout.split())
    assert f"{RELEASE} zh_CN: not sendable; readers get en" in out
    assert f"translations/zh_CN/{RELEASE}.po:{line}" in out
    assert "numbers" in out and "44,3" in out
    assert f"{RELEASE} en: sendable" in out
    assert "Traceback" not in result.output


def test_json_output_lists_findings_and_readiness(translated, cli):
    po = translated / "translations" / "en" / f"{RELEASE}.po"
    alter(po, "https://example.org/hafenfest", "https://example.org/harbour")
    result = cli("check", "--json", "--lang", "en", cwd=translated)
    assert result.code == 1
    data = json.loads(result.stdout)
    # The source's URL is gone (urls) and the translation has one of its own (added-links).
    missing, added = [f for f in data["findings"] if f["level"] == "error"]
    assert (missing["check"], added["check"]) == ("urls", "added-links")
    assert missing["language"] == "en" and added["line"] == missing["line"]
    assert missing["path"] == f"translations/en/{RELEASE}.po" and missing["line"] > 0
    assert [r["language"] for r in data["readiness"]] == ["en"]
    assert data["readiness"][0]["sendable"] is False


def test_warnings_are_shown_but_do_not_fail_the_check(translated, cli):
    po = translated / "translations" / "en" / f"{RELEASE}.po"
    alter(po, "German-Chinese Industrial Cities Alliance", "Sino-German city network")
    result = cli("check", cwd=translated)
    assert result.code == 0, result.output
    assert "glossary" in result.stdout


def test_missing_catalogs_say_to_extract(tmp_path, cli):
    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    result = cli("check", RELEASE, cwd=root)
    assert result.code == 1
    assert "pressdist extract" in result.stdout
    assert "Traceback" not in result.output


def test_unknown_release_or_language_is_one_clear_error(translated, cli):
    result = cli("check", "no-such-release", cwd=translated)
    assert result.code == 2 and "release not found" in result.stderr
    result = cli("check", "--lang", "fr", cwd=translated)
    assert result.code == 2 and "language fr is not configured" in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_po_file_is_named_with_its_line(translated, cli):
    po = translated / "translations" / "zh_CN" / f"{RELEASE}.po"
    po.write_text(po.read_text("utf-8") + '\nmsgid "unterminated\n', "utf-8")
    result = cli("check", cwd=translated)
    assert result.code != 0
    assert re.search(rf"translations/zh_CN/{RELEASE}\.po:\d+", result.stderr), result.stderr
    assert "Traceback" not in result.output


def _example_translated(root: Path) -> bool:
    return all(
        (root / "translations" / lang / f"{EXAMPLE}.po").is_file() for lang in ("en", "zh_CN")
    )


def test_example_workspace_is_sendable_until_a_chinese_number_changes(example_workspace, cli):
    if not _example_translated(example_workspace):
        pytest.skip("the example workspace has no translations yet")
    result = cli("check", EXAMPLE, cwd=example_workspace)
    assert result.code == 0, result.output
    assert f"{EXAMPLE} en: sendable" in result.stdout
    assert f"{EXAMPLE} zh_CN: sendable" in result.stdout
    po = example_workspace / "translations" / "zh_CN" / f"{EXAMPLE}.po"
    alter(po, "44.3%", "43.3%")
    line = entry_line(po, "43.3%")
    result = cli("check", EXAMPLE, cwd=example_workspace)
    assert result.code == 1
    out = " ".join(result.stdout.split())
    assert f"{EXAMPLE} zh_CN: not sendable" in out
    assert f"translations/zh_CN/{EXAMPLE}.po:{line}" in out
    assert "Traceback" not in result.output
