"""Fixtures shared by every test module: the CLI as a real process, workspaces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs on a busy two-core machine: no per-example deadline there, and a fixed
# seed so that a red run can be reproduced exactly. Local runs stay random.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURE_RELEASE = SHARED / "fixtures" / "pm-2019-11-04-isa-foshan.txt"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run `pressdist ARGS` as a user would: a separate process, its own cwd."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    full_env.pop("PRESSDIST_WORKSPACE", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "pressdist", *map(str, args)],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def tmp_workspace(tmp_path: Path) -> Path:
    """A new, empty workspace made by `pressdist init`'s library function."""
    from pressdist.workspace import init_workspace

    root = tmp_path / "ws"
    init_workspace(root, organisation="Stadt Beispiel", sender="presse@example.org")
    return root


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A private copy of the example workspace at the repository root."""
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy2(REPO / "pressdist.toml", root / "pressdist.toml")
    for sub in ("releases", "translations", "recipients"):
        if (REPO / sub).is_dir():
            shutil.copytree(REPO / sub, root / sub)
    return root


def translate_catalogs(root: Path, release_id: str = "2024-03-01-hafenfest") -> None:
    """Fill the extracted catalogs of a copy of tests/data/quality from its
    translations.json, fuzzy flags cleared: what its translators hand back."""
    import json

    import polib

    table = json.loads((root / "translations.json").read_text("utf-8"))
    for lang in ("en", "zh_CN"):
        po = polib.pofile(str(root / "translations" / lang / f"{release_id}.po"))
        for entry in po:
            entry.msgstr = table[entry.msgid][lang]
            entry.flags = [f for f in entry.flags if f != "fuzzy"]
        po.save()


async def send_all(gateway, envelopes):  # type: ignore[no-untyped-def]
    """Open ``gateway``, send every envelope as the delivery run does (at most
    ``concurrency`` at once), close it; the results in envelope order."""
    import asyncio

    await gateway.open()
    try:
        sem = asyncio.Semaphore(gateway.concurrency)

        async def one(env):  # type: ignore[no-untyped-def]
            async with sem:
                return await gateway.send(env)

        return await asyncio.gather(*(one(e) for e in envelopes))
    finally:
        await gateway.close()


def has_program(name: str) -> bool:
    return shutil.which(name) is not None
