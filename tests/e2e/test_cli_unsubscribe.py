"""Unsubscribe links as a press officer meets them: the {email} warning, signed links, errors."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pressdist.mail.unsubscribe import verify

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
SECRET = "e2e-unsubscribe-secret-0123456789"
ENV = {"PRESSDIST_UNSUBSCRIBE_SECRET": SECRET}


def _set_send(root: Path, lines: str) -> int:
    """Replace the example's unsubscribe_url by ``lines``; the line number of the first."""
    cfg = root / "pressdist.toml"
    text = re.sub(r"(?m)^unsubscribe_url = .*\n", "", cfg.read_text("utf-8"))
    text = text.replace("[send]\n", "[send]\n" + lines, 1)
    cfg.write_text(text, encoding="utf-8")
    return text[: text.index(lines)].count("\n") + 1


def _outbox(root: Path) -> list[email.message.EmailMessage]:
    box = mailbox.Maildir(root / "outbox", factory=None, create=True)
    return [
        email.message_from_string(box.get_bytes(k).decode("utf-8"), policy=email.policy.default)
        for k in box.iterkeys()
    ]


def _warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "can be forged" in line]


def test_check_and_send_warn_once_that_email_links_can_be_forged(cli, example_workspace):
    text = (example_workspace / "pressdist.toml").read_text("utf-8")
    line = text[: text.index("unsubscribe_url = ")].count("\n") + 1
    for args in (("check",), ("send", RELEASE, "--list", "presse", "--yes")):
        result = cli(*args, cwd=example_workspace)
        assert "Traceback" not in result.output
        (warning,) = _warning_lines(result.stderr)
        assert warning.startswith(f"warning: pressdist.toml:{line}: unsubscribe_url with {{email}}")
        assert "{token}" in warning and "unsubscribe_secret_env" in warning
    assert result.code == 0, result.output
    assert all("adresse=" in str(m["List-Unsubscribe"]) for m in _outbox(example_workspace))


def test_send_with_token_links_gives_each_recipient_a_verifiable_link(cli, example_workspace):
    _set_send(
        example_workspace,
        'unsubscribe_url = "https://presse.example.org/abmelden?t={token}"\n'
        'unsubscribe_mailto = "abmelden@example.org"\n'
        'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n',
    )
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace, env=ENV)
    assert result.code == 0, result.output
    assert not _warning_lines(result.output)
    assert SECRET not in result.output
    found = _outbox(example_workspace)
    assert found
    for msg in found:
        url = re.match(r"<([^>]+)>", str(msg["List-Unsubscribe"])).group(1)
        request = verify(SECRET.encode(), parse_qs(urlsplit(url).query)["t"][0])
        assert (request.address, request.list_name) == (msg["To"].addresses[0].addr_spec, "presse")
        assert url in msg.get_body(("plain",)).get_content()


def test_a_token_link_without_its_secret_variable_sends_nothing(cli, example_workspace):
    line = _set_send(
        example_workspace,
        'unsubscribe_url = "https://presse.example.org/abmelden?t={token}"\n'
        'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n',
    )
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 2, result.output
    assert f"pressdist.toml:{line + 1}: environment variable PRESSDIST_UNSUBSCRIBE_SECRET" in (
        result.stderr
    )
    assert not _outbox(example_workspace)


@pytest.mark.parametrize(
    "setting",
    [
        'unsubscribe_url = "javascript:alert(1)"\n',
        'unsubscribe_mailto = "mailto:a>, <https://evil.example"\n',
    ],
)
def test_a_dangerous_unsubscribe_setting_is_one_error_at_its_line(cli, example_workspace, setting):
    line = _set_send(example_workspace, setting)
    result = cli("send", RELEASE, "--list", "presse", "--yes", cwd=example_workspace)
    assert result.code == 2, result.output
    assert f"pressdist.toml:{line}: unsubscribe" in result.stderr
    assert "Traceback" not in result.output
    assert not _outbox(example_workspace)
