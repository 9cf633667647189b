"""IMAP: the office's mailbox on a mail server, read over TLS.

Owns the connection (implicit TLS, or STARTTLS on the plain port; the
certificate always verified, against the system's CAs or ``ca_file``; the
password from the variable ``password_env`` names), listing the mails still to
read without marking them seen, fetching each byte for byte, and the
housekeeping after one was acted on: UID MOVE into the processed folder
(created with the server's own prefix and hierarchy delimiter) or, with
``processed = "flag"``, the keyword ``$PressdistProcessed`` and ``\\Seen``,
which the next listing leaves out. It never expunges a mail it did not move.
Every failure is one ``MailboxError`` line without the password. What a mail
says is not its business.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

from imap_tools import MailBox, MailBoxStartTls
from imap_tools.errors import MailboxLoginError, MailboxStarttlsError, UnexpectedCommandStatusError
from imap_tools.utils import encode_folder

from pressdist.errors import ConfigError, MailboxError
from pressdist.inbox.mailboxes import Mail, MailboxBase
from pressdist.secrets import SecretError, from_environment, redact
from pressdist.workspace import InboxSettings, config_line

KEYWORD = "$PressdistProcessed"
_PORTS = {"tls": 993, "starttls": 143}
# RFC 2342: the first personal namespace, ``(("INBOX." ".") ...)`` or ``(("" "/"))``.
_NAMESPACE = re.compile(rb'^\(\("((?:[^"\\]|\\.)*)" (?:"((?:[^"\\]|\\.))"|NIL)')


def _password(settings: InboxSettings, config: Path) -> str:
    if not settings.password_env:
        raise ConfigError(
            "'inbox' has a host but no 'password_env'",
            path=config,
            line=config_line(config, ("inbox",), "host"),
            hint='e.g. password_env = "PRESSDIST_INBOX_PASSWORD", then export that variable',
        )
    try:
        return from_environment(settings.password_env, "inbox.password_env", export_hint=" first")
    except SecretError as exc:
        line = config_line(config, ("inbox",), "password_env")
        raise ConfigError(exc.message, path=config, line=line, hint=exc.hint) from None


def _tls_context(settings: InboxSettings, root: Path, config: Path) -> ssl.SSLContext:
    if not settings.ca_file:
        return ssl.create_default_context()
    path = Path(settings.ca_file).expanduser()
    path = path if path.is_absolute() else root / path
    line = config_line(config, ("inbox",), "ca_file")
    if not path.is_file():
        raise ConfigError(f"'inbox.ca_file': file {path} not found", path=config, line=line)
    try:
        # With a ca_file, that CA alone is trusted: what a private CA means.
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise ConfigError(
            f"'inbox.ca_file': {path} holds no certificate",
            path=config,
            line=line,
            hint="give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)",
        ) from None


def _said(exc: UnexpectedCommandStatusError) -> str:
    data = exc.command_result[1] or []
    words = b" ".join(d if isinstance(d, bytes) else b"" for d in data)
    return words.decode("utf-8", "replace").strip() or str(exc.command_result[0])


class ImapMailbox(MailboxBase):
    """One folder on an IMAP server, over one verified TLS connection."""

    def __init__(self, settings: InboxSettings, port: int, password: str) -> None:
        self.settings = settings
        self.address = f"{settings.host}:{port}"
        self.where = f"IMAP {self.address} {settings.folder}"
        self.port = port
        self._password = password
        self._box: MailBox | MailBoxStartTls | None = None
        self._capabilities: set[str] = set()
        self._validity = ""
        self._target = ""  # the processed folder's name on this server, once it exists

    @classmethod
    def open(cls, settings: InboxSettings, root: Path, config: Path) -> ImapMailbox:
        """Connect, log in and select the folder; every failure a MailboxError."""
        port = settings.port or _PORTS[settings.security]
        if settings.security == "starttls" and port == 993:
            raise ConfigError(
                "port 993 speaks TLS from the first byte, not STARTTLS",
                path=config,
                line=config_line(config, ("inbox",), "port"),
                hint='use security = "tls" with port 993, or port 143 for STARTTLS',
            )
        box = cls(settings, port, _password(settings, config))
        box._connect(_tls_context(settings, root, config))
        return box

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn what the network, TLS or the server say into one line for a person."""
        try:
            yield
        except MailboxError:
            raise
        except Exception as exc:  # every library error is reworded; none may leak a trace
            error = self._error(exc, doing)
            if error is None:
                raise
            self._abandon()
            raise error from None

    def _error(self, exc: Exception, doing: str) -> MailboxError | None:
        where, who = self.address, self.settings.username
        if isinstance(exc, ssl.SSLCertVerificationError):
            return MailboxError(
                f"IMAP {where}: TLS certificate not trusted: {exc.verify_message}",
                hint="for a server with a private CA, set ca_file in [inbox] to that CA's "
                "certificate",
            )
        if isinstance(exc, ssl.SSLError):
            return MailboxError(f"IMAP {where}: TLS handshake failed: {exc.reason or exc}")
        if isinstance(exc, TimeoutError):
            return MailboxError(
                f"IMAP {where}: no answer within {self.settings.timeout:g} s while {doing}",
                hint="check 'host' and 'port' in [inbox], or raise 'timeout'",
            )
        if isinstance(exc, MailboxLoginError):
            return MailboxError(
                f"IMAP {where}: login as {who!r} refused: {self._clean(_said(exc))}",
                hint=f"check 'username' and the password in ${self.settings.password_env}",
            )
        if isinstance(exc, MailboxStarttlsError):
            return MailboxError(
                f"IMAP {where}: the server refused STARTTLS: {self._clean(_said(exc))}",
                hint='if the port speaks TLS from the start, use security = "tls"',
            )
        if isinstance(exc, UnexpectedCommandStatusError):
            return MailboxError(f"IMAP {where}: {doing} refused: {self._clean(_said(exc))}")
        if isinstance(exc, imaplib.IMAP4.error | OSError) and doing == "connecting":
            reason = getattr(exc, "strerror", None) or self._clean(str(exc))
            return MailboxError(
                f"IMAP {where}: cannot connect: {reason}",
                hint="check 'host' and 'port' in [inbox] and that the mail server is running",
            )
        if isinstance(exc, imaplib.IMAP4.abort | OSError):
            return MailboxError(
                f"IMAP {where}: connection lost while {doing}: {self._clean(str(exc))}",
                hint="nothing is lost: what was not tidied up is read again next time",
            )
        if isinstance(exc, imaplib.IMAP4.error):
            return MailboxError(f"IMAP {where}: {doing} failed: {self._clean(str(exc))}")
        return None

    def _clean(self, text: str) -> str:
        # Servers do not echo a password, but a message must never carry it.
        return redact(text)

    def _connect(self, context: ssl.SSLContext) -> None:
        settings = self.settings
        kind = MailBox if settings.security == "tls" else MailBoxStartTls
        with self._errors("connecting"):
            self._box = kind(
                settings.host, self.port, timeout=settings.timeout, ssl_context=context
            )
        with self._errors("logging in"):
            self._box.login(settings.username, self._password, initial_folder=None)
            # imaplib keeps the greeting's capabilities; after login there are more (MOVE).
            client = self._box.client
            typ, data = client.capability()
            if typ == "OK" and data:
                client.capabilities = tuple(data[-1].decode().upper().split())
            self._capabilities = set(client.capabilities)
        with self._errors(f"selecting {settings.folder!r}"):
            self._select()

    def _select(self) -> None:
        client = self._client
        typ, data = client.select(encode_folder(self.settings.folder))
        if typ != "OK":
            names = ", ".join(f.name for f in self._box.folder.list()[:12])
            self._abandon()
            raise MailboxError(
                f"IMAP {self.address}: no folder {self.settings.folder!r} "
                f"({self._clean(b' '.join(data).decode('utf-8', 'replace'))})",
                hint=f"set 'folder' in [inbox] to one of: {names}",
            )
        validity = client.untagged_responses.get("UIDVALIDITY") or [b""]
        self._validity = validity[-1].decode()
        if self.settings.processed == "flag":
            permanent = b" ".join(client.untagged_responses.get("PERMANENTFLAGS") or [])
            if b"\\*" not in permanent and KEYWORD.encode() not in permanent:
                self._abandon()
                raise MailboxError(
                    f"IMAP {self.address}: the folder {self.settings.folder!r} keeps no "
                    "keywords, so processed mails cannot be marked",
                    hint='set processed = "move" in [inbox]',
                )

    def _live(self) -> MailBox | MailBoxStartTls:
        if self._box is None:
            raise MailboxError(f"{self.where}: the mailbox is closed")
        return self._box

    @property
    def _client(self) -> imaplib.IMAP4:
        return self._live().client

    def mails(self) -> Iterator[Mail]:
        criteria = "UNDELETED"
        if self.settings.processed == "flag":
            criteria += f" NOT KEYWORD {KEYWORD}"
        box = self._live()
        with self._errors("listing the mails"):
            uids = box.uids(criteria)
        for uid in uids:
            with self._errors("fetching a mail"):
                typ, data = self._client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if typ == "OK" and raw is not None:  # None: expunged by another client meanwhile
                yield Mail(f"{self._validity}:{uid}", raw)

    def done(self, mail: Mail) -> None:
        validity, _, uid = mail.key.partition(":")
        if validity != self._validity:
            raise MailboxError(
                f"{self.where}: mail {mail.key} is from another numbering of the folder "
                f"(UIDVALIDITY is now {self._validity})",
                hint="run again: the mails are listed anew",
            )
        client = self._client
        if self.settings.processed == "flag":
            with self._errors("marking a mail as processed"):
                # A plain STORE: imap-tools' flag() expunges after it, which would
                # remove mails someone else marked \Deleted.
                self._check(client.uid("STORE", uid, "+FLAGS", f"({KEYWORD} \\Seen)"))
            return
        with self._errors("moving a mail to the processed folder"):
            target = self._processed_folder()
            if "MOVE" in self._capabilities:  # RFC 6851
                self._box.move(uid, target)
            else:
                self._check(client.uid("COPY", uid, encode_folder(target)))
                self._check(client.uid("STORE", uid, "+FLAGS", "(\\Deleted)"))
                # RFC 4315 removes just this one; without it the mail stays
                # flagged \Deleted (and unlisted) until its owner expunges.
                if "UIDPLUS" in self._capabilities:
                    self._check(client.uid("EXPUNGE", uid))

    @staticmethod
    def _check(result: tuple) -> None:
        if result[0] != "OK":
            raise UnexpectedCommandStatusError(result, "OK")

    def _processed_folder(self) -> str:
        """The processed folder's name with this server's prefix and delimiter; created once."""
        if self._target:
            return self._target
        client, prefix, delimiter = self._client, "", ""
        if "NAMESPACE" in self._capabilities:
            typ, data = client.namespace()
            m = _NAMESPACE.match(data[0] or b"") if typ == "OK" and data else None
            if m:
                prefix = m.group(1).decode()
                delimiter = (m.group(2) or b"").decode()
        if not delimiter:
            listed = self._box.folder.list("", "")
            delimiter = listed[0].delim if listed and listed[0].delim != "NIL" else ""
        parts = [p for p in self.settings.processed_folder.split("/") if p]
        name = prefix + (delimiter or "/").join(parts)
        if not self._box.folder.exists(name):
            self._box.folder.create(name)
            # Clients that show subscribed folders only would hide it otherwise.
            with contextlib.suppress(Exception):
                self._box.folder.subscribe(name, True)
        self._target = name
        return name

    def _abandon(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            with contextlib.suppress(Exception):
                box.client.shutdown()

    def close(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.logout()
            except Exception:  # a connection already gone has nothing left to close
                with contextlib.suppress(Exception):
                    box.client.shutdown()
