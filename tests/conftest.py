"""Fixtures shared by every test module: the CLI as a real process, workspaces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
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
FIXTURE_RELEASE = REPO / "examples" / "pm-2019-11-04-isa-foshan.txt"


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


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Each test starts with no secret remembered: one test's "wrong" password must
    not be redacted from the next one's messages."""
    yield
    from pressdist import secrets

    secrets.forget_all()


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


def require(ok: bool, reason: str) -> None:
    """Skip when this machine lacks ``reason``'s program; under CI (CI=true) fail instead,
    since CI installs everything the README's test command lists."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)", pytrace=False)
    pytest.skip(reason)


# Real mail servers (tests/mailservers.py) --------------------------------------------
@pytest.fixture(scope="session")
def mail_servers_dir() -> Iterator[Path]:
    """A folder under /tmp that the servers' own accounts can reach (pytest's tmp_path is
    private to root), removed at the end of the session."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pressdist-mailservers-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mail_store(mail_servers_dir: Path):  # type: ignore[no-untyped-def]
    """The folder of every user's Maildir, shared by the Dovecot and the Postfix below."""
    from mailservers import MailStore

    require(os.geteuid() == 0, "the mail servers need root (they switch to their own users)")
    return MailStore.create(mail_servers_dir / "mail")


@pytest.fixture(scope="session")
def dovecot(mail_servers_dir: Path, mail_store):  # type: ignore[no-untyped-def]
    """Starts a Dovecot (``dovecot -F`` with a config of its own) on 127.0.0.1: IMAPS on
    ``.port``, STARTTLS on ``.starttls_port``, a trustme certificate (``.ca_file``), the user
    ``.user``/``.password`` whose INBOX is the Maildir ``.maildir``. Stopped by its PID."""
    from mailservers import Dovecot

    require(has_program("dovecot"), "dovecot is not installed (apt-get install dovecot-imapd)")
    server = Dovecot.start(mail_servers_dir / "dovecot", mail_store)
    yield server
    server.stop()


@pytest.fixture
def dovecot_inbox(dovecot):  # type: ignore[no-untyped-def]
    """The session's Dovecot, its user's Maildir emptied first (folders and indexes too)."""
    dovecot.store.empty(dovecot.user)
    return dovecot


@pytest.fixture(scope="session")
def postfix(mail_servers_dir: Path, mail_store):  # type: ignore[no-untyped-def]
    """Starts a Postfix of its own (``postfix -c DIR start``) on 127.0.0.1 at ``.port``
    that delivers ``.known_users`` and the VERP bounce user at ``.domain`` into
    ``mail_store`` (the Maildirs Dovecot serves) and bounces anyone else with a real DSN.
    Stopped by its master's PID."""
    from mailservers import Postfix

    require(has_program("postfix"), "postfix is not installed (apt-get install postfix)")
    server = Postfix.start(mail_servers_dir / "postfix", mail_store)
    yield server
    server.stop()
