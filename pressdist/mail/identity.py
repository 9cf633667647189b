"""The sender's identity: From, the envelope sender, Message-IDs and shared headers.

Owns what every mail of the office carries whatever its content: the From
line and envelope sender from ``sender``/``organisation``, the Message-ID
(stable per revision, language and recipient), and the header values taken
from ``[send]``. Refuses a bad setting with the line in pressdist.toml before
anything is sent. It does not build bodies (``render``) or deliver.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import idna

from pressdist.errors import ConfigError
from pressdist.mail.mime import HeaderError, address, split_mailbox
from pressdist.mail.unsubscribe import Unsubscribe
from pressdist.workspace import config_line

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


def _sender(workspace: Workspace) -> tuple[str, str]:
    """The configured sender as ``(name, address)``, or a ConfigError naming pressdist.toml."""
    cfg = workspace.config
    if not cfg.sender.strip():
        raise ConfigError(
            "'sender' is not set to an address",
            path=cfg.path,
            hint='set sender = "Press Office <press@example.org>" in pressdist.toml',
        )
    try:
        # A line break would otherwise be dropped silently (or worse, end the
        # From header): the value is refused, not repaired.
        return split_mailbox(cfg.sender, "sender")
    except HeaderError as exc:
        raise ConfigError(
            exc.message, path=cfg.path, line=config_line(cfg.path, (), "sender"), hint=exc.hint
        ) from None


def sender_address(workspace: Workspace) -> str:
    """The envelope sender: the configured address in the ASCII form From shows it in."""
    cfg = workspace.config
    addr = _sender(workspace)[1]
    try:
        envelope = address(addr, "sender")
    except HeaderError as exc:
        raise ConfigError(
            exc.message, path=cfg.path, line=config_line(cfg.path, (), "sender"), hint=exc.hint
        ) from None
    if not envelope.isascii():
        # It is in every mail: a UTF-8 mailbox name would need SMTPUTF8 for all of them.
        raise ConfigError(
            f"the sender address {addr!r} has a mailbox name that is not ASCII",
            path=cfg.path,
            line=config_line(cfg.path, (), "sender"),
            hint="use an ASCII address as sender; recipients may have UTF-8 addresses",
        )
    return envelope


def from_header(workspace: Workspace) -> str:
    """The From line: the configured sender, named after the organisation if it has no name."""
    cfg = workspace.config
    name, addr = _sender(workspace)
    if name or not cfg.organisation.strip():
        return cfg.sender.strip()
    quoted = cfg.organisation.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{addr}>'


def message_id_domain(workspace: Workspace) -> str:
    domain = workspace.config.send.message_id_domain or sender_address(workspace).rsplit("@", 1)[1]
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except Exception:
        raise ConfigError(
            f"'send.message_id_domain' {domain!r} is not a domain", path=workspace.config.path
        ) from None


def shared_headers(workspace: Workspace, *, preview: bool = False) -> dict[str, Any]:
    """The ``personalise`` arguments that come from pressdist.toml, the same in every mail.

    Made once per run: the unsubscribe links' key is read from the
    environment here (a ConfigError naming its line when it is missing);
    ``preview`` signs them with a stand-in key.
    """
    cfg = workspace.config
    return {
        "sender": from_header(workspace),
        "reply_to": cfg.reply_to,
        "unsubscribe": Unsubscribe.from_workspace(workspace, preview=preview),
    }


def check_headers(workspace: Workspace, message: Any) -> None:
    """Refuse now a configured header value (sender, reply_to, unsubscribe) that is invalid.

    Each goes into every mail: left to the run, it would be recorded as a
    permanent failure of every recipient instead of one error naming the file.
    ``message`` is any RenderedMessage of the release.
    """
    try:
        data = message.personalise(
            to="recipient@example.org",
            message_id=f"check@{message_id_domain(workspace)}",
            **shared_headers(workspace),
        )
    except HeaderError as exc:
        raise ConfigError(exc.message, path=workspace.config.path, hint=exc.hint) from None
    if not data.split(b"\r\n\r\n", 1)[0].isascii():
        # Only an address can put raw UTF-8 into the headers (RFC 6532); in a
        # setting it would need SMTPUTF8 for every recipient, not just one.
        raise ConfigError(
            "reply_to has a mailbox name that is not ASCII",
            path=workspace.config.path,
            line=config_line(workspace.config.path, (), "reply_to"),
            hint="use ASCII addresses in pressdist.toml; recipients may have UTF-8 addresses",
        )


def message_id(
    revision: str, language: str, key: str, domain: str, *, correction: bool = False
) -> str:
    """Stable for (revision, language, recipient): a resend is recognisably the same mail.

    The address is hashed, so a Message-ID never reveals who else got the release.
    A correction is a mail of its own, with its own Message-ID of the same
    shape (``mail.verp`` reads it): its hash covers the word "correction" too.
    """
    seed = f"{revision}\0{language}\0{key.lower()}" + ("\0correction" if correction else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    return f"{revision}.{language}.{digest}@{domain}"
