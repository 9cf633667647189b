"""`pressdist preview` opened in a real headless Chromium."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
EXAMPLE = "2019-11-04-isa-foshan"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Columns(HTMLParser):
    """The language columns of the preview table and the text of each subject."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.subjects: dict[str, str] = {}
        self._cell: str | None = None
        self._in_subject = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "th" and "data-language" in a:
            self.headings.append(a["data-language"])
        if tag == "td" and "mail-cell" in (a.get("class") or ""):
            self._cell = a.get("data-language")
        if tag == "p" and a.get("class") == "subject":
            self._in_subject = True

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_subject = False

    def handle_data(self, data):
        if self._in_subject and self._cell:
            self.subjects[self._cell] = self.subjects.get(self._cell, "") + data


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_preview_shows_three_language_columns_and_the_chinese_title(
    example_workspace, cli, tmp_path
):
    from pressdist.source.release import load_release

    zh_po = example_workspace / "translations" / "zh_CN" / f"{EXAMPLE}.po"
    if not zh_po.is_file():
        pytest.skip("the example workspace has no Chinese translation yet")
    out = tmp_path / "preview"
    result = cli("preview", EXAMPLE, "-o", out, cwd=example_workspace)
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    index = out / "index.html"
    for lang in ("de", "en", "zh_CN"):
        eml = out / f"{EXAMPLE}.{lang}.eml"
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert msg["To"].addresses[0].addr_spec == "recipient@example.invalid"

    from pressdist.workspace import Workspace

    title = load_release(Workspace.open(example_workspace), EXAMPLE).title
    release_title = next(e for e in polib.pofile(str(zh_po)) if e.msgid == title)
    assert release_title.msgstr
    dom = chromium("--dump-dom", index.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    columns = Columns()
    columns.feed(dom.stdout)
    assert columns.headings == ["de", "en", "zh_CN"]
    assert release_title.msgstr in columns.subjects["zh_CN"]
    assert columns.subjects["zh_CN"].startswith("新闻稿：")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "preview.png"
    shot.unlink(missing_ok=True)
    done = chromium(
        f"--screenshot={shot}",
        "--window-size=1400,1000",
        index.as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000
