"""The suppression list: who must not be mailed, why, since when, and who said so.

Owns ``suppressed.csv`` at the workspace root (kept in git like the lists):
its format, reading it strictly (a hand edit gone wrong is one error at its
line, nothing written), the one normalising hash every part of pressdist
matches addresses by (``address_hash``), and adding and lifting suppressions
safely while other processes do the same (a lock around read-modify-write,
the file written whole). The file is a history, one row per event: lifting a
suppression appends a ``resubscribed`` row and never deletes what came before,
so consent is documented, not assumed. It does not read lists, send, or decide
what an unsubscribe link looks like; ``audience.lists`` and ``sending.plan``
ask it whom to leave out.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from pressdist.errors import InputError
from pressdist.files import atomic_write, read_text
from pressdist.mail.addresses import ascii_form, check_address

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

FILE_NAME = "suppressed.csv"
LOCK_NAME = "suppressed.lock"
ALL_LISTS = "*"

UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
COMPLAINED = "complained"
ERASED = "erased"
MANUAL = "manual"
RESUBSCRIBED = "resubscribed"  # lifts every suppression of the address before it
REASONS = (UNSUBSCRIBED, BOUNCED, COMPLAINED, ERASED, MANUAL)

COLUMNS = ("hash", "address", "scope", "reason", "when", "source", "note")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HINT = "fix the row, or restore the file from git; `pressdist suppress add` writes valid rows"


def address_hash(address: str) -> str:
    """The SHA-256 (hex) of ``address`` normalised: the one key suppression matches by.

    NFC, the part before the '@' lower-cased, the domain in its lower-cased
    IDNA form: ``Müller@Bücher.DE``, ``müller@xn--bcher-kva.de`` and the same
    with a decomposed ü hash alike, so a list re-imported from Excel in other
    case or encoding never brings anyone back. ValueError for no address.
    """
    text = unicodedata.normalize("NFC", address.strip())
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise ValueError(f"{address!r} is not an address")
    for _ in range(4):  # lower() may undo NFC and back; both settle within a step or two
        folded = unicodedata.normalize("NFC", local.lower())
        if folded == local:
            break
        local = folded
    host = ascii_form(domain[:-1] if domain.endswith(".") else domain)
    return hashlib.sha256(f"{local}@{host}".encode()).hexdigest()


def reason_of(text: str) -> tuple[str, str]:
    """``(reason, note)`` for what a person gives as the reason of a suppression.

    A known word (unsubscribed, bounced, complained, manual) is the reason
    itself; anything else is their note under ``manual``. ``erased`` is not
    theirs to give: only erasure (which removes the address too) records it.
    """
    word = text.strip()
    if word.lower() in (UNSUBSCRIBED, BOUNCED, COMPLAINED, MANUAL):
        return word.lower(), ""
    return MANUAL, word


def suppression_path(workspace: Workspace) -> Path:
    return workspace.root / FILE_NAME


def scope_words(list_name: str | None) -> str:
    """``all lists`` for None, else ``list NAME``."""
    return "all lists" if list_name is None else f"list {list_name}"


@dataclass(frozen=True)
class Suppression:
    """One row of the file: an address suppressed (or, ``resubscribed``, brought back)."""

    hash: str
    address: str  # "" once erased
    scope: str  # a list name, or ALL_LISTS
    reason: str  # one of REASONS, or RESUBSCRIBED
    when: dt.datetime  # UTC
    source: str  # a link, a mail, a provider event, a person's name, file:line
    note: str = ""  # the why a person gave, in their words
    line: int = 0  # in the file; 0 for a row not yet written

    @property
    def scope_words(self) -> str:
        """``all lists`` or ``list presse``: the scope as a sentence says it."""
        return scope_words(None if self.scope == ALL_LISTS else self.scope)

    def covers(self, list_name: str | None) -> bool:
        """Whether it keeps mail of ``list_name`` (None: of any list) away."""
        return list_name is None or self.scope in (ALL_LISTS, list_name)

    def to_dict(self) -> dict[str, str]:
        """The row as ``suppress list --json`` gives it: the file's columns."""
        return dict(zip(COLUMNS, self.cells(), strict=True))

    def cells(self) -> list[str]:
        """The row's cells as written: one physical line each, so a row is a line."""
        when = self.when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cells = [self.hash, self.address, self.scope, self.reason, when, self.source, self.note]
        return [" ".join(c.split()) for c in cells]


@dataclass(frozen=True)
class Suppressions:
    """The file as read: every row in order, and what is in force now, by hash."""

    path: Path
    rows: tuple[Suppression, ...] = ()
    active_by_hash: Mapping[str, tuple[Suppression, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __bool__(self) -> bool:
        return bool(self.active_by_hash)

    def __len__(self) -> int:
        return len(self.active_by_hash)

    def active(self) -> list[Suppression]:
        """Every suppression in force, in file order."""
        return sorted((s for ss in self.active_by_hash.values() for s in ss), key=_order)

    def lookup(self, key_or_address: str, list_name: str | None) -> Suppression | None:
        """The suppression keeping ``key_or_address`` from mail of ``list_name``, or None.

        ``list_name`` None asks about any list. One for all lists wins over one
        for the list alone. An empty file answers without hashing anything.
        """
        if not self.active_by_hash:
            return None
        try:
            digest = address_hash(key_or_address)
        except ValueError:
            return None
        return self.lookup_hash(digest, list_name)

    def lookup_hash(self, digest: str, list_name: str | None) -> Suppression | None:
        """As ``lookup``, for a person known only by their hash (an erased one)."""
        covering = [s for s in self.active_by_hash.get(digest, ()) if s.covers(list_name)]
        covering.sort(key=lambda s: s.scope != ALL_LISTS)
        return covering[0] if covering else None


def _order(s: Suppression) -> int:
    return s.line or 1 << 62


def _in_force(rows: tuple[Suppression, ...]) -> Mapping[str, tuple[Suppression, ...]]:
    """Per hash, the latest suppression of each scope since the last ``resubscribed``."""
    state: dict[str, dict[str, Suppression]] = {}
    for row in rows:
        if row.reason == RESUBSCRIBED:
            state.pop(row.hash, None)
        else:
            state.setdefault(row.hash, {})[row.scope] = row
    return MappingProxyType({h: tuple(scopes.values()) for h, scopes in state.items()})


# Reading ----------------------------------------------------------------------


def load(workspace: Workspace) -> Suppressions:
    """The workspace's suppressions; none when the file does not exist yet."""
    return read(suppression_path(workspace))


def read(path: Path) -> Suppressions:
    """The file at ``path`` checked row by row; InputError at the first bad line."""
    if not path.exists():
        return Suppressions(path)
    text = read_text(path, what="suppression file")
    rows = tuple(_rows(text, path))
    return Suppressions(path, rows, _in_force(rows))


def _rows(text: str, path: Path) -> Iterator[Suppression]:
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]), []) if lines else []
    if [c.strip() for c in header] != list(COLUMNS):
        raise InputError(
            "not a suppression file: the first line must be " + ",".join(COLUMNS),
            path=path,
            line=1,
            hint=_HINT,
        )
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            cells = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            why = f"broken quoting ({exc})"
            raise InputError(why, path=path, line=number, hint=_HINT) from None
        yield _row(cells, path, number)


def _row(cells: list[str], path: Path, line: int) -> Suppression:
    def bad(message: str) -> InputError:
        return InputError(message, path=path, line=line, hint=_HINT)

    if len(cells) != len(COLUMNS):
        raise bad(f"{len(cells)} fields, the header has {len(COLUMNS)}")
    digest, address, scope, reason, when, source, note = (c.strip() for c in cells)
    if address:
        try:
            computed = address_hash(address)
        except ValueError as exc:
            raise bad(f"invalid address {address!r}: {exc}") from None
        if digest and digest != computed:
            raise bad(f"the hash is not the hash of {address!r}")
        digest = computed  # a row added by hand may leave the hash empty
    elif not _HEX64.match(digest):
        raise bad("no address and no valid hash (64 hex digits)")
    if reason not in (*REASONS, RESUBSCRIBED):
        raise bad(f"unknown reason {reason!r}; known: {', '.join((*REASONS, RESUBSCRIBED))}")
    if not scope or "/" in scope or "\\" in scope:
        raise bad(f"scope {scope!r} is neither a list name nor {ALL_LISTS}")
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError:
        raise bad(f"{when!r} is not a date and time like 2024-05-03T09:30:00Z") from None
    if moment.utcoffset() is None:
        raise bad(f"{when!r} has no time zone; write UTC as 2024-05-03T09:30:00Z")
    moment = moment.astimezone(dt.UTC)
    return Suppression(digest, address, scope, reason, moment, source, note, line)


# Writing ----------------------------------------------------------------------


def render(rows: tuple[Suppression, ...] | list[Suppression]) -> str:
    """The file's text for ``rows``: UTF-8 CSV with a header, one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return out.getvalue()


@contextlib.contextmanager
def _locked(workspace: Workspace) -> Iterator[None]:
    """Held around read-modify-write: two writers at once must not lose a row."""
    lock = workspace.state_dir / LOCK_NAME
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _checked(address: str) -> str:
    """``address`` as a list would read it, or InputError (nothing is written then)."""
    try:
        return check_address(address)[0]
    except ValueError as exc:
        raise InputError(
            f"invalid address: {exc}", hint="give the bare address, e.g. name@example.org"
        ) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def add(
    workspace: Workspace,
    address: str,
    *,
    list_name: str | None,
    reason: str,
    source: str,
    keep_address: bool = True,
    note: str = "",
) -> bool:
    """Suppress ``address`` for ``list_name`` (None: every list); False when it already was.

    Already suppressed means a suppression in force for that list or for all
    lists; nothing is written then, so a link clicked twice records once.
    ``keep_address=False`` (erasure) leaves only the hash, in this row and in
    every earlier row of the address.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}; known: {', '.join(REASONS)}")
    scope = ALL_LISTS if list_name is None else list_name
    if not scope or "/" in scope or "\\" in scope:
        raise InputError(f"{scope!r} is not a list name", hint="give the list's name, e.g. presse")
    written = _checked(address)
    digest = address_hash(written)
    with _locked(workspace):
        current = load(workspace)
        rows = list(current.rows)
        if not keep_address:
            rows = [replace(r, address="") if r.hash == digest else r for r in rows]
        found = any(s.scope in (ALL_LISTS, scope) for s in current.active_by_hash.get(digest, ()))
        if not found:
            kept = written if keep_address else ""
            rows.append(Suppression(digest, kept, scope, reason, _now(), source, note))
        atomic_write(current.path, render(rows))
    return not found


def remove(workspace: Workspace, address: str, *, reason: str, source: str) -> bool:
    """Bring ``address`` back to every list, recording why; False when it was not suppressed.

    Appends a ``resubscribed`` row with ``reason`` as its note: the earlier
    rows stay, so the file shows when, why and on whose word someone came back.
    """
    if not reason.strip():
        raise InputError(
            "bringing someone back needs a reason", hint="say how they consented, and when"
        )
    written = _checked(address)
    digest = address_hash(written)
    with _locked(workspace):
        current = load(workspace)
        if digest not in current.active_by_hash:
            return False
        row = Suppression(digest, written, ALL_LISTS, RESUBSCRIBED, _now(), source, reason.strip())
        atomic_write(current.path, render([*current.rows, row]))
    return True
