"""The maildir gateway against a real folder: what it writes, what it refuses."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
from pathlib import Path

import pytest
from conftest import send_all

from pressdist.errors import ConfigError, GatewayError
from pressdist.sending.gateway import Envelope, Outcome, build
from pressdist.workspace import GatewayConfig


def _message(n: int, recipient: str = "") -> Envelope:
    recipient = recipient or f"reader{n}@example.org"
    data = (
        f"From: Presse <presse@example.org>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: Mitteilung {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
        f"Grüße aus Mainz – 美因茨 {n}\r\n.\r\nEnde\r\n"
    ).encode()
    return Envelope(f"m{n}@example.org", "presse@example.org", recipient, data)


def _gateway(root: Path, **settings):
    return build(
        GatewayConfig.from_table(
            "outbox", {"type": "maildir", **settings}, root / "pressdist.toml"
        ),
        root=root,
    )


def test_maildir_writes_one_file_per_message_into_new(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path)
    envelopes = [_message(n) for n in range(50)]
    results = asyncio.run(send_all(gateway, envelopes))

    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    new = sorted((tmp_path / "outbox" / "new").iterdir())
    assert len(new) == 50
    assert list((tmp_path / "outbox" / "tmp").iterdir()) == []
    box = mailbox.Maildir(tmp_path / "outbox", factory=None, create=False)
    ids = sorted(box[key]["Message-ID"] for key in box.iterkeys())
    assert ids == sorted(f"<m{n}@example.org>" for n in range(50))


def test_maildir_file_is_the_message_with_local_line_endings(tmp_path: Path) -> None:
    envelope = _message(7, "李雷@例子.中国")
    (result,) = asyncio.run(send_all(_gateway(tmp_path), [envelope]))

    stored = (tmp_path / "outbox" / result.detail).read_bytes()
    # As a delivery agent does: the envelope sender first, as Return-Path.
    return_path = f"Return-Path: <{envelope.sender}>\n".encode()
    assert stored == return_path + envelope.data.replace(b"\r\n", b"\n")
    parsed = email.message_from_bytes(stored, policy=email.policy.default)
    assert parsed["To"] == "李雷@例子.中国"
    assert "美因茨 7" in parsed.get_content()


def test_maildir_path_is_relative_to_the_workspace_and_may_be_nested(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, path="mail/out")
    asyncio.run(send_all(gateway, [_message(1)]))
    assert len(list((tmp_path / "mail" / "out" / "new").iterdir())) == 1
    assert (tmp_path / "mail" / "out" / "cur").is_dir()


def test_maildir_completes_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "outbox").mkdir()
    asyncio.run(send_all(_gateway(tmp_path), [_message(1)]))
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 1


def test_maildir_refuses_unknown_key_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _gateway(tmp_path, folder="outbox")
    assert "gateways.outbox.folder" in str(err.value)
    assert err.value.path == tmp_path / "pressdist.toml"


def test_maildir_refuses_a_path_that_is_not_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gateways.outbox.path"):
        _gateway(tmp_path, path=3)


def test_maildir_open_fails_cleanly_when_path_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("not a folder")
    gateway = _gateway(tmp_path)
    with pytest.raises(GatewayError, match="cannot create the Maildir"):
        asyncio.run(gateway.open())


def test_maildir_reports_a_write_failure_as_transient(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path)

    async def run():
        await gateway.open()
        # A real write failure that even root gets: tmp/ is no longer a folder.
        (tmp_path / "outbox" / "tmp").rmdir()
        (tmp_path / "outbox" / "tmp").write_text("")
        try:
            return await gateway.send(_message(1))
        finally:
            await gateway.close()

    result = asyncio.run(run())
    assert result.outcome is Outcome.TRANSIENT
    assert "outbox" in result.detail
    assert list((tmp_path / "outbox" / "new").iterdir()) == []
