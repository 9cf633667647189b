"""Erasure and access over the lists (DSGVO Art. 17 and 15): one person's rows.

Owns finding one person on every list file under ``recipients/`` (by the
case-folded key of ``mail.addresses``, so ``Li.Wei@Example.COM`` finds
``li.wei@example.com``), and taking their rows out of each file without
touching anything else: the file keeps its encoding, BOM, separator, quoting,
line endings and every other byte; only the physical lines of the person's
rows go (several for a row whose cell holds a line break). It also owns the
hash that stands for an erased address. It does not touch the journal
(``sending.journal``) or decide the order of the whole erasure
(``sending.privacy``), and it prints nothing.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.audience.lists import ListFile, list_rows
from pressdist.diagnostics import Diagnostic
from pressdist.errors import InputError, PressdistError
from pressdist.files import atomic_write, read_bytes
from pressdist.mail.addresses import check_address

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

# Universal newlines, as ``audience.lists`` reads a list (``newline=""``).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def address_key(address: str) -> str:
    """The case-folded key of a written address; InputError when it is none."""
    try:
        return check_address(unicodedata.normalize("NFC", address).strip())[1]
    except ValueError as exc:
        raise InputError(
            f"not an e-mail address: {exc}", hint="give the address as on the list"
        ) from None


@dataclass(frozen=True)
class PersonRow:
    """One row of a list that names the person: where it is and what it says."""

    list_name: str
    path: Path
    line: int
    last_line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class ListChange:
    """What forgetting does to one list file: the rows it takes out, the bytes it leaves."""

    path: Path
    rows: tuple[tuple[int, int], ...]  # (first line, last line) of each row taken out
    data: bytes  # the file without them
    mentions: tuple[int, ...]  # lines left that still name the address (broken rows)


def list_files(workspace: Workspace) -> list[Path]:
    """Every list file under ``recipients/``, subfolders included, in a stable order."""
    folder = workspace.recipients_dir
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() == ".csv" and p.is_file() and not p.name.startswith(".")
    )


def _rows_of(path: Path, key: str, info: ListFile) -> Iterator[PersonRow]:
    """The person's rows of one file; ``info`` learns the file's encoding as it is read.

    Broken rows are no one's: what is left of them naming the address is a mention.
    """
    problems: list[Diagnostic] = []
    for line, last_line, cells in list_rows(path, problems, info):
        try:
            found = check_address(cells.get("email", ""))[1]
        except ValueError:
            continue
        if found == key:
            yield PersonRow(path.stem, path, line, last_line, cells)


def find_rows(workspace: Workspace, address: str) -> list[PersonRow]:
    """Every row of every list that is the person's (Art. 15: what the lists hold)."""
    key = address_key(address)
    return [
        row for path in list_files(workspace) for row in _rows_of(path, key, ListFile("", path))
    ]


def _codec(raw: bytes, encoding: str) -> tuple[bytes, str]:
    """(BOM, codec) that decode the body of ``raw`` and encode it back to the same bytes."""
    if encoding == "utf-16":
        return raw[:2], "utf-16-le" if raw.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
    if raw.startswith(codecs.BOM_UTF8):
        return codecs.BOM_UTF8, "utf-8"
    return b"", "utf-8" if encoding.startswith("utf-8") else encoding


def _lines(path: Path, encoding: str) -> tuple[bytes, str, list[str]]:
    """A list file as BOM, codec and physical lines (each with its line end).

    Refused when decoding and encoding again would not give the same bytes:
    rewriting must leave every other row exactly as it was.
    """
    raw = read_bytes(path, what="list")
    bom, codec = _codec(raw, encoding)
    text = raw[len(bom) :].decode(codec)
    lines = _LINE.findall(text)
    if bom + "".join(lines).encode(codec) != raw:
        raise InputError(
            "cannot take rows out of this list without changing others",
            path=path,
            hint="save it as 'CSV UTF-8' and run the command again",
        )
    return bom, codec, lines


def _mentions(lines: Sequence[str], needles: Sequence[str], skip: set[int]) -> tuple[int, ...]:
    return tuple(
        number
        for number, text in enumerate(lines, start=1)
        if number not in skip and any(n in text.casefold() for n in needles)
    )


def plan_list_erasure(workspace: Workspace, address: str) -> list[ListChange]:
    """What forgetting ``address`` changes in each list file that names it; nothing written.

    Refuses (one error naming the file) before anything changes when a file
    that must change cannot be rewritten: forgetting is whole or not at all.
    """
    key = address_key(address)
    needles = sorted({key.casefold(), unicodedata.normalize("NFC", address).strip().casefold()})
    changes = []
    for path in list_files(workspace):
        info = ListFile(path.stem, path)
        rows = [(r.line, r.last_line) for r in _rows_of(path, key, info)]
        bom, codec, lines = _lines(path, info.encoding or "utf-8")
        gone = {n for first, last in rows for n in range(first, last + 1)}
        mentions = _mentions(lines, needles, gone)
        if not rows and not mentions:
            continue
        kept = "".join(text for n, text in enumerate(lines, start=1) if n not in gone)
        changes.append(ListChange(path, tuple(rows), bom + kept.encode(codec), mentions))
    for change in changes:
        if change.rows:
            _check_writable(change.path)
    return changes


def _check_writable(path: Path) -> None:
    """Refuse a list marked read-only, or in a folder that cannot take the new file.

    The write bits count even for root: a file someone made read-only is not to be rewritten.
    """
    mode = path.stat().st_mode
    folder = path.parent
    if not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        why = "the list file is read-only"
    elif not os.access(folder, os.W_OK | os.X_OK):
        why = "the list's folder is not writable"
    else:
        return
    raise PressdistError(
        f"{why}: nothing was changed anywhere",
        path=path,
        hint="make it writable (or ask who owns it) and run the command again",
    )


def apply_list_erasure(changes: Sequence[ListChange]) -> None:
    """Write each changed list whole (``atomic_write``), keeping its permissions."""
    for change in changes:
        if change.rows:
            mode = stat.S_IMODE(change.path.stat().st_mode)
            atomic_write(change.path, change.data)
            os.chmod(change.path, mode)
