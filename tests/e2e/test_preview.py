"""`pressdist preview` writes the mails as sent and one side-by-side page."""

from __future__ import annotations

import email
import email.policy
import shutil
from pathlib import Path

import polib
from conftest import translate_catalogs

DATA = Path(__file__).parent.parent / "data" / "quality"
RELEASE = "2024-03-01-hafenfest"


def translated(tmp_path: Path, cli) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    assert cli("extract", "--all", cwd=root).code == 0
    translate_catalogs(root)
    return root


def test_preview_writes_each_mail_as_sent_and_shows_findings_inline(tmp_path, cli):
    root = translated(tmp_path, cli)
    po = root / "translations" / "zh_CN" / f"{RELEASE}.po"
    catalog = polib.pofile(str(po))
    [entry] = [e for e in catalog if "44.3%" in e.msgstr]
    entry.msgstr = entry.msgstr.replace("44.3%", "44.8%")
    catalog.save()

    result = cli("preview", RELEASE, cwd=root)
    assert result.code == 0, result.output
    folder = root / ".pressdist" / "preview" / RELEASE
    for lang, subject in [
        ("de", "Pressemitteilung: "),
        ("en", "Press release: "),
        ("zh_CN", "新闻稿："),
    ]:
        msg = email.message_from_bytes(
            (folder / f"{RELEASE}.{lang}.eml").read_bytes(), policy=email.policy.default
        )
        assert msg["Subject"].startswith(subject)
        assert msg["From"].addresses[0].display_name == "Stadt Beispiel"
        assert msg["List-Unsubscribe"] == (
            "<https://example.org/abmelden?adresse=recipient%40example.invalid>"
        )
    page = (folder / "index.html").read_text("utf-8")
    row = page[page.index("本市的出口率为44.8%") :]
    row = row[: row.index("</tr>")]
    assert "<b>numbers</b>" in row and f"translations/zh_CN/{RELEASE}.po:" in row
    assert "not sendable; readers get en" in page
    assert "<script>" not in page

    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert cli("preview", RELEASE, cwd=root).code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_preview_of_an_unknown_release_is_one_clear_error(tmp_path, cli):
    root = tmp_path / "ws"
    shutil.copytree(DATA, root)
    result = cli("preview", "no-such-release", "-o", tmp_path / "out", cwd=root)
    assert result.code == 2 and "release not found" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
