"""The ``maildir`` gateway: every message becomes one file in a local Maildir.

The default gateway, so the main job works on a fresh machine with no server:
``outbox/`` (or the configured ``path``) is a Maildir any mail client, mutt or
a later relay can read. Owns creating the Maildir and writing messages into it;
it never reads or deletes what is already there.

Writing goes through the standard library's ``mailbox.Maildir``, which follows
the Maildir delivery rule: the message is written to ``tmp/``, flushed to disk
(fsync), then linked into ``new/``. A reader never sees half a message, and a
message counted as accepted survives a crash.
"""

from __future__ import annotations

import asyncio
import mailbox
from dataclasses import dataclass
from pathlib import Path

from pressdist.errors import GatewayError
from pressdist.gateways._settings import Table
from pressdist.sending.gateway import Envelope, GatewayBase, Outcome, Result
from pressdist.workspace import GatewayConfig

_KEYS = {"type", "path"}

# Each write ends in an fsync; a few in parallel overlap the disk waits without
# turning the outbox into a thread pool benchmark.
_CONCURRENCY = 4


@dataclass(frozen=True)
class MaildirSettings:
    name: str
    path: Path  # absolute: a relative ``path`` is taken from the workspace root


class MaildirGateway(GatewayBase):
    """Delivers by adding each message to the Maildir at ``settings.path``."""

    def __init__(self, settings: MaildirSettings) -> None:
        super().__init__(settings.name, _CONCURRENCY)
        self.settings = settings
        self._box: mailbox.Maildir | None = None

    def __repr__(self) -> str:
        return f"MaildirGateway({self.name!r}, {str(self.settings.path)!r})"

    async def _open(self) -> None:
        try:
            # mailbox creates the three folders only when the Maildir itself is
            # missing; an existing empty outbox/ (e.g. from git) needs them too.
            for sub in ("tmp", "new", "cur"):
                (self.settings.path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GatewayError(
                f"gateway '{self.name}': cannot create the Maildir {self.settings.path}: "
                f"{exc.strerror or exc}",
                path=self.settings.path,
                hint="check that the folder is writable, or set another 'path'",
            ) from None
        self._box = mailbox.Maildir(self.settings.path, factory=None, create=False)

    async def _send(self, envelope: Envelope) -> Result:
        # Files in a Maildir use the local line ending, as a delivery agent
        # writes them; the wire format's CRLF is an SMTP matter. Like one, it
        # records the envelope sender as Return-Path (RFC 5321 4.4).
        data = b"Return-Path: <%s>\n" % envelope.sender.encode("utf-8") + envelope.data.replace(
            b"\r\n", b"\n"
        )
        try:
            key = await asyncio.to_thread(self._add, data)
        except OSError as exc:
            # A full disk or a briefly unwritable folder may clear up; the
            # journal keeps the delivery and a later run tries again.
            return Result(
                envelope, Outcome.TRANSIENT, f"cannot write to {self.settings.path}: {exc}"
            )
        return Result(envelope, Outcome.ACCEPTED, f"new/{key}")

    def _add(self, data: bytes) -> str:
        assert self._box is not None
        for _ in range(5):
            try:
                return self._box.add(data)
            except mailbox.ExternalClashError:
                # The unique name is time + pid + a counter that threads may
                # race on; a clash is refused by O_EXCL, so just take a new name.
                continue
        return self._box.add(data)

    async def _close(self) -> None:
        self._box = None


def settings(config: GatewayConfig, *, root: Path) -> MaildirSettings:
    table = Table(config, known=_KEYS)
    raw = table.text("path", "outbox", required=True)
    assert raw is not None
    path = Path(raw).expanduser()
    return MaildirSettings(config.name, path if path.is_absolute() else root / path)


def from_settings(config: GatewayConfig, *, root: Path) -> MaildirGateway:
    return MaildirGateway(settings(config, root=root))
