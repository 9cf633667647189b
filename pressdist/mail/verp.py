"""Bounce addresses (VERP): one signed envelope sender per delivery.

Owns the token in ``presse-bounces+TOKEN@example.org`` and its check: with
``[send] bounce_address``, every message goes out with its own envelope sender,
so whatever comes back to that address says which delivery it was about, even
when the report quotes nothing of the original mail.

The token names the delivery by its Message-ID, which is derived from the
release revision, the language and the recipient (``mail.identity``): six
bytes of the revision, the first nine bytes of the Message-ID's hash, then an
HMAC-SHA-256 over both, truncated to eight bytes, in lower-case base32 (mail
servers may change the case of a mailbox name). 37 characters, so that an
address of up to 26 characters before the ``@`` stays within RFC 5321's 64.
The journal is the record of which Message-ID went to whom; no table of
tokens is kept that could be lost. Forging a token means guessing 64 bits of
MAC, one bounce mail per guess. It does not read mailboxes (``inbox``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pressdist.mail.unsubscribe import signing_key
from pressdist.workspace import VERP_DELIMITER, VERP_TOKEN_LENGTH, check_bounce_address

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

_CONTEXT = b"pressdist bounce address\x00"  # a MAC of this kind is never one of another
_REVISION_BYTES = 6  # the revision is 12 hex digits
_DIGEST_BYTES = 9  # of the Message-ID's 12: 72 bits tell a revision's recipients apart
_MAC_BYTES = 8
_PAYLOAD = _REVISION_BYTES + _DIGEST_BYTES
# revision.language.digest@domain, as mail.identity.message_id writes it
_MESSAGE_ID = re.compile(r"^([0-9a-f]{12})\.[^.@]+\.([0-9a-f]{24})@")
_TOKEN = re.compile(rf"^[a-z2-7]{{{VERP_TOKEN_LENGTH}}}$")


class InvalidBounceToken(ValueError):
    """A token that pressdist did not sign: malformed, altered, or of another key."""


@dataclass(frozen=True)
class DeliveryRef:
    """What a verified token says: the revision, and the start of the Message-ID's hash.

    ``matches`` tells whether a Message-ID is the one the token was made for.
    """

    revision: str
    digest_prefix: str  # hex, 18 digits

    def matches(self, message_id: str) -> bool:
        found = _MESSAGE_ID.match(message_id)
        return bool(found) and found[1] == self.revision and found[2].startswith(self.digest_prefix)


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.digest(secret, _CONTEXT + payload, "sha256")[:_MAC_BYTES]


def token(secret: bytes, message_id: str) -> str:
    """The token for the delivery whose Message-ID is ``message_id``.

    ValueError for a Message-ID of another shape (a test copy's): such a mail
    goes out with the bare bounce address.
    """
    if not secret:
        raise ValueError("a bounce token needs a secret")
    found = _MESSAGE_ID.match(message_id)
    if not found:
        raise ValueError(f"{message_id!r} is not the Message-ID of a delivery")
    payload = bytes.fromhex(found[1]) + bytes.fromhex(found[2])[:_DIGEST_BYTES]
    raw = payload + _mac(secret, payload)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def verify(secret: bytes, value: str) -> DeliveryRef:
    """The delivery the token ``value`` names, if ``secret`` signed it; else InvalidBounceToken."""
    if not secret:
        raise ValueError("verifying a bounce token needs the secret that signed it")
    text = value.strip().lower()
    if not _TOKEN.match(text):
        raise InvalidBounceToken("not a bounce token of pressdist (wrong length or characters)")
    try:
        raw = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidBounceToken("not a bounce token of pressdist") from None
    if base64.b32encode(raw).decode("ascii").rstrip("=").lower() != text:
        raise InvalidBounceToken("not a bounce token of pressdist (unused bits set)")
    payload, mac = raw[:_PAYLOAD], raw[_PAYLOAD:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InvalidBounceToken("a bounce token that pressdist did not sign (forged or altered)")
    return DeliveryRef(payload[:_REVISION_BYTES].hex(), payload[_REVISION_BYTES:].hex())


@dataclass(frozen=True)
class BounceAddress:
    """``[send] bounce_address`` with its key: gives each delivery its envelope sender."""

    address: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_bounce_address(self.address)

    @property
    def local(self) -> str:
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def sender(self, message_id: str) -> str:
        """The envelope sender of one delivery; the bare address for a test copy."""
        try:
            return f"{self.local}{VERP_DELIMITER}{token(self.secret, message_id)}@{self.domain}"
        except ValueError:
            return self.address

    def token_of(self, address: str) -> str | None:
        """The token in ``address`` when it is this bounce address with one, else None."""
        local, at, domain = address.strip().strip("<>").rpartition("@")
        if not at or domain.lower() != self.domain.lower():
            return None
        base, sep, tail = local.partition(VERP_DELIMITER)
        if not sep or base.lower() != self.local.lower():
            return None
        return tail

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> BounceAddress | None:
        """The configured bounce address with its key from the environment; None: none set."""
        address = workspace.config.send.bounce_address
        if not address:
            return None
        return cls(address, signing_key(workspace))
