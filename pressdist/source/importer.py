"""Turning a press release as it comes out of a PDF into a Release.

Owns reading the office's house style from plain text: the date line
("4. November 2019", "Mainz, 04.11.2019"), ``Pressemitteilung: <title>``,
``(rap) <lead>`` (author initials and lead), the body paragraphs, and the page
furniture a PDF repeats on every page (the contact block). It does not write
files or know the workspace (``source.intake`` does) and does not split
sentences.

How it reads a document:

1. The text is cut into *blocks* (runs of non-blank lines) and *page breaks*
   (a form feed, two or more blank lines in a text file, or a PDF page end).
2. Blocks that recur two or more times are page furniture. Every copy leaves
   the body and marks a page break; one copy becomes the contact block.
   A contact-like block that appears only once, at the end, is taken as the
   contact block with a warning.
3. The first blocks are the header: date, title, lead.
4. The rest are paragraphs. Across a page break a paragraph is rejoined with a
   single space when the piece before does not end a sentence, the next piece
   starts in lowercase, or a „quotation“ is still open. A page break after a
   finished sentence may be a paragraph end or a cut: it stays a paragraph end
   and the caller gets a warning.

Anything the importer had to guess is reported in ``Imported.warnings``;
anything it cannot do without guessing blindly (no title, no date) is an
InputError. Text is never rewritten: quotes, numbers and spelling pass through.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from pressdist.diagnostics import location
from pressdist.errors import InputError
from pressdist.files import decode_utf8, read_bytes
from pressdist.source.ids import STEM_DATE, default_release_id
from pressdist.source.release import Release
from pressdist.source.segment import quote_pair

_MONTHS = {
    "januar": 1, "jänner": 1, "jan": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3,
    "mär": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "dezember": 12, "dez": 12,
}  # fmt: skip
_PLACE = r"(?:(?P<place>[A-ZÄÖÜ][\w .()/-]{0,40}?),\s*(?:den\s+)?)?"
_LONG_DATE = re.compile(
    rf"^{_PLACE}(?P<day>\d{{1,2}})\.\s*(?P<month>[A-Za-zÄÖÜäöü]+)\.?\s+(?P<year>\d{{4}})$"
)
_SHORT_DATE = re.compile(rf"^{_PLACE}(?P<day>\d{{1,2}})\.(?P<month>\d{{1,2}})\.(?P<year>\d{{4}})$")
_TITLE = re.compile(r"^(?:Pressemitteilung|Pressemeldung|Presseinformation)\s*:\s*(?P<title>\S.*)$")
_TITLE_ALONE = re.compile(r"^(?:Pressemitteilung|Pressemeldung|Presseinformation)\s*:?$")
_LEAD = re.compile(r"^\((?P<author>[a-zäöü]{1,6}(?:/[a-zäöü]{1,6})?)\)\s*(?P<rest>.*)$", re.S)
_SENTENCE_END = re.compile(r"[.!?…](?:[“”«»\"')\]]*)$")
_CONTACT_MARKS = re.compile(
    r"@|\bwww\.|https?://|\bTel(?:efon|\.)|\bFax|\bTelefax|\bE-?Mail\b|^\d{5}\s+\S", re.I | re.M
)
_POSTAL_PLACE = re.compile(r"^\d{5}\s+(?P<place>[^\d,]+?)\s*$")
_CONJUNCTIONS = {"und", "oder", "bis", "sowie", "bzw.", "als", "wie"}


@dataclass
class Imported:
    """The release read from a file, and everything the reader should double-check."""

    release: Release
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Block:
    lines: list[str]
    line: int  # first line in the text (of a PDF: in its extracted text)
    page: int  # 1-based
    break_before: bool = False  # a page break separates it from the previous block

    @property
    def text(self) -> str:
        return _join_lines(self.lines)[0]

    @property
    def dehyphenated(self) -> list[str]:
        """Words this block's text joins across a line-end hyphen."""
        return _join_lines(self.lines)[1]

    @property
    def key(self) -> str:
        # Digits are blanked so "Seite 1 von 3" and "Seite 2 von 3" count as one block.
        return re.sub(r"\d", "0", " ".join(" ".join(self.lines).split()))


class _Reader:
    def __init__(self, source: Path, *, pdf: bool) -> None:
        self.source = source
        self.pdf = pdf
        self._warnings: list[tuple[int, int, str]] = []

    def where(self, block: _Block | None) -> str:
        if block is None:
            return self.source.name
        if self.pdf:
            return f"{self.source.name}, page {block.page}"
        return location(self.source.name, block.line)

    def warn(self, block: _Block | None, message: str) -> None:
        at = (block.page, block.line) if block else (0, 0)
        self._warnings.append((*at, f"{self.where(block)}: {message}"))

    @property
    def warnings(self) -> list[str]:
        """In reading order, so a reader can walk through the file once."""
        return [text for *_, text in sorted(self._warnings, key=lambda w: w[:2])]


def _join_lines(lines: list[str]) -> tuple[str, list[str]]:
    out, words = lines[0], []
    for line in lines[1:]:
        out, word = _join(out, line)
        if word:
            words.append(word)
    return out, words


def _join(left: str, right: str) -> tuple[str, str | None]:
    """Join two pieces of one paragraph, and the word a line-end hyphen was dropped from.

    A hyphen before a lowercase word is a syllable break ("Wirtschafts-" /
    "förderung") unless that word is a conjunction ("Handels- und …"); before an
    uppercase word it belongs to a compound ("ISA-" / "Mitgliedsstädte").
    """
    if re.search(r"\w-$", left) and right[:1].islower():
        first = right.split()[0]
        if first in _CONJUNCTIONS:
            return f"{left} {right}", None
        word = re.search(r"\w+$", left[:-1]).group(0) + re.match(r"\w*", first).group(0)
        return left[:-1] + right, word
    if left.endswith("-") and right[:1].isupper():
        return left + right, None
    return f"{left} {right}", None


def _physical_lines(text: str):
    """(line number, text) pairs; a form feed inside a line becomes its own item."""
    for number, raw in enumerate(text.split("\n"), start=1):
        pieces = raw.split("\f")
        for i, piece in enumerate(pieces):
            if i:
                yield number, "\f"
            if piece or len(pieces) == 1:
                yield number, piece


def _blocks_from_text(text: str, *, pdf: bool) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    start = page = 1
    blank_run = 0
    pending_break = False

    def close() -> None:
        nonlocal current, pending_break
        if current:
            blocks.append(_Block(current, start, page, pending_break and bool(blocks)))
            pending_break = False
        current = []

    for number, raw in _physical_lines(text):
        if raw == "\f":
            close()
            page += 1
            pending_break = True
            continue
        line = raw.strip()
        if pdf:
            line = re.sub(r"[ \t]{2,}", " ", line)  # layout extraction pads with spaces
        if not line:
            close()
            blank_run += 1
            if blank_run >= 2 and not pdf:
                pending_break = True
            continue
        if not current:
            start = number
        blank_run = 0
        current.append(line)
    close()
    return blocks


def _furniture(blocks: list[_Block], reader: _Reader) -> tuple[list[_Block], list[str]]:
    """Remove repeated blocks from ``blocks``; return (remaining, contact lines)."""
    counts: dict[str, int] = {}
    texts: dict[str, set[str]] = {}
    for b in blocks:
        counts[b.key] = counts.get(b.key, 0) + 1
        texts.setdefault(b.key, set()).add("\n".join(b.lines))
    repeated = {k for k, n in counts.items() if n >= 2}
    runs: list[list[_Block]] = []
    remaining: list[_Block] = []
    in_run = False
    cut = False
    kept_header: set[str] = set()
    for b in blocks:
        if b.key in repeated and _header_line(b.text) and b.key not in kept_header:
            # A title or date printed on every page: the first copy is the header.
            kept_header.add(b.key)
        elif b.key in repeated:
            if not in_run:
                runs.append([])
            runs[-1].append(b)
            in_run = True
            cut = True
            continue
        in_run = False
        if cut or b.break_before:
            b.break_before = bool(remaining)
        cut = False
        remaining.append(b)
    if not runs:
        return remaining, []
    # A run in mid-document is the bottom of one page plus the top of the next. The
    # copy after the last paragraph is the page bottom alone, where the contact sits;
    # the copy before the first paragraph is the page top alone.
    if blocks[-1].key in repeated:
        unit = runs[-1]
    elif blocks[0].key in repeated and len(runs) > 1:
        unit = runs[0]
    else:
        unit = max(runs, key=lambda run: sum(len(b.lines) for b in run))
        if len({tuple(b.key for b in run) for run in runs}) > 1:
            reader.warn(
                unit[0],
                "the repeated blocks differ from page to page; the longest run was kept as "
                "the contact block — check it",
            )
    # Blocks that change from copy to copy (page numbers) are not part of the contact.
    contact = [ln for b in unit if len(texts[b.key]) == 1 for ln in b.lines]
    return remaining, contact


def _looks_like_contact(block: _Block) -> bool:
    return len(block.lines) <= 12 and all(
        len(ln) <= 80 and not re.search(r"[.!?:“]$", ln) for ln in block.lines
    )


def _trailing_contact(blocks: list[_Block], reader: _Reader) -> tuple[list[_Block], list[str]]:
    """A contact block printed once, at the end (one-page releases)."""
    i = len(blocks)
    while i > 0 and _looks_like_contact(blocks[i - 1]):
        i -= 1
    tail = blocks[i:]
    lines = [ln for b in tail for ln in b.lines]
    if i == 0 or len(lines) < 2 or not _CONTACT_MARKS.search("\n".join(lines)):
        return blocks, []
    reader.warn(
        tail[0],
        f"the block '{lines[0]} … {lines[-1]}' appears only once; it was taken as the "
        "contact block — check it",
    )
    return blocks[:i], lines


def _parse_date(text: str) -> tuple[dt.date, str] | None:
    text = " ".join(text.split())
    m = _LONG_DATE.match(text) or _SHORT_DATE.match(text)
    if not m:
        return None
    month = m.group("month")
    number = int(month) if month.isdigit() else _MONTHS.get(month.lower())
    if number is None:
        return None
    try:
        date = dt.date(int(m.group("year")), number, int(m.group("day")))
    except ValueError:
        return None
    return date, (m.group("place") or "").strip()


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text.rstrip()))


def _open_quote(text: str) -> tuple[bool, str]:
    opening, closing = quote_pair(text)
    return text.count(opening) > text.count(closing), opening


def _paragraphs(body: list[_Block], reader: _Reader) -> list[str]:
    paragraphs: list[str] = []
    for block in body:
        text = block.text
        if block.dehyphenated:
            reader.warn(block, f"joined words hyphenated at a line end: "
                        f"{', '.join(block.dehyphenated)} — check them")  # fmt: skip
        if not paragraphs or not block.break_before:
            paragraphs.append(text)
            continue
        before = paragraphs[-1]
        quote_open, opening = _open_quote(before)
        if (
            text[:1].islower()
            or not _ends_sentence(before)
            or (quote_open and not text.startswith(opening))
        ):
            paragraphs[-1], word = _join(before, text)
            if word:
                reader.warn(block, f"joined the word '{word}' hyphenated across a page break")
            continue
        reader.warn(
            block,
            f"a page break falls after a finished sentence ('… {before[-30:]}'); kept as a "
            f"paragraph end before '{text[:30].rstrip()} …' — join them by hand if it is one "
            "paragraph",
        )
        paragraphs.append(text)
    return paragraphs


def _header_line(line: str) -> bool:
    return bool(_parse_date(line) or _TITLE.match(line) or _TITLE_ALONE.match(line)
                or _LEAD.match(line))  # fmt: skip


def _split_header(blocks: list[_Block]) -> list[_Block]:
    """A PDF set tightly runs date, title and lead into one block: cut them apart."""
    out: list[_Block] = []
    for n, block in enumerate(blocks):
        if n >= 4 or len(block.lines) == 1:
            out.append(block)
            continue
        first = len(out)
        for i, line in enumerate(block.lines):
            if i == 0 or _header_line(line):
                brk = block.break_before if i == 0 else False
                out.append(_Block([line], block.line + i, block.page, brk))
            else:
                out[-1].lines.append(line)
        if len(out) - first == 1:
            out[first] = block
    return out


def _header(blocks: list[_Block], reader: _Reader, source: Path):
    """Date, place, title, lead and author from the first blocks; returns the rest too."""
    blocks = _split_header(blocks)
    date = place = title = lead = author = None
    i = 0
    skipped: list[_Block] = []
    while i < len(blocks):
        block = blocks[i]
        text = block.text
        if date is None and (parsed := _parse_date(text)):
            date, place = parsed
        elif title is None and (m := _TITLE.match(text)):
            title = m.group("title").strip()
        elif title is None and _TITLE_ALONE.match(text) and i + 1 < len(blocks):
            i += 1
            title = blocks[i].text
        elif title is not None and lead is None and (m := _LEAD.match(text)):
            author = m.group("author")
            rest = m.group("rest").strip()
            if len(rest) > 250 or re.search(r"[.!?]\s+[A-ZÄÖÜ„]", rest):
                # "(rap) Die Stadt …": the initials open the first paragraph; no lead.
                blocks[i] = _Block([rest], block.line, block.page)
                lead = ""
                break
            lead = rest
        elif date is None and title is None and len(skipped) < 3:
            skipped.append(block)
        else:
            break
        i += 1
    body = blocks[i:]
    if title is None and date is not None and skipped == [] and body:
        first = body[0]
        if len(first.text) <= 200 and not _ends_sentence(first.text):
            title = first.text
            reader.warn(first, f"no 'Pressemitteilung: …' line; took '{title}' as the title")
            body = body[1:]
    if title is None:
        raise InputError(
            "no title found (expected a line 'Pressemitteilung: <title>' after the date)",
            path=source,
            hint="add that line to the text, or write the release by hand (docs/release-format.md)",
        )
    for block in skipped:
        reader.warn(block, f"ignored '{block.text[:60]}' before the date line")
    if date is None:
        m = STEM_DATE.search(source.stem)
        found = None
        if m:
            try:
                found = dt.date(*map(int, m.groups()))
            except ValueError:
                found = None
        if found is None:
            raise InputError(
                "no date found (expected a line like '4. November 2019' or '04.11.2019' "
                "before the title)",
                path=source,
                hint="add the date line at the top of the text",
            )
        date = found
        reader.warn(None, f"no date line; took {date.isoformat()} from the file name")
    if lead is None:
        reader.warn(
            body[0] if body else None,
            "no '(initials) lead' line after the title; the release has no lead and no author",
        )
    return date, place or "", title, lead or "", author or "", body


def import_text(text: str, *, source: Path, pdf: bool = False) -> Imported:
    """Read a release from text extracted from a PDF (``source`` names it in messages)."""
    if not text.strip():
        raise InputError("the file is empty", path=source, hint="give the release's text or PDF")
    reader = _Reader(source, pdf=pdf)
    blocks = _blocks_from_text(text, pdf=pdf)
    blocks, contact = _furniture(blocks, reader)
    date, place, title, lead, author, body = _header(blocks, reader, source)
    if not contact:
        body, contact = _trailing_contact(body, reader)
    paragraphs = _paragraphs(body, reader)
    if not paragraphs:
        reader.warn(None, "the release has no body paragraphs")
    if not place:
        for line in contact:
            if m := _POSTAL_PLACE.match(line):
                place = m.group("place")
                break
    release = Release(
        id=default_release_id(source.stem, date, title),
        date=date,
        title=title,
        lead=lead,
        author=author,
        paragraphs=paragraphs,
        contact="\n".join(contact),
        place=place,
        path=None,
    )
    return Imported(release, reader.warnings)


def pdf_text(path: Path) -> str:
    """The text of a PDF, pages separated by form feeds.

    pypdf rather than poppler's pdftotext: it is a Python dependency, so the
    importer works wherever pressdist is installed, and its layout mode keeps
    the vertical gaps between paragraphs as blank lines, which is what tells
    paragraphs apart. pdftotext's default mode runs closely set paragraphs
    together, and its -layout mode needs an external program on PATH.
    """
    # start-up: pypdf costs ~240 ms to import; only a PDF needs it, not a .txt import.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs what it repairs ("EOF marker not found") straight to stderr;
    # a broken file is reported once, below, in pressdist's own words.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise InputError("the PDF is encrypted", path=path, hint="export an unprotected PDF")
        pages = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(
            f"cannot read the PDF: {exc}",
            path=path,
            hint="export the PDF again from the original, or import its text as .txt",
        ) from None
    text = "\n\f".join(pages)
    if not text.strip():
        raise InputError(
            "the PDF contains no text (a scanned image?)",
            path=path,
            hint="run it through OCR first, or import the text instead",
        )
    return text


def import_file(path: Path) -> Imported:
    """Read a release from a ``.txt`` (UTF-8) or ``.pdf`` file."""
    data = read_bytes(path)
    if not data.strip():
        raise InputError("the file is empty", path=path, hint="give the release's text or PDF")
    if data.startswith(b"%PDF-"):
        return import_text(pdf_text(path), source=path, pdf=True)
    if path.suffix.lower() == ".pdf":
        raise InputError("this is not a PDF file (it does not start with %PDF-)", path=path)
    return import_text(decode_utf8(data, path, what="text file"), source=path)
