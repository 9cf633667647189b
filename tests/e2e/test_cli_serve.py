"""What comes back over HTTP, end to end: a real send, a real `pressdist serve`, a real browser.

One-click unsubscribes from the links of delivered mails, and Mailgun's
webhooks for an office that signs no links at all.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pressdist.inbox.mailgun import signature
from pressdist.mail.unsubscribe import sign

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
FOLLOW_UP = "2019-12-09-isa-besuch-foshan"
PERSON = "li.wei@example.com"
SECRET = "e2e-serve-secret-0123456789abcdef"
ENV = {"PD_UNSUBSCRIBE_SECRET": SECRET}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def office(example_workspace: Path) -> Path:
    config = example_workspace / "pressdist.toml"
    text = re.sub(r"(?m)^unsubscribe_url = .*$", "", config.read_text("utf-8"))
    text = text.replace(
        "[send]\n",
        "[send]\n"
        'unsubscribe_url = "https://presse.example.org/abmelden?t={token}"\n'
        'unsubscribe_secret_env = "PD_UNSUBSCRIBE_SECRET"\n',
    )
    config.write_text(text, "utf-8")
    return example_workspace


@contextlib.contextmanager
def serving(root: Path, env: dict[str, str]) -> Iterator[str]:
    """`pressdist serve --port 0` as an office runs it; its first line says where it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pressdist", "serve", "--port", "0"],
        cwd=root,
        env={**os.environ, **env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # blocks until the socket is bound
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, line + proc.stderr.read()
        yield found.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def server(office: Path) -> Iterator[str]:
    with serving(office, ENV) as url:
        yield url


def mails_to(root: Path) -> list[email.message.EmailMessage]:
    folder = root / "outbox" / "new"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.iterdir())
    ]


def local(url: str, base: str) -> str:
    """The link of a mail, pointed at the test's own server instead of the office's host."""
    return base + url.split("presse.example.org", 1)[1]


def test_one_click_from_a_delivered_mail_keeps_the_next_release_from_them(cli, office, server):
    sent = cli("send", RELEASE, "--list", "presse", "--yes", cwd=office, env=ENV)
    assert sent.code == 0, sent.output
    [mail] = [m for m in mails_to(office) if PERSON in m["To"]]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(https://[^>]+)>", mail["List-Unsubscribe"]).group(1)

    # Forged: one character changed, or another address under a made-up signature.
    token = link.split("t=", 1)[1]
    changed = token[:12] + ("A" if token[12] != "A" else "B") + token[13:]
    other = sign(b"not-the-office-secret-0123456789", "anna.becker@example.org", "presse")
    for bad in (changed, other):
        refused = httpx.post(
            f"{server}/abmelden?t={bad}", content=b"List-Unsubscribe=One-Click", timeout=10
        )
        assert refused.status_code == 400
    assert not (office / "suppressed.csv").exists()

    # RFC 8058: a POST with exactly this body, from the mailbox provider.
    answer = httpx.post(
        local(link, server),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 200

    before = {m["Message-ID"] for m in mails_to(office)}
    follow = cli(
        "send", FOLLOW_UP, "--list", "presse", "--allow-fallback", "--yes", cwd=office, env=ENV
    )
    assert follow.code == 0, follow.output
    assert "1 suppressed (1 unsubscribed)" in follow.stdout + follow.stderr
    new = [m for m in mails_to(office) if m["Message-ID"] not in before]
    assert len(new) == 11 and not any(PERSON in m["To"] for m in new)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize(
    ("locale", "question", "button", "done"),
    [
        ("de-DE", "Keine Pressemitteilungen", "Von allen Listen abmelden", "Erledigt"),
        ("en-GB", "Stop sending press releases", "Unsubscribe from all lists", "Done"),
        ("zh-CN", "不再向", "退订所有名单", "已完成"),
    ],
)
def test_the_page_in_a_browser_asks_in_the_readers_language_and_its_button_works(
    office, server, locale, question, button, done, tmp_path
):
    from playwright.sync_api import sync_playwright

    link = f"{server}/abmelden?t={sign(SECRET.encode(), PERSON, 'presse')}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(locale=locale)
            page.goto(link)
            assert question in page.inner_text("body")
            page.get_by_role("button", name=button).click()
            page.wait_for_selector("[role=status]")
            assert done in page.inner_text("[role=status]")
            page.screenshot(path=str(tmp_path / f"unsubscribed-{locale}.png"))
        finally:
            browser.close()
    suppressed = (office / "suppressed.csv").read_text("utf-8")
    assert f"{PERSON},*,unsubscribed" in suppressed and "unsubscribe page" in suppressed


MAILGUN = (
    '\n[gateways.mg]\ntype = "http"\napi = "mailgun"\ndomain = "mg.example.org"\n'
    'token_env = "PD_MG_KEY"\nwebhook_signing_key_env = "PD_MG_WEBHOOK_KEY"\n'
)
HOOK_KEY = "whsec-e2e-0123456789abcdef"
HOOK_ENV = {"PD_MG_KEY": "key-not-used-by-serve", "PD_MG_WEBHOOK_KEY": HOOK_KEY}


def webhook(message_id: str, recipient: str, *, token: str, key: str = HOOK_KEY) -> bytes:
    stamp = str(int(time.time()))
    event = {
        "id": "ev-" + token,
        "timestamp": time.time(),
        "event": "complained",
        "recipient": recipient,
        "message": {"headers": {"message-id": message_id}},
    }
    signed = {
        "timestamp": stamp,
        "token": token,
        "signature": signature(key.encode(), stamp, token),
    }
    return json.dumps({"signature": signed, "event-data": event}).encode()


def test_serve_takes_only_mailgun_webhooks_and_a_complaint_keeps_the_next_release_away(
    cli, example_workspace
):
    # The example's unsubscribe link carries the address, not a signed token:
    # this office's `pressdist serve` answers Mailgun and nothing else.
    config = example_workspace / "pressdist.toml"
    config.write_text(config.read_text("utf-8") + MAILGUN, "utf-8")
    sent = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace, env=HOOK_ENV)
    assert sent.code == 0, sent.output
    [mail] = [m for m in mails_to(example_workspace) if PERSON in m["To"]]
    message_id = mail["Message-ID"].strip("<>")

    with serving(example_workspace, HOOK_ENV) as base:
        url = f"{base}/webhooks/mailgun/mg"
        forged = webhook(message_id, PERSON, token="t-forged", key="not-the-signing-key")
        assert httpx.post(url, content=forged, timeout=10).status_code == 406
        taken = httpx.post(url, content=webhook(message_id, PERSON, token="t-1"), timeout=10)
        assert taken.status_code == 200
        again = httpx.post(url, content=webhook(message_id, PERSON, token="t-1"), timeout=10)
        assert again.status_code == 406
        assert httpx.get(f"{base}/presse/abmelden", timeout=10).status_code == 404

    before = {m["Message-ID"] for m in mails_to(example_workspace)}
    follow = cli(
        "send",
        FOLLOW_UP,
        "--list",
        "presse",
        "--allow-fallback",
        "--yes",
        cwd=example_workspace,
        env=HOOK_ENV,
    )
    assert follow.code == 0, follow.output
    assert "1 suppressed (1 complained)" in follow.stdout + follow.stderr
    new = [m for m in mails_to(example_workspace) if m["Message-ID"] not in before]
    assert new and not any(PERSON in m["To"] for m in new)
