"""Mailboxes: the office's mailbox that bounces, complaints and replies come back to.

Owns opening the mailbox ``[inbox]`` names (a local Maildir or mbox file here,
an IMAP folder in ``inbox.imap``), listing the mails still to read and the
housekeeping after one was acted on. It never deletes a mail: with
``processed = "move"`` it moves the mail into ``processed_folder``, with
``"flag"`` it marks the mail where it lies. It does not know what a mail says
(``inbox.classify``) nor what follows from it (``inbox.act``).

The rules for the local mailboxes:

- Maildir: "move" renames the file into the Maildir++ subfolder of
  ``processed_folder`` (``pressdist/processed`` is ``.pressdist.processed/``),
  keeping its name and flags, so that a Dovecot serving the same Maildir shows
  it as a folder. "flag" sets the Seen flag ``S``; ``mails()`` still lists seen
  mails, since a person reading a bounce sets ``S`` too: the caller's journal
  knows what was read. A key is the file's unique name (without ``:2,flags``).
- mbox: the file stays locked as an MTA locks it (``lockf`` and a dot lock)
  for as long as the mailbox is open. "move" appends the mail to the mbox file
  ``processed_folder`` names, taken from the mbox file's own folder (so
  ``bounces.mbox`` moves into ``pressdist/processed`` beside it, the way mail
  readers keep mbox folders); the copy is on disk before the original is
  removed, which happens in one rewrite when the mailbox is closed. An
  interrupted run leaves the mail in both, and the next run does not copy it
  twice. "flag" sets ``Status: RO``. ``Status`` and ``X-Status`` are the
  mbox's flags (as a Maildir keeps them in the file's name), so ``Mail.data``
  is the message without them, and its bytes and key (their SHA-256) stay the
  same when a reader or pressdist marks it; moving keeps them.
"""

from __future__ import annotations

import errno
import hashlib
import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pressdist.errors import ConfigError, MailboxError
from pressdist.workspace import InboxSettings, Workspace, config_line

_EXAMPLE = (
    'e.g. [inbox] host = "imap.example.org", username = "presse-bounces", '
    'password_env = "PRESSDIST_INBOX_PASSWORD"; or path = "bounces/" for a local Maildir'
)


@dataclass(frozen=True)
class Mail:
    """One mail as stored; ``key`` names it within its mailbox for ``done``."""

    key: str  # Maildir: the unique name; mbox: a SHA-256; IMAP: "<uidvalidity>:<uid>"
    data: bytes


class Mailbox(Protocol):
    """A mailbox to read: each kind below, and ``inbox.imap``'s."""

    where: str  # for messages: "IMAP imap.example.org:993 INBOX", "Maildir bounces/"

    def mails(self) -> Iterator[Mail]:
        """The mails still to read (not yet moved, or flagged where IMAP can skip them)."""
        ...

    def done(self, mail: Mail) -> None:
        """The housekeeping after ``mail`` was acted on: move it or flag it."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Mailbox: ...

    def __exit__(self, *exc: object) -> None: ...


class MailboxBase:
    """What every mailbox shares: ``with open_mailbox(ws) as box:`` closes it."""

    where = ""

    def close(self) -> None:  # pragma: no cover - each mailbox has its own
        raise NotImplementedError

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_mailbox(workspace: Workspace) -> Mailbox:
    """The mailbox ``[inbox]`` configures, open and ready for ``mails()``."""
    settings = workspace.config.inbox
    config = workspace.config.path
    if not settings.configured:
        raise ConfigError(
            "no mailbox configured: [inbox] has neither 'path' nor 'host'",
            path=config,
            line=config_line(config, ("inbox",)),
            hint=_EXAMPLE,
        )
    if settings.host:
        # start-up: imap_tools costs ~100 ms to import; a local mailbox does not need it
        from pressdist.inbox.imap import ImapMailbox

        return ImapMailbox.open(settings, workspace.root, config)
    path = Path(settings.path).expanduser()
    path = path if path.is_absolute() else workspace.root / path
    line = config_line(config, ("inbox",), "path")
    if path.is_dir():
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            raise MailboxError(
                f"{path} is a folder but not a Maildir (it has no cur/ and new/)",
                path=config,
                line=line,
                hint="'path' names a Maildir folder or an mbox file",
            )
        return MaildirMailbox(path, settings)
    if path.is_file():
        return MboxMailbox(path, settings)
    raise MailboxError(
        f"the mailbox {path} does not exist",
        path=config,
        line=line,
        hint="check 'path' in [inbox]: a Maildir folder or an mbox file",
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _owned_like(path: Path, model: os.stat_result) -> None:
    """Give ``path`` the owner of ``model`` when running as root.

    Run from root's crontab on a mail server's mailbox, what pressdist creates
    or rewrites must stay the mail server's: its delivery runs as that owner.
    """
    if os.geteuid() == 0 and path.stat().st_uid != model.st_uid:
        os.chown(path, model.st_uid, model.st_gid)


# Maildir ----------------------------------------------------------------------------
_INFO = ":2,"  # what follows it in a name in cur/ are the flags, in ASCII order


class MaildirMailbox(MailboxBase):
    """A local Maildir, read from new/ and cur/."""

    def __init__(self, path: Path, settings: InboxSettings) -> None:
        self.path = path
        self.where = f"Maildir {settings.path}"
        self.mode = settings.processed
        subfolder = ".".join(p for p in settings.processed_folder.split("/") if p)
        self.target = path / f".{subfolder}"
        self._listed: dict[str, Path] = {}  # where mails() found each key

    def _files(self) -> Iterator[tuple[str, Path]]:
        for sub in ("new", "cur"):
            try:
                names = sorted(os.listdir(self.path / sub))
            except OSError as exc:
                raise MailboxError(
                    f"{self.where}: cannot read {sub}/: {_reason(exc)}", path=self.path
                ) from None
            for name in names:
                if not name.startswith("."):
                    yield name.split(":", 1)[0], self.path / sub / name

    def mails(self) -> Iterator[Mail]:
        for key, file in self._files():
            self._listed[key] = file
            try:
                data = file.read_bytes()
            except FileNotFoundError:
                continue  # moved by a mail client since the listing; it is still in the Maildir
            except OSError as exc:
                raise MailboxError(
                    f"{self.where}: cannot read {file.name}: {_reason(exc)}", path=file
                ) from None
            yield Mail(key, data)

    def _find(self, key: str) -> Path | None:
        file = self._listed.get(key)
        if file is not None and file.exists():
            return file
        # A mail client may have moved it from new/ to cur/ or changed its flags.
        return next((f for k, f in self._files() if k == key), None)

    def done(self, mail: Mail) -> None:
        file = self._find(mail.key)
        if file is None:
            return  # someone else moved or removed it since: nothing left to tidy
        flags = file.name.partition(_INFO)[2] if _INFO in file.name else ""
        if self.mode == "move":
            self._create_target()
            destination = self.target / "cur" / f"{mail.key}{_INFO}{flags}"
        else:
            flags = "".join(sorted(set(flags) | {"S"}))
            destination = self.path / "cur" / f"{mail.key}{_INFO}{flags}"
        if destination == file:
            return
        try:
            os.rename(file, destination)
        except OSError as exc:
            raise MailboxError(
                f"{self.where}: cannot move {file.name} to {destination.parent}: {_reason(exc)}",
                path=file,
            ) from None
        self._listed[mail.key] = destination

    def _create_target(self) -> None:
        try:
            owner = self.path.stat()
            marker = self.target / "maildirfolder"
            for folder in (self.target, *(self.target / sub for sub in ("cur", "new", "tmp"))):
                folder.mkdir(mode=0o700, exist_ok=True)
                _owned_like(folder, owner)
            # Maildir++ marks a subfolder so; Dovecot and Courier write it too.
            marker.touch()
            _owned_like(marker, owner)
        except OSError as exc:
            raise MailboxError(
                f"{self.where}: cannot create the processed folder {self.target}: {_reason(exc)}",
                path=self.target,
                hint="remove what is in the way, or set another 'processed_folder' in [inbox]",
            ) from None

    def close(self) -> None:
        pass


# mbox -------------------------------------------------------------------------------
# The mbox's flags, which readers (and "flag") write into the message itself.
_FLAG_HEADERS = re.compile(rb"^(?:x-)?status:", re.I)


def _headers_and_body(data: bytes) -> tuple[list[bytes], bytes]:
    end = data.find(b"\n\n")
    head, body = (data, b"") if end < 0 else (data[: end + 1], data[end + 1 :])
    return head.splitlines(keepends=True), body


def without_flags(data: bytes) -> bytes:
    """A message from an mbox without its Status/X-Status lines: the mail as delivered."""
    lines, body = _headers_and_body(data)
    return b"".join(line for line in lines if not _FLAG_HEADERS.match(line)) + body


def mbox_key(data: bytes) -> str:
    """The SHA-256 of a message without the flags a mail reader writes into it."""
    return hashlib.sha256(without_flags(data)).hexdigest()


def _marked_read(data: bytes) -> bytes:
    """``data`` with ``Status: RO`` (read, old), as mail readers mark what they showed."""
    lines, body = _headers_and_body(data)
    status = [line for line in lines if re.match(rb"^status:", line, re.I)]
    if [line.split(b":", 1)[1].strip() for line in status] == [b"RO"]:
        return data
    kept = [line for line in lines if line not in status]
    return b"".join(kept) + b"Status: RO\n" + body


class MboxMailbox(MailboxBase):
    """A local mbox file, locked while it is open; changes written when it is closed."""

    def __init__(self, path: Path, settings: InboxSettings) -> None:
        self.path = path
        self.where = f"mbox {settings.path}"
        self.mode = settings.processed
        self.target_path = path.parent / settings.processed_folder.strip("/")
        try:
            self._owner = path.stat()
        except OSError as exc:
            raise MailboxError(f"{self.where}: cannot open: {_reason(exc)}", path=path) from None
        self._box: mailbox.mbox | None = self._opened(path, create=False)
        try:
            self._lock(self._box, path)
        except MailboxError:
            self._box.close()
            raise
        self._target: mailbox.mbox | None = None
        self._target_keys: set[str] = set()
        self._entries: dict[str, list[str]] = {}  # key -> the stdlib keys of its copies
        self._changes: dict[str, bytes | None] = {}  # stdlib key -> new bytes, None: remove

    def _opened(self, path: Path, *, create: bool) -> mailbox.mbox:
        try:
            return mailbox.mbox(path, factory=None, create=create)
        except OSError as exc:
            raise MailboxError(
                f"{self.where}: cannot open {path}: {_reason(exc)}", path=path
            ) from None

    def _lock(self, box: mailbox.mbox, path: Path) -> None:
        try:
            box.lock()
        except mailbox.ExternalClashError:
            raise MailboxError(
                f"{self.where}: {path} is locked by another program",
                path=path,
                hint="try again when the mail client or the mail server has finished with it; "
                f"a lock left behind by a crash is the file {path}.lock",
            ) from None
        except OSError as exc:
            raise MailboxError(f"{self.where}: cannot lock {path}: {_reason(exc)}") from None

    def mails(self) -> Iterator[Mail]:
        if self._box is None:
            raise MailboxError(f"{self.where}: the mailbox is closed")
        self._entries = {}
        try:
            keys = self._box.keys()
        except OSError as exc:
            raise MailboxError(
                f"{self.where}: cannot read: {_reason(exc)}", path=self.path
            ) from None
        for stdlib_key in keys:
            data = without_flags(self._box.get_bytes(stdlib_key))
            key = hashlib.sha256(data).hexdigest()
            # Identical copies are one mail: what is done with it is done with all.
            seen = key in self._entries
            self._entries.setdefault(key, []).append(stdlib_key)
            if not seen:
                yield Mail(key, data)

    def _stored(self, stdlib_key: str) -> tuple[bytes, bytes]:
        """The From_ line and the message as the file holds it, flags and all."""
        from_line, _, data = self._box.get_bytes(stdlib_key, from_=True).partition(b"\n")
        return from_line, data

    def done(self, mail: Mail) -> None:
        entries = self._entries.get(mail.key)
        if not entries:
            raise MailboxError(f"{self.where}: no mail {mail.key[:12]}… was listed here")
        if self.mode == "flag":
            for stdlib_key in entries:
                from_line, data = self._stored(stdlib_key)
                marked = _marked_read(data)
                if marked != data:  # a mail marked in an earlier run costs no rewrite
                    self._changes[stdlib_key] = from_line + b"\n" + marked
            return
        target = self._open_target()
        if mail.key not in self._target_keys:
            from_line, data = self._stored(entries[0])
            self._lock(target, self.target_path)
            try:
                target.add(from_line + b"\n" + data)
                target.flush()
                # The copy must be on the disk before the original may go.
                fd = os.open(self.target_path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise MailboxError(
                    f"{self.where}: cannot write to {self.target_path}: {_reason(exc)}",
                    path=self.target_path,
                ) from None
            finally:
                target.unlock()
            self._target_keys.add(mail.key)
        for stdlib_key in entries:
            self._changes[stdlib_key] = None

    def _open_target(self) -> mailbox.mbox:
        if self._target is None:
            try:
                self.target_path.parent.mkdir(parents=True, exist_ok=True)
                if self.target_path.exists() and not self.target_path.is_file():
                    raise IsADirectoryError(errno.EISDIR, "a folder is in the way")
            except OSError as exc:
                raise MailboxError(
                    f"{self.where}: cannot create the processed mbox {self.target_path}: "
                    f"{_reason(exc)}",
                    path=self.target_path,
                    hint="remove what is in the way, or set another 'processed_folder' in [inbox]",
                ) from None
            # Locked only while written to, as an MTA delivering to it does.
            target = self._opened(self.target_path, create=True)
            try:
                self._lock(target, self.target_path)
                try:
                    _owned_like(self.target_path, self._owner)
                    self._target_keys = {mbox_key(target.get_bytes(k)) for k in target.iterkeys()}
                finally:
                    target.unlock()
            except BaseException:
                target.close()
                raise
            self._target = target
        return self._target

    def close(self) -> None:
        """Write the removals and flags in one rewrite (a new file renamed over the old)."""
        if self._box is None:
            return
        box, self._box = self._box, None
        try:
            for stdlib_key, data in self._changes.items():
                if data is None:
                    box.remove(stdlib_key)
                else:
                    box[stdlib_key] = data
            if self._changes:
                box.flush()
                _owned_like(self.path, self._owner)
        except (OSError, mailbox.ExternalClashError) as exc:
            raise MailboxError(
                f"{self.where}: cannot rewrite {self.path}: {exc}",
                path=self.path,
                hint="nothing is lost: the mails stay in it and are read again next time",
            ) from None
        finally:
            self._changes = {}
            box.unlock()
            box.close()
            if self._target is not None:
                self._target.close()
            self._target = None
