"""Signed unsubscribe links: the token, and the two URIs each recipient's mail carries.

Owns the token format and its check (``sign``, ``verify``), the configured
unsubscribe targets made into one value for a run (``Unsubscribe``: the URL
template, the mailto address, the signing key from the environment) and what
it gives each recipient (``Unsubscribe.links``), and the warning that an
``{email}`` link can be forged. It does not put the links into a mail
(``mail.render``, ``mail.mime``), serve the endpoint, or suppress anyone.

The token carries whom and which list it means, so that an endpoint on
another machine can act on it without the journal: a version byte, the day
it was issued, the list name and the address, then an HMAC-SHA-256 over all
of that, truncated to 128 bits (as RFC 4868 does for IPsec), base64url
without padding. Nothing in it is secret, only unforgeable: the address is
readable by whoever holds the link, as it is in the mail itself.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from pressdist.diagnostics import WARNING, Diagnostic
from pressdist.errors import ConfigError, InputError
from pressdist.mail.addresses import check_address
from pressdist.mail.mime import HeaderError
from pressdist.secrets import SecretError, from_environment
from pressdist.workspace import check_unsubscribe_mailto, check_unsubscribe_url, config_line

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

VERSION = 1
DEFAULT_MAX_AGE_DAYS = 730  # a release is reread for years; so is its unsubscribe link
MIN_SECRET_BYTES = 16
# The subject of the mailto: a person sees it; the inbox reads the token after it.
MAILTO_SUBJECT = "unsubscribe "
_SUBJECT_QUERY = "?subject=" + quote(MAILTO_SUBJECT)

_EPOCH = dt.date(2020, 1, 1)  # day 0 of the two-byte issue date (good until 2199)
_MAC_BYTES = 16
_HEAD = 4  # version, issue day (2), length of the list name
_MAX_ADDRESS = 254  # bytes, RFC 5321's path without its brackets
_MAX_LIST = 255
_MAX_TOKEN = -(-(_HEAD + _MAX_LIST + _MAX_ADDRESS + _MAC_BYTES) * 4 // 3)
# Keeps a token of this format from ever being valid as a MAC of another.
_CONTEXT = b"pressdist unsubscribe\x00"


class InvalidToken(InputError):
    """A token that is not one of ours: malformed, of another key, or altered."""


class ExpiredToken(InvalidToken):
    """A genuine token past its age; ``request`` says whom it meant."""

    def __init__(self, message: str, request: UnsubscribeRequest, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.request = request


@dataclass(frozen=True)
class UnsubscribeRequest:
    """What a verified token asks: take ``address`` off ``list_name``.

    ``list_name`` is "" for a test copy (``send --to``), which came from no list.
    """

    address: str
    list_name: str
    issued: dt.date


# The token --------------------------------------------------------------------


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.digest(secret, _CONTEXT + payload, "sha256")[:_MAC_BYTES]


def sign(secret: bytes, address: str, list_name: str, *, issued: dt.date | None = None) -> str:
    """A URL-safe token saying "``address`` leaves ``list_name``", signed with ``secret``."""
    if not secret:
        raise ValueError("an unsubscribe token needs a secret")
    day = ((issued or dt.datetime.now(dt.UTC).date()) - _EPOCH).days
    addr, name = address.encode("utf-8"), list_name.encode("utf-8")
    if not 0 <= day <= 0xFFFF:
        raise ValueError(f"an unsubscribe token cannot be issued on {issued}")
    if not addr or len(addr) > _MAX_ADDRESS or len(name) > _MAX_LIST:
        raise ValueError("an unsubscribe token holds an address of 1-254 and a list of 0-255 bytes")
    payload = bytes((VERSION, day >> 8, day & 0xFF, len(name))) + name + addr
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode("ascii")


def _decode(token: str) -> bytes:
    """The token's bytes; only the one spelling ``sign`` writes is accepted."""
    refused = InvalidToken(
        "this unsubscribe link is not valid (cut off or altered)",
        hint="open the link from the mail as it is, or reply to ask to be removed",
    )
    if not token or len(token) > _MAX_TOKEN or not token.isascii():
        raise refused
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise refused from None
    # Unused low bits of the last character would let two spellings decode alike.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise refused
    if len(raw) < _HEAD + 1 + _MAC_BYTES:
        raise refused
    return raw


def verify(
    secret: bytes,
    token: str,
    *,
    now: dt.date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
) -> UnsubscribeRequest:
    """Whom and which list ``token`` means, if ``secret`` signed it; InvalidToken if not.

    ExpiredToken (an InvalidToken) when it was issued more than ``max_age_days``
    before ``now`` (today); ``max_age_days=None``: tokens never expire.
    """
    if not secret:
        raise ValueError("verifying an unsubscribe token needs the secret that signed it")
    raw = _decode(token)
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if payload[0] != VERSION or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InvalidToken(
            "this unsubscribe link was not issued by this press office (or was altered)",
            hint="open the link from the mail as it is, or reply to ask to be removed",
        )
    issued = _EPOCH + dt.timedelta(days=(payload[1] << 8) | payload[2])
    end = _HEAD + payload[3]
    try:
        request = UnsubscribeRequest(
            payload[end:].decode("utf-8"), payload[_HEAD:end].decode("utf-8"), issued
        )
    except UnicodeDecodeError:  # signed, so only a bug of ours could make it
        raise InvalidToken("this unsubscribe link holds no address") from None
    age = ((now or dt.datetime.now(dt.UTC).date()) - issued).days
    if max_age_days is not None and age > max_age_days:
        raise ExpiredToken(
            f"this unsubscribe link expired (issued {issued}, valid for {max_age_days} days)",
            request,
            hint="use the link of a newer mail, or reply to ask to be removed",
        )
    return request


# The links of a run -----------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribe:
    """The configured unsubscribe targets, made once per run, filled per recipient.

    ``url`` may hold ``{token}`` and ``{email}``; ``mailto`` is one address,
    whose subject gets the token when there is a ``secret``. Refuses (HeaderError)
    a URL or address that cannot go into a header.
    """

    url: str = ""
    mailto: str = ""
    secret: bytes = field(default=b"", repr=False)
    issued: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def __post_init__(self) -> None:
        try:
            if self.url:
                check_unsubscribe_url(self.url)
        except ValueError as exc:
            raise HeaderError(str(exc)) from None
        if "{token}" in self.url and not self.secret:
            raise HeaderError("an unsubscribe URL with {token} needs a secret")
        if self.mailto:
            object.__setattr__(self, "mailto", _mailto_address(self.mailto))

    @property
    def one_click(self) -> bool:
        """RFC 8058: a POST to the URL unsubscribes; only over https."""
        return self.url.startswith("https:")

    def token(self, address: str, list_name: str) -> str:
        return sign(self.secret, address, list_name, issued=self.issued)

    def links(self, address: str, list_name: str = "") -> tuple[str, ...]:
        """The recipient's targets: the URL, then the mailto (what List-Unsubscribe lists)."""
        token = self.token(address, list_name) if self.secret else ""
        out = []
        if self.url:
            url = self.url.replace("{token}", token) if token else self.url
            out.append(url.replace("{email}", quote(address, safe="")))
        if self.mailto:
            subject = _SUBJECT_QUERY + token if token else ""
            out.append(f"mailto:{self.mailto}{subject}")
        return tuple(out)

    @classmethod
    def from_workspace(cls, workspace: Workspace, *, preview: bool = False) -> Unsubscribe | None:
        """``[send]``'s targets with the key its ``unsubscribe_secret_env`` names; None: none.

        A missing, empty or short key is a ConfigError at that key's line,
        naming the variable and never its value. ``preview`` signs with a
        stand-in key instead, so that a translator can preview without it.
        """
        send, path = workspace.config.send, workspace.config.path
        if not send.unsubscribe_url and not send.unsubscribe_mailto:
            return None
        try:
            mailto = _mailto_address(send.unsubscribe_mailto) if send.unsubscribe_mailto else ""
        except HeaderError as exc:
            line = config_line(path, ("send",), "unsubscribe_mailto")
            raise ConfigError(exc.message, path=path, line=line, hint=exc.hint) from None
        secret = b""
        if send.unsubscribe_secret_env:
            secret = b"preview-only-key" if preview else signing_key(workspace)
        # The URL was checked when pressdist.toml was read (workspace.load_config).
        return cls(send.unsubscribe_url, mailto, secret)


def _mailto_address(value: str) -> str:
    """The mailto's address: one address in the shape pressdist.toml allows, valid, ASCII."""
    try:
        addr, _key, smtputf8 = check_address(check_unsubscribe_mailto(value))
    except ValueError as exc:
        raise HeaderError(f"unsubscribe_mailto: {exc}") from None
    if smtputf8:
        raise HeaderError(
            f"unsubscribe_mailto {addr!r} has a mailbox name that is not ASCII",
            hint="use an ASCII address; recipients may have UTF-8 addresses",
        )
    return addr


def signing_key(workspace: Workspace) -> bytes:
    """The signing key from the environment; its value is never put into a message."""
    cfg = workspace.config
    var = cfg.send.unsubscribe_secret_env
    line = config_line(cfg.path, ("send",), "unsubscribe_secret_env")
    try:
        value = from_environment(
            var,
            "send.unsubscribe_secret_env",
            export_hint=" (a long random value, the same wherever links are verified)",
        ).encode("utf-8")
    except SecretError as exc:
        raise ConfigError(exc.message, path=cfg.path, line=line, hint=exc.hint) from None
    if len(value) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"environment variable {var} (named by 'send.unsubscribe_secret_env') is "
            f"shorter than {MIN_SECRET_BYTES} bytes: links signed with it could be forged",
            path=cfg.path,
            line=line,
            hint='make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    return value


def forgeable_link(workspace: Workspace) -> Diagnostic | None:
    """A warning when ``unsubscribe_url`` names the address (``{email}``) unsigned.

    Anyone who edits such a link can take someone else off a list.
    """
    cfg = workspace.config
    url = cfg.send.unsubscribe_url
    if "{email}" not in url or "{token}" in url:
        return None
    return Diagnostic(
        cfg.path,
        config_line(cfg.path, ("send",), "unsubscribe_url"),
        WARNING,
        "unsubscribe_url with {email} can be forged: whoever edits the link can "
        "unsubscribe someone else",
        hint="use {token} in unsubscribe_url and set unsubscribe_secret_env",
    )
