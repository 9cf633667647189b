"""Distribution lists: ``recipients/<list>.csv`` read the way offices keep them.

Owns reading a list (UTF-8 with or without BOM, Windows-1252 as Excel saves
"CSV", UTF-16 as Excel saves "Unicode text"; comma, semicolon or tab; English or
German column names), validating every row (address syntax with
internationalised domains, duplicates within and across lists, language codes,
broken rows, names the To line cannot show as written) and choosing the
language each recipient reads. Every problem is a
``diagnostics.Diagnostic`` at its file and line. Lists are streamed row by row,
so a list of a million addresses costs a set of addresses, not a million
objects. It leaves out whom ``audience.suppression`` holds back, before
duplicates are decided: someone suppressed for one list still gets the mail
through another list they are on. It knows nothing of releases, readiness or
gateways: ``send`` asks it for recipients.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, TextIO

from pressdist import languages
from pressdist.audience.suppression import FILE_NAME as SUPPRESSION_FILE
from pressdist.audience.suppression import Suppression, Suppressions, suppression_path
from pressdist.diagnostics import ERROR, NOTE, WARNING, Diagnostic, location
from pressdist.errors import InputError
from pressdist.languages import Language
from pressdist.mail.addresses import check_address
from pressdist.mail.mime import MAX_NAME
from pressdist.text import BIDI_CONTROLS

if TYPE_CHECKING:
    from pressdist.workspace import Config, Workspace

__all__ = [
    "ERROR",
    "EXACT",
    "FALLBACK",
    "NEGOTIATED",
    "NOTE",
    "WARNING",
    "Choice",
    "ListFile",
    "ListRow",
    "Recipient",
    "choose_cached",
    "choose_language",
    "detect_encoding",
    "iter_audience",
    "iter_recipients",
    "list_rows",
    "open_lists",
    "read_list",
]

# What the levels mean for a list: ERROR, the row is unusable and blocks sending
# until fixed; WARNING, the list needs a look (a duplicate): `check` fails, send
# goes on; NOTE, worth knowing (read as Windows-1252, same person on two lists).

# Column names people write, folded (lowercase, no spaces, dashes or underscores).
_COLUMNS: dict[str, str] = {
    "email": "email",
    "mail": "email",
    "emailadresse": "email",
    "emailaddress": "email",
    "adresse": "email",
    "address": "email",
    "name": "name",
    "fullname": "name",
    "language": "language",
    "lang": "language",
    "locale": "language",
    "sprache": "language",
    "organisation": "organisation",
    "organization": "organisation",
    "firma": "organisation",
    "medium": "organisation",
    "salutation": "salutation",
    "anrede": "salutation",
    "briefanrede": "salutation",
}
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Recipient:
    """One row of a list that can be mailed."""

    address: str  # envelope + To: domain in IDNA (xn--) form unless the local part needs UTF-8
    key: str  # case-folded identity: one mail per key, the journal's recipient
    name: str = ""
    language: str = ""  # as written in the list ("" when the cell is empty)
    organisation: str = ""
    salutation: str = ""
    list_name: str = ""
    path: Path | None = None
    line: int = 0
    smtputf8: bool = False  # the local part is not ASCII: only SMTPUTF8 servers take it

    @property
    def where(self) -> str:
        return location(self.path, self.line) or self.list_name


@dataclass
class ListFile:
    """A list by name and file, with what reading it found out about the file."""

    name: str
    path: Path
    encoding: str = ""
    delimiter: str = ""
    columns: list[str] = field(default_factory=list)


# Encoding ---------------------------------------------------------------------


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _first_non_utf8(fh: BinaryIO, path: Path) -> tuple[int, int] | None:
    """(line, byte) of the first byte that is not UTF-8, or None for a UTF-8 file.

    Read in chunks through an incremental decoder: a list of a million rows is
    never in memory at once, and a character cut by a chunk's end is no error.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 1
    while True:
        chunk = fh.read(1 << 16)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            bad_byte = chunk[exc.start] if exc.start < len(chunk) else 0
            return lines + chunk.count(b"\n", 0, max(exc.start, 0)), bad_byte
        if not chunk:
            return None
        if b"\x00" in chunk:
            raise InputError(
                "list looks binary (it contains NUL bytes)",
                path=path,
                line=lines + chunk.count(b"\n", 0, chunk.index(b"\x00")),
                hint="export the spreadsheet as CSV",
            )
        lines += chunk.count(b"\n")


def detect_encoding(path: Path) -> tuple[str, Diagnostic | None]:
    """The codec to read ``path`` with, and a note when it is not UTF-8.

    UTF-8 is tried strictly first; only a file that is not valid UTF-8 is read
    as Windows-1252, and the caller is told so with the first offending line,
    because a wrong guess would put mangled names into mails.
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise InputError("list not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read list: {exc.strerror}", path=path) from None
    with fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", None
        fh.seek(0)
        found = _first_non_utf8(fh, path)
        if found is None:
            return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), None
        fh.seek(0)
        data = fh.read()
    try:
        data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"list is neither UTF-8 nor Windows-1252 (byte 0x{data[exc.start]:02x})",
            path=path,
            line=_line_at(data, exc.start),
            hint="save it from the spreadsheet as 'CSV UTF-8'",
        ) from None
    bad_line, bad_byte = found
    note = Diagnostic(
        path,
        bad_line,
        NOTE,
        f"not UTF-8 (byte 0x{bad_byte:02x} here), read as Windows-1252 (Excel's 'CSV')",
        "save it as 'CSV UTF-8' to be sure names come out right",
    )
    return "cp1252", note


# Header -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    """A list's header line: where it is, how its fields are separated, what they hold."""

    line: int
    delimiter: str
    columns: tuple[str | None, ...]  # our name for each column; None for one that is ignored


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().lstrip("\ufeff").lower())


def _parse_header(line: str) -> tuple[str, list[str]]:
    """Delimiter and raw column names, chosen by which split yields known columns.

    csv.Error for a line the csv module cannot split (a field past its limit).
    """
    best: tuple[int, int, str, list[str]] | None = None
    for delim in _DELIMITERS:
        cells = next(csv.reader([line], delimiter=delim), [])
        known = sum(1 for c in cells if _fold(c) in _COLUMNS)
        score = (known, len(cells))
        if best is None or score > best[:2]:
            best = (known, len(cells), delim, cells)
    assert best is not None
    return best[2], best[3]


def _map_columns(
    raw_columns: list[str], path: Path, line: int, problems: list[Diagnostic]
) -> tuple[str | None, ...] | None:
    """Our name for each column (None: ignored, with a note); None for a column named twice."""
    columns: list[str | None] = []
    for raw in raw_columns:
        col = _COLUMNS.get(_fold(raw))
        if col is None:
            if raw.strip():
                problems.append(
                    Diagnostic(
                        path,
                        line,
                        NOTE,
                        f"column '{raw.strip()}' is ignored",
                        "known columns: email, name, language, organisation, salutation",
                    )
                )
        elif col in columns:
            problems.append(Diagnostic(path, line, ERROR, f"column '{raw.strip()}' appears twice"))
            return None
        columns.append(col)
    return tuple(columns)


_HEADER_HINT = "name the columns in the first line: email,name,language (or E-Mail;Name;Sprache)"


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module's complaint means to someone who made the file."""
    if "field larger than field limit" in str(exc):
        return f"a field longer than {csv.field_size_limit():,} characters: not a list's cell"
    return f"broken quoting ({exc})"


def _read_header(fh: TextIO, path: Path, problems: list[Diagnostic]) -> _Header | None:
    """The header after any blank lines, or None (problems appended) when the list has none."""
    header_line = fh.readline()
    line = 1
    while header_line and not header_line.strip():
        header_line = fh.readline()
        line += 1
    if not header_line.strip():
        problems.append(
            Diagnostic(
                path,
                1,
                ERROR,
                "list is empty (no header line)",
                "the first line names the columns: email,name,language",
            )
        )
        return None
    try:
        delimiter, raw_columns = _parse_header(header_line.rstrip("\r\n"))
    except csv.Error as exc:
        problems.append(Diagnostic(path, line, ERROR, _csv_problem(exc), _HEADER_HINT))
        return None
    columns = _map_columns(raw_columns, path, line, problems)
    if columns is None:
        return None
    if "email" not in columns:
        problems.append(
            Diagnostic(
                path,
                line,
                ERROR,
                f"no e-mail column in the header ({header_line.strip()[:60]!r})",
                _HEADER_HINT,
            )
        )
        return None
    if "language" not in columns:
        problems.append(
            Diagnostic(
                path,
                line,
                WARNING,
                "no language column: every recipient gets the default fallback language",
                "add a column 'language' (or 'Sprache') with codes like de, en, zh_CN",
            )
        )
    return _Header(line, delimiter, columns)


# Rows -------------------------------------------------------------------------


MAX_ROW_LINES = 20  # physical lines one row may span (cells with Alt+Enter line breaks)


@dataclass(frozen=True)
class _Unreadable:
    """Why a row cannot be read; ``open_quote`` when it may go on on the next line."""

    why: str
    open_quote: bool = False


def _parse_row(text: str, delim: str) -> list[str] | _Unreadable:
    """The cells of ``text``, or why it cannot be read."""
    try:
        return next(csv.reader([text], delimiter=delim, strict=True), [])
    except csv.Error as exc:
        if "end of data" in str(exc):
            return _Unreadable("a quote opened in this row is never closed", open_quote=True)
        return _Unreadable(_csv_problem(exc))


def _fits(row: list[str], width: int) -> bool:
    # Excel pads rows with trailing empty cells; those are harmless.
    return len(row) == width or (len(row) > width and not any(c.strip() for c in row[width:]))


def _records(
    fh: Iterable[str], first: int, delim: str, width: int
) -> Iterator[tuple[int, int, list[str] | _Unreadable]]:
    """``(line, last line, cells)`` for each row, or ``(line, line, why)`` for one
    that cannot be read.

    Row by row, not one csv.reader over the file: a stray quote then costs one
    row (reported), not every row after it. But Excel writes a line break typed
    into a cell (Alt+Enter) as a line break inside the quoted cell, so a row
    whose quote is still open at the end of the line continues on the next
    ones: up to MAX_ROW_LINES lines, and only if the lines joined make a row as
    wide as the header. Otherwise the quote was a stray one: the row is
    reported at its first line and the lines after it are read again as rows.
    """
    lines = enumerate(fh, start=first)
    back: list[tuple[int, str]] = []  # lines read ahead and given back, last first

    def next_line() -> tuple[int, str] | None:
        return back.pop() if back else next(lines, None)

    while (item := next_line()) is not None:
        start, physical = item
        text = physical.rstrip("\r\n")
        if not text.strip():
            continue
        row = _parse_row(text, delim)
        if isinstance(row, _Unreadable) and row.open_quote:
            taken: list[tuple[int, str]] = []
            joined: list[str] | _Unreadable = row
            while isinstance(joined, _Unreadable) and joined.open_quote:
                if len(taken) >= MAX_ROW_LINES - 1:
                    break
                following = next_line()
                if following is None:
                    break
                taken.append(following)
                text += "\n" + following[1].rstrip("\r\n")
                joined = _parse_row(text, delim)
            if isinstance(joined, list) and _fits(joined, width):
                yield start, taken[-1][0], joined
                continue
            back.extend(reversed(taken))
        yield start, start, row


def _one_line(cell: str) -> str:
    """A cell as one line: a line break typed into it becomes a space."""
    if "\n" in cell or "\r" in cell:
        return " ".join(cell.split())
    return cell.strip()


def _cells(
    row: list[str] | _Unreadable,
    header: _Header,
    path: Path,
    line: int,
    problems: list[Diagnostic],
) -> dict[str, str] | None:
    """Column -> one-line value of a row; None for a blank row or one that is broken."""
    if isinstance(row, _Unreadable):
        problems.append(
            Diagnostic(path, line, ERROR, row.why, 'a cell with quotes must start and end with "')
        )
        return None
    if not "".join(row).strip():
        return None
    width = len(header.columns)
    if not _fits(row, width):
        delim = header.delimiter
        problems.append(
            Diagnostic(
                path,
                line,
                ERROR,
                f"{len(row)} fields, the header has {width}",
                f"separate fields with {delim!r} and quote fields that contain it"
                if delim != "\t"
                else "separate fields with tabs",
            )
        )
        return None
    return {c: _one_line(row[i]) for i, c in enumerate(header.columns) if c}


def _language_problem(
    address: str, language: str, has_column: bool, known: dict[str, bool], path: Path, line: int
) -> Diagnostic | None:
    """What is wrong with a row's language cell: empty (a warning) or no language (an error)."""
    if has_column and not language:
        return Diagnostic(
            path,
            line,
            WARNING,
            f"{address}: no language",
            "fill in de, en, zh_CN …; until then the default fallback applies",
        )
    if language:
        ok = known.get(language)
        if ok is None:
            ok = known[language] = languages.is_known(language)  # a list has few codes
        if not ok:
            return Diagnostic(
                path,
                line,
                ERROR,
                f"{address}: unknown language {language!r}",
                "use codes like de, en, en-GB, zh_CN, zh-Hans",
            )
    return None


def _recipient(
    cells: dict[str, str],
    has_language_column: bool,
    problems: list[Diagnostic],
    known: dict[str, bool],
    *,
    name: str,
    path: Path,
    line: int,
) -> Recipient | None:
    """The recipient of a row's cells, or None when the row has an error (appended)."""
    try:
        address, key, smtputf8 = check_address(cells["email"])
    except ValueError as exc:
        problems.append(Diagnostic(path, line, ERROR, f"invalid address: {exc}"))
        return None
    language = cells.get("language", "")
    found = _language_problem(address, language, has_language_column, known, path, line)
    if found:
        problems.append(found)
        if found.level == ERROR:
            return None
    if smtputf8:
        problems.append(
            Diagnostic(
                path,
                line,
                NOTE,
                f"{address}: the mailbox name is not ASCII; only servers with SMTPUTF8 deliver it",
            )
        )
    name_cell = cells.get("name", "")
    if name_cell and (len(name_cell) > MAX_NAME or not name_cell.isprintable()):
        problems.extend(_name_problems(address, name_cell, path, line))
    return Recipient(
        address=address,
        key=key,
        name=name_cell,
        language=language,
        organisation=cells.get("organisation", ""),
        salutation=cells.get("salutation", ""),
        list_name=name,
        path=path,
        line=line,
        smtputf8=smtputf8,
    )


def _name_problems(address: str, name: str, path: Path, line: int) -> list[Diagnostic]:
    """Warnings for a name the To line does not show as written (``mime.clean_name``)."""
    out = []
    hidden = sorted({c for c in name if c in BIDI_CONTROLS or unicodedata.category(c) == "Cc"})
    if hidden:
        shown = ", ".join(f"U+{ord(c):04X}" for c in hidden[:3])
        out.append(
            Diagnostic(
                path,
                line,
                WARNING,
                f"{address}: the name holds control or text-direction characters ({shown}); "
                "the To line leaves them out",
                "retype the name: such characters can make it show as something else",
            )
        )
    if len(name) > MAX_NAME:
        out.append(
            Diagnostic(
                path,
                line,
                WARNING,
                f"{address}: the name is {len(name):,} characters long; the To line shows "
                f"the first {MAX_NAME}",
                "put only the person's name into the name column",
            )
        )
    return out


class ListRow(NamedTuple):
    """One row of a list with cells, as written, and the physical lines it spans.

    A tuple, not a dataclass: a list of a million rows makes a million of them.
    """

    line: int
    last_line: int  # > line when a cell holds a line break
    cells: dict[str, str]  # our column name -> its one-line value


def list_rows(
    path: Path, problems: list[Diagnostic], info: ListFile | None = None
) -> Iterator[ListRow]:
    """Every row of one list that has cells, in file order, whatever its address or language.

    What ``read_list`` makes recipients of, and what erasure and access
    (``audience.erasure``) search: a row with an unknown language is still a
    person's row. Broken rows are problems (appended), not rows. ``info``
    learns the encoding, separator and columns.
    """
    encoding, note = detect_encoding(path)
    if note:
        problems.append(note)
    if info is not None:
        info.encoding = encoding
    with path.open(encoding=encoding, newline="") as fh:
        header = _read_header(fh, path, problems)
        if header is None:
            return
        if info is not None:
            info.delimiter = header.delimiter
            info.columns = [c for c in header.columns if c]
        width = len(header.columns)
        for line, last_line, row in _records(fh, header.line + 1, header.delimiter, width):
            cells = _cells(row, header, path, line, problems)
            if cells is not None:
                yield ListRow(line, last_line, cells)


def read_list(
    name: str, path: Path, problems: list[Diagnostic], info: ListFile | None = None
) -> Iterator[Recipient]:
    """Every usable row of one list, in file order; problems are appended as found.

    Rows with an error are not yielded. Duplicates are not this function's
    business (see ``iter_recipients``).
    """
    info = info if info is not None else ListFile(name, path)
    known: dict[str, bool] = {}
    for line, _, cells in list_rows(path, problems, info):
        rcpt = _recipient(
            cells, "language" in info.columns, problems, known, name=name, path=path, line=line
        )
        if rcpt is not None:
            yield rcpt


# Duplicates -------------------------------------------------------------------


def _duplicate(rcpt: Recipient, lst: ListFile, other: ListFile, line: int) -> Diagnostic:
    """The same person twice: a warning within one list, a note across two."""
    if other is lst:
        return Diagnostic(
            lst.path,
            rcpt.line,
            WARNING,
            f"{rcpt.address} is already on line {line}",
            "delete one of the rows; they get one mail",
        )
    return Diagnostic(
        lst.path,
        rcpt.line,
        NOTE,
        f"{rcpt.address} is also on list '{other.name}' "
        f"({location(other.path.name, line)}); gets one mail",
    )


def _every_row(
    lists: Sequence[ListFile], problems: list[Diagnostic]
) -> Iterator[tuple[Recipient, bool]]:
    """``(recipient, first)`` for every usable row: is it the first of its address?

    Duplicates are appended to ``problems``. The same address twice in one list is a
    warning (someone copied a row); on two lists it is a note (a journalist on
    both is normal). Either way one mail.
    """
    seen: dict[str, int] = {}  # key -> list index << 32 | line: cheap to hold millions
    for index, lst in enumerate(lists):
        for rcpt in read_list(lst.name, lst.path, problems, lst):
            first = seen.get(rcpt.key)
            if first is None:
                seen[rcpt.key] = (index << 32) | rcpt.line
                yield rcpt, True
                continue
            problems.append(_duplicate(rcpt, lst, lists[first >> 32], first & 0xFFFFFFFF))
            yield rcpt, False


def iter_recipients(
    lists: Sequence[ListFile],
    problems: list[Diagnostic],
    suppressions: Suppressions | None = None,
) -> Iterator[Recipient]:
    """Every recipient of the lists once, first occurrence wins; problems appended.

    With ``suppressions``, whoever they hold back for every row of theirs is
    left out (``iter_audience`` says who and why).
    """
    if suppressions:
        yield from (rcpt for rcpt, held in iter_audience(lists, problems, suppressions) if not held)
        return
    yield from (rcpt for rcpt, first in _every_row(lists, problems) if first)


def iter_audience(
    lists: Sequence[ListFile], problems: list[Diagnostic], suppressions: Suppressions
) -> Iterator[tuple[Recipient, Suppression | None]]:
    """Every recipient once, with the suppression that keeps mail from them (or None).

    A person's first row the suppressions do not hold back is the one that
    counts; only when every row of theirs is held back are they yielded, at
    the end, with the suppression of their first row. Matching is by the
    address's hash, whatever case or encoding the list was saved in.
    """
    if not suppressions:  # the common case: no lookups, no bookkeeping
        yield from ((rcpt, None) for rcpt, first in _every_row(lists, problems) if first)
        return
    held: dict[str, tuple[Recipient, Suppression]] = {}  # suppressed so far; few
    for rcpt, first in _every_row(lists, problems):
        if not first and rcpt.key not in held:
            continue
        found = suppressions.lookup(rcpt.key, rcpt.list_name)
        if found is None:
            held.pop(rcpt.key, None)
            yield rcpt, None
        elif first:
            held[rcpt.key] = (rcpt, found)
    yield from held.values()


def open_lists(workspace: Workspace, names: Iterable[str]) -> list[ListFile]:
    """The named lists, refusing unknown names before anything is read."""
    out: list[ListFile] = []
    for name in names:
        path = workspace.list_path(name)
        if not path.is_file():
            known = sorted(p.stem for p in workspace.recipients_dir.glob("*.csv"))
            raise InputError(
                f"list '{name}' not found",
                path=path,
                hint=("lists here: " + ", ".join(known))
                if known
                else "put a CSV file with columns email,name,language into recipients/",
            )
        if path.name == SUPPRESSION_FILE and path.resolve() == suppression_path(workspace):
            raise InputError(
                "this is the suppression file, not a distribution list",
                path=path,
                hint="`pressdist suppress list` shows who is suppressed",
            )
        stem = path.stem if path.suffix.lower() == ".csv" else name
        if any(lst.path.resolve() == path.resolve() for lst in out):
            continue
        out.append(ListFile(stem, path))
    if not out:
        raise InputError("no list given", hint="name one with --list NAME")
    return out


# Languages ------------------------------------------------------------------


# How a reader's language was found: as asked, the same language and script
# (en_US -> en), or through the configured fallback chain.
EXACT = "exact"
NEGOTIATED = "negotiated"
FALLBACK = "fallback"


@dataclass(frozen=True)
class Choice:
    """Which workspace language a requested language gets, and why."""

    requested: str  # as written ("" when missing)
    language: Language  # a language of the workspace
    how: str  # EXACT, NEGOTIATED or FALLBACK


def choose_language(requested: str, config: Config) -> Choice:
    """The workspace language for a reader asking for ``requested`` (before readiness).

    Same language and script first (en_US → en, zh-Hans → zh_CN, de_AT → de),
    then the configured fallback chain ([fallback] in pressdist.toml), which is
    where zh-Hant / zh_TW readers go: simplified characters are not their script.
    """
    available = config.all_languages
    asked = Language.parse(requested) if requested and languages.is_valid_code(requested) else ""
    found = languages.negotiate(asked, available) if asked else None
    if found:
        return Choice(requested, found, EXACT if asked == found else NEGOTIATED)
    for cand in config.fallback_chain(asked):
        if cand in available:
            return Choice(requested, cand, FALLBACK)
    return Choice(requested, config.source_language, FALLBACK)


def choose_cached(rcpt: Recipient, config: Config, cache: dict[str, Choice]) -> Choice:
    """``choose_language`` for a recipient, once per distinct code: a list has few."""
    choice = cache.get(rcpt.language)
    if choice is None:
        choice = cache[rcpt.language] = choose_language(rcpt.language, config)
    return choice
