"""Gateways: the one small protocol every way of delivering a mail follows.

Like httpx's transports, a gateway does one thing: hand one finished message for
one recipient to something that delivers it, and say how that went. It knows
nothing of releases, lists or the journal; ``send`` drives it. Adding a gateway
is one module here and one line in ``_REGISTRY``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # try again later (4xx, timeout, reset, 429/503)
    PERMANENT = "permanent"  # never retry for this recipient (5xx, 4xx of an API)


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


class Gateway(Protocol):
    """What ``send`` needs of a gateway. Every method is called from one event loop."""

    name: str
    concurrency: int  # how many ``send`` calls may be in flight at once

    async def open(self) -> None:
        """Connect and authenticate; raise GatewayError if the gateway cannot be used."""

    async def send(self, envelope: Envelope) -> Result:
        """Deliver one envelope. Never raises for a per-message failure: returns it."""

    async def close(self) -> None: ...


_REGISTRY: dict[str, str] = {
    "maildir": "pressdist.gateways.maildir",
    "smtp": "pressdist.gateways.smtp",
    "http": "pressdist.gateways.http",
}


def build(name: str, settings: dict[str, Any], *, root: Path, config_path: Path) -> Gateway:
    """The gateway ``[gateways.NAME]`` describes; its module validates its own keys."""
    import importlib

    from pressdist.errors import ConfigError
    from pressdist.workspace import config_line

    kind = settings.get("type")
    if kind not in _REGISTRY:
        raise ConfigError(
            f"gateway '{name}' has unknown type {kind!r}",
            path=config_path,
            line=config_line(config_path, ("gateways", name), "type"),
            hint="use one of: " + ", ".join(sorted(_REGISTRY)),
        )
    module = importlib.import_module(_REGISTRY[kind])
    return module.from_settings(name, settings, root=root, config_path=config_path)
