"""A corrected release through `pressdist send`, against a real SMTP server on 127.0.0.1.

The issue's steps: the example release goes to `presse`, one number of the
German source changes, `extract` runs, then `send --allow-fallback`. Nobody
gets the release again; `--correction` sends each of the 12 a correction in
the language they got, once; `--resend` says plainly who gets it a second
time, in the confirmation a terminal shows too.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polib
import pytest
from smtp_servers import Sink, SmtpServer

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
SEND = ("send", RELEASE, "--list", "presse", "--gateway", "office")
NOTE = "Die Industrie-Exportquote beträgt 45,1 Prozent."
PREFIX = {"de": "Korrektur: Pressemitteilung: ", "en": "Correction: Press release: "}
PREFIX["zh-CN"] = "更正：新闻稿："


@pytest.fixture
def sink():
    return Sink()


@pytest.fixture
def server(sink):
    with SmtpServer(sink) as s:
        yield s


def through(root: Path, port: int) -> None:
    cfg = root / "pressdist.toml"
    cfg.write_text(
        cfg.read_text("utf-8")
        + f'\n[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\n',
        "utf-8",
    )


def change_one_number(root: Path) -> None:
    path = root / "releases" / f"{RELEASE}.md"
    text = path.read_text("utf-8")
    assert "44,3%" in text
    path.write_text(text.replace("44,3%", "45,1%"), "utf-8")


def translate_the_change(root: Path) -> None:
    for lang in ("en", "zh_CN"):
        po = polib.pofile(str(root / "translations" / lang / f"{RELEASE}.po"))
        for entry in po:
            if "fuzzy" in entry.flags:
                entry.msgstr = entry.msgstr.replace("44.3", "45.1")
                entry.flags.remove("fuzzy")
                entry.previous_msgid = None
        po.save()


def by_address(sink: Sink) -> dict[str, list[email.message.EmailMessage]]:
    out: dict[str, list] = {}
    for (rcpt,), raw in sink.messages:
        out.setdefault(rcpt, []).append(email.message_from_bytes(raw, policy=email.policy.default))
    return out


def test_a_corrected_release_reaches_nobody_twice_unless_sent_as_a_correction(
    cli, example_workspace, server, sink
):
    root = example_workspace
    through(root, server.port)
    first = cli(*SEND, "--yes", cwd=root)
    assert first.code == 0, first.output
    assert len(sink.messages) == 12
    change_one_number(root)
    assert cli("extract", RELEASE, cwd=root).code == 0

    # The command: before, every recipient got it again, most in German.
    again = cli(*SEND, "--yes", "--allow-fallback", cwd=root)
    assert again.code == 0, again.output
    assert "Traceback" not in again.output
    assert len(sink.messages) == 12
    assert "Nothing to send" in again.stdout
    assert "12 recipients got an earlier revision" in again.stderr
    assert "--correction" in again.stderr

    # A correction goes in the language each got: English and Chinese must be ready.
    unready = cli(*SEND, "--yes", "--correction", cwd=root)
    assert unready.code == 1, unready.output
    assert "not ready to send a correction" in unready.stderr
    assert len(sink.messages) == 12

    translate_the_change(root)
    corrected = cli(*SEND, "--yes", "--correction", "--note", NOTE, cwd=root)
    assert corrected.code == 0, corrected.output
    assert "12 recipients who got an earlier revision" in corrected.stdout
    mails = by_address(sink)
    assert len(mails) == 12 and {len(m) for m in mails.values()} == {2}
    for address, (original, correction) in mails.items():
        language = original["Content-Language"]
        assert correction["Content-Language"] == language, address
        assert correction["Subject"].startswith(PREFIX[language]), correction["Subject"]
        assert not original["Subject"].startswith(PREFIX[language])
        assert correction["Message-ID"] != original["Message-ID"]
        assert correction["References"] == original["Message-ID"]
        assert NOTE in correction.get_body(("plain",)).get_content()
        assert NOTE in correction.get_body(("html",)).get_content()

    log = cli("log", RELEASE, cwd=root)
    assert log.stdout.count("sent (correction)") == 12, log.output

    # Done is done: the same command, and a plain send, send nothing more.
    for args in (("--correction",), ()):
        rerun = cli(*SEND, "--yes", *args, cwd=root)
        assert rerun.code == 0 and "Nothing to send" in rerun.stdout, rerun.output
    assert Counter(r for (r,), _ in sink.messages) == Counter({a: 2 for a in mails})

    # --resend says plainly who gets it a second time, where the office decides.
    dry = cli(*SEND, "--resend", "--dry-run", cwd=root)
    assert dry.code == 0, dry.output
    assert "12 recipients will get this release a second time" in dry.stderr
    asked = confirm_in_a_terminal(root, [*SEND, "--resend"], answer="n")
    assert "12 recipients will get this release a second time. Send 12 mails" in asked.stdout
    assert asked.returncode == 1 and "Nothing sent." in asked.stdout
    assert len(sink.messages) == 24


def confirm_in_a_terminal(root: Path, args: list[str], answer: str):
    """`pressdist ARGS` with a terminal on standard input that answers ``answer``."""
    primary, secondary = os.openpty()
    try:
        os.write(primary, f"{answer}\n".encode())
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
        env.pop("PRESSDIST_WORKSPACE", None)
        done = subprocess.run(
            [sys.executable, "-m", "pressdist", *args],
            cwd=root,
            env=env,
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    done.stdout = re.sub(r"\s+", " ", done.stdout)
    return done
