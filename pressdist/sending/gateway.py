"""Gateways: the one small protocol every way of delivering a mail follows.

Like httpx's transports, a gateway does one thing: hand one finished message for
one recipient to something that delivers it, and say how that went. It knows
nothing of releases, lists or the journal; ``send`` drives it. Owns the
protocol, the small base class the gateways share, the registry that finds
a gateway module by the ``type`` of its ``[gateways.NAME]`` table, and
``redacted``: a result without the secrets a server may have echoed. Adding a
gateway is one module in ``pressdist/gateways/`` and one line in ``REGISTRY``;
this module never imports one directly.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pressdist.errors import ConfigError
from pressdist.secrets import redact
from pressdist.workspace import GatewayConfig, SendSettings

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # try again later (4xx, timeout, reset, 429/503)
    PERMANENT = "permanent"  # never retry for this recipient (5xx, 4xx of an API)


class Scope(enum.Enum):
    """Whom a permanent refusal is about, as far as the gateway can tell.

    Only a refusal about the recipient may mark their delivery as failed for
    good. One about the sender, the message or the server would refuse every
    other recipient just the same: the run stops rather than burn the list
    (``sending.refusals`` decides when, from the scope and the code).
    """

    RECIPIENT = "recipient"  # this one address (SMTP 5.1.x or 5.2.x)
    UNCLEAR = "unclear"  # could be the address or everyone (a bare 550, an API's 400)
    SERVER = "server"  # a limit or policy of the server or the account (5.3.x, 5.4.x, 5.7.x)
    SENDER = "sender"  # our envelope sender or our login (any refusal of MAIL FROM)
    MESSAGE = "message"  # the content itself (DATA, the final dot, too large)


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient, exactly as it goes over the wire."""

    message_id: str  # without angle brackets
    sender: str  # envelope sender (bare address)
    recipient: str  # bare address of the one recipient
    data: bytes  # the complete RFC 5322 message, CRLF line endings


@dataclass(frozen=True)
class Result:
    envelope: Envelope
    outcome: Outcome
    detail: str = ""  # the server's words, for the journal and the log
    retry_after: float | None = None  # seconds, when the gateway asked for a pause
    # Of a permanent refusal: whom it is about, and the code it came with
    # ("550 5.4.5", "HTTP 400"; "" when there is none to compare).
    scope: Scope = Scope.RECIPIENT
    code: str = ""


def redacted(result: Result) -> Result:
    """``result`` with no secret in its detail: a server may echo a header or a login.

    The engine applies it to every result before the journal, the report or
    the progress callback sees it (``pressdist.secrets``).
    """
    detail = redact(result.detail)
    return result if detail == result.detail else dataclasses.replace(result, detail=detail)


class Gateway(Protocol):
    """What ``send`` needs of a gateway. Every method is called from one event loop."""

    name: str
    concurrency: int  # how many ``send`` calls may be in flight at once

    async def open(self) -> None:
        """Connect and authenticate; raise GatewayError if the gateway cannot be used."""

    async def send(self, envelope: Envelope) -> Result:
        """Deliver one envelope. Never raises for a per-message failure: returns it."""

    async def close(self) -> None: ...


class GatewayBase:
    """What every gateway shares: its name, its concurrency, refusing ``send``
    before ``open``, and a ``close`` that is safe to call at any time, twice too.

    A gateway implements ``_open``, ``_send`` and ``_close``; callers use
    ``open``, ``send`` and ``close`` as the protocol says.
    """

    def __init__(self, name: str, concurrency: int = 1) -> None:
        self.name = name
        self.concurrency = concurrency
        self.is_open = False

    async def open(self) -> None:
        await self._open()
        self.is_open = True

    async def send(self, envelope: Envelope) -> Result:
        if not self.is_open:
            raise RuntimeError(f"{type(self).__name__}.send() before open()")
        return await self._send(envelope)

    async def close(self) -> None:
        self.is_open = False
        await self._close()

    async def _open(self) -> None:
        """Get ready to send; a GatewayError if the gateway cannot be used."""

    async def _send(self, envelope: Envelope) -> Result:
        raise NotImplementedError

    async def _close(self) -> None:
        """Let go of what ``_open`` took; also after a failed or no ``_open``."""


# gateway type -> the module in pressdist/gateways/ whose ``from_settings`` builds it
REGISTRY: dict[str, str] = {
    "maildir": "pressdist.gateways.maildir",
    "smtp": "pressdist.gateways.smtp",
    "http": "pressdist.gateways.http",
}


def build(config: GatewayConfig, *, root: Path) -> Gateway:
    """The gateway ``[gateways.NAME]`` describes; its module validates its own keys."""
    if config.type not in REGISTRY:
        raise ConfigError(
            f"gateway '{config.name}' has unknown type {config.type!r}",
            path=config.path,
            line=config.line("type"),
            hint="use one of: " + ", ".join(sorted(REGISTRY)),
        )
    module = importlib.import_module(REGISTRY[config.type])
    return module.from_settings(config, root=root)


def configured(workspace: Workspace, name: str | None = None) -> Gateway:
    """The gateway ``name`` (default: ``[send] gateway``), built but not opened.

    Its secrets are read here, so a missing one stops ``send`` before anything
    is planned. A workspace with no ``[gateways]`` at all still has its
    default, a Maildir, so the main job works on a fresh machine.
    """
    cfg = workspace.config
    name = name or cfg.send.gateway
    config = cfg.gateways.get(name)
    if config is None:
        if cfg.gateways or name != SendSettings.gateway:
            known = ", ".join(sorted(cfg.gateways)) or "none"
            raise ConfigError(
                f"no gateway '{name}' in pressdist.toml (configured: {known})",
                path=cfg.path,
                hint=f"add a [gateways.{name}] table or pass --gateway NAME",
            )
        config = GatewayConfig.from_table(name, {"type": "maildir"}, cfg.path)
    return build(config, root=workspace.root)
