"""A German source release: its model, its file format and its segments.

A release is ``releases/<id>.md``: TOML front matter between ``+++`` lines
(date, title, lead, author, optional place, embargo, embargo_note, contact)
and a body of paragraphs separated by blank lines; see docs/release-format.md.
This module reads and writes that format (refusing what no release holds: a NUL,
a title longer than a headline) and cuts a release into the segments a
translator sees. It does not know about .po files (catalog) or PDFs (importer).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pressdist.errors import InputError
from pressdist.files import atomic_write, read_text
from pressdist.source.segment import split_sentences
from pressdist.workspace import validate_release_id

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

FENCE = "+++"
_FIELDS = {"date", "title", "lead", "author", "place", "embargo", "embargo_note", "contact"}
# The title is the mail's Subject: a headline, never a paragraph (and a Subject
# of megabytes is a mail no server takes).
MAX_TITLE = 300


@dataclass(frozen=True)
class Segment:
    """One unit of translation: a sentence of the body, or a title, lead, contact line."""

    part: str  # "title", "lead", "place", "embargo", "paragraph", "contact"
    number: int  # paragraph or contact-line number, 1-based; 0 for the others
    text: str  # the source text, without surrounding whitespace
    line: int  # line in the release file where it starts (for `#:` references)
    paragraph: str = ""  # the whole paragraph, for a translator's context

    @property
    def label(self) -> str:
        return f"{self.part} {self.number}" if self.number else self.part


@dataclass
class Release:
    """A press release in its source language."""

    id: str
    date: dt.date
    title: str
    lead: str = ""
    author: str = ""
    paragraphs: list[str] = field(default_factory=list)
    contact: str = ""  # lines separated by "\n"; the release's own or the config's default
    place: str = ""
    embargo: dt.datetime | None = None  # timezone-aware
    embargo_note: str = ""
    path: Path | None = None
    # Line numbers in the file, for `#:` references: key -> line.
    lines: dict[str, int] = field(default_factory=dict)
    revision: str = ""  # short hash of the file's bytes; changes when the file does

    @property
    def contact_lines(self) -> list[str]:
        return [ln.strip() for ln in self.contact.splitlines() if ln.strip()]

    def segments(self) -> list[Segment]:
        """The release cut into translation units, in reading order."""
        segs = [Segment("title", 0, self.title.strip(), self.lines.get("title", 1))]
        if self.lead.strip():
            segs.append(Segment("lead", 0, self.lead.strip(), self.lines.get("lead", 1)))
        if self.place.strip():
            # The dateline's place has a name of its own in some languages (美因茨).
            segs.append(Segment("place", 0, self.place.strip(), self.lines.get("place", 1)))
        if self.embargo_note.strip():
            segs.append(
                Segment("embargo", 0, self.embargo_note.strip(), self.lines.get("embargo_note", 1))
            )
        for n, para in enumerate(self.paragraphs, start=1):
            line = self.lines.get(f"paragraph {n}", 1)
            for sentence in split_sentences(para):
                if sentence.strip():
                    segs.append(Segment("paragraph", n, sentence.strip(), line, para))
        base = self.lines.get("contact", 1)
        for n, text in enumerate(self.contact_lines, start=1):
            segs.append(Segment("contact", n, text, base + n if "contact" in self.lines else base))
        return segs


def _toml_string(value: str) -> str:
    # TOML forbids raw control characters (PDF text sometimes carries them).
    def controls(text: str) -> str:
        return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", text)

    if "\n" in value:
        body = controls(value.replace("\\", "\\\\").replace('"""', '\\"\\"\\"'))
        # A line of just +++ would end the front matter there: escape its first +.
        body = re.sub(r"(?m)^(\s*)\+(\+\+\s*)$", r"\1\\u002b\2", body)
        return f'"""\n{body}\n"""'
    escaped = controls(value.replace("\\", "\\\\").replace('"', '\\"'))
    return f'"{escaped}"'


def dumps(release: Release) -> str:
    """The release file's text. ``loads(dumps(r))`` gives ``r`` back."""
    out = [FENCE, f"date = {release.date.isoformat()}"]
    out.append(f"title = {_toml_string(release.title)}")
    for key in ("lead", "author", "place", "embargo", "embargo_note", "contact"):
        value = getattr(release, key)
        if value:
            shown = value.isoformat() if key == "embargo" else _toml_string(value)
            out.append(f"{key} = {shown}")
    out.append(FENCE)
    out.append("")
    out.append("\n\n".join(p.strip() for p in release.paragraphs))
    return "\n".join(out).rstrip("\n") + "\n"


def _key_lines(front: str, offset: int) -> dict[str, int]:
    lines = {}
    for i, line in enumerate(front.splitlines()):
        m = re.match(r"\s*([A-Za-z_]+)\s*=", line)
        if m and m.group(1) not in lines:  # unknown keys too: their error names the line
            lines[m.group(1)] = offset + i
    return lines


# Front matter ------------------------------------------------------------------


def _closing_fence(lines: list[str], text: str, where: Path) -> int:
    """The index of the line that closes the front matter."""
    if not text.strip():
        raise InputError("release file is empty", path=where)
    if lines[0].strip() != FENCE:
        raise InputError(
            f"release must start with front matter between '{FENCE}' lines",
            path=where,
            line=1,
            hint="see docs/release-format.md",
        )
    try:
        return next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        raise InputError(f"front matter is not closed with '{FENCE}'", path=where, line=1) from None


def _parse_front(front: str, lines: list[str], where: Path) -> dict[str, Any]:
    """The front matter's TOML; a date TOML cannot read is named as a date, with an example."""
    try:
        return tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) + 1 if m else 1
        bad = lines[line - 1] if line - 1 < len(lines) else ""
        if key := re.match(r"\s*(date|embargo)\s*=", bad):
            example = "2019-11-04" if key.group(1) == "date" else "2019-11-04T10:00:00+01:00"
            raise InputError(
                f"'{key.group(1)}' is not a valid date: {bad.split('=', 1)[1].strip()}",
                path=where,
                line=line,
                hint=f"write it as {example} (no quotes)",
            ) from None
        raise InputError(f"front matter is not valid TOML: {exc}", path=where, line=line) from None


def _check_keys(meta: dict[str, Any], key_lines: dict[str, int], where: Path) -> None:
    """Only known keys; date and title present."""
    for key in meta:
        if key not in _FIELDS:
            raise InputError(
                f"unknown front-matter key '{key}'",
                path=where,
                line=key_lines.get(key, 2),
                hint="known keys: " + ", ".join(sorted(_FIELDS)),
            )
    for key in ("date", "title"):
        if key not in meta:
            raise InputError(f"front matter has no '{key}'", path=where, line=1)


def _date(meta: dict[str, Any], key_lines: dict[str, int], where: Path) -> dt.date:
    date = meta["date"]
    if isinstance(date, dt.datetime):  # TOML reads 2019-11-04T10:00 as a datetime
        raise InputError(
            f"'date' must be a day like 2019-11-04, not a date and time ({date.isoformat()})",
            path=where,
            line=key_lines.get("date"),
            hint="a release's date has no time; an embargo goes into 'embargo' with its time zone",
        )
    if not isinstance(date, dt.date):
        raise InputError(
            f"'date' must be a date like 2019-11-04, not {date!r}",
            path=where,
            line=key_lines.get("date"),
        )
    return date


def _embargo(meta: dict[str, Any], key_lines: dict[str, int], where: Path) -> dt.datetime | None:
    """The embargo, timezone-aware: a time without a zone means different hours to readers."""
    embargo = meta.get("embargo")
    if embargo is not None and (not isinstance(embargo, dt.datetime) or embargo.tzinfo is None):
        raise InputError(
            "'embargo' must be a date-time with a time zone, e.g. 2019-11-04T10:00:00+01:00",
            path=where,
            line=key_lines.get("embargo"),
        )
    return embargo


def _check_texts(meta: dict[str, Any], key_lines: dict[str, int], where: Path) -> None:
    for key in ("title", "lead", "author", "place", "embargo_note", "contact"):
        if key in meta and not isinstance(meta[key], str):
            raise InputError(f"'{key}' must be text", path=where, line=key_lines.get(key))
    if not meta["title"].strip():
        raise InputError("'title' is empty", path=where, line=key_lines.get("title"))
    if len(meta["title"].strip()) > MAX_TITLE:
        raise InputError(
            f"'title' is {len(meta['title'].strip()):,} characters long; at most {MAX_TITLE}",
            path=where,
            line=key_lines.get("title"),
            hint="the title is the mail's subject: a headline; the rest belongs into 'lead'",
        )
    for key in _FIELDS - {"date", "embargo"}:
        if "\0" in meta.get(key, ""):  # written as \u0000 in the TOML
            raise InputError(_NUL, path=where, line=key_lines.get(key), hint=_NUL_HINT)


# Body --------------------------------------------------------------------------


# A NUL is no character of any text; in a mail body it would even take the
# place of the recipient's unsubscribe line (mail.layout marks it with NULs).
_NUL = "the release holds a NUL character (\\0)"
_NUL_HINT = "remove it: it is no character of any text (a copy from a binary file?)"


def _refuse_nul(text: str, where: Path) -> None:
    at = text.find("\0")
    if at >= 0:
        raise InputError(_NUL, path=where, line=text.count("\n", 0, at) + 1, hint=_NUL_HINT)


def _body(lines: list[str], first: int) -> tuple[list[str], dict[str, int]]:
    """Paragraphs (their lines joined by a space) from index ``first``, and their file lines."""
    paragraphs: list[str] = []
    current: list[str] = []
    body_lines: dict[str, int] = {}
    start = 0
    for i in range(first, len(lines)):
        stripped = lines[i].strip()
        if stripped:
            if not current:
                start = i + 1
            current.append(stripped)
        elif current:
            paragraphs.append(" ".join(current))
            body_lines[f"paragraph {len(paragraphs)}"] = start
            current = []
    if current:
        paragraphs.append(" ".join(current))
        body_lines[f"paragraph {len(paragraphs)}"] = start
    return paragraphs, body_lines


def loads(
    text: str, release_id: str, *, path: Path | None = None, default_contact: str = ""
) -> Release:
    """Parse a release file's text; errors name the file and line.

    A release without a contact of its own gets ``default_contact`` (the
    workspace's); its contact lines then have no line in this file.
    """
    where = path or Path(f"{release_id}.md")
    _refuse_nul(text, where)
    lines = text.split("\n")
    end = _closing_fence(lines, text, where)
    front = "\n".join(lines[1:end])
    meta = _parse_front(front, lines, where)
    key_lines = _key_lines(front, 2)
    _check_keys(meta, key_lines, where)
    date = _date(meta, key_lines, where)
    embargo = _embargo(meta, key_lines, where)
    _check_texts(meta, key_lines, where)
    paragraphs, body_lines = _body(lines, end + 1)
    own_contact = meta.get("contact", "").strip("\n")
    if not own_contact:
        key_lines.pop("contact", None)
    return Release(
        id=release_id,
        date=date,
        title=meta["title"].strip(),
        lead=meta.get("lead", "").strip(),
        author=meta.get("author", "").strip(),
        paragraphs=paragraphs,
        contact=own_contact or default_contact.strip("\n"),
        place=meta.get("place", "").strip(),
        embargo=embargo,
        embargo_note=meta.get("embargo_note", "").strip(),
        path=path,
        lines={**key_lines, **body_lines},
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
    )


def load_release(workspace: Workspace, release_id: str) -> Release:
    """The release ``release_id`` of ``workspace``, with the workspace's default contact."""
    return read_release(
        workspace.release_path(release_id), default_contact=workspace.config.contact
    )


def all_releases(workspace: Workspace) -> list[Release]:
    return [load_release(workspace, i) for i in workspace.release_ids()]


def read_release(path: Path, *, default_contact: str = "") -> Release:
    release_id = path.stem
    try:
        validate_release_id(release_id)
    except InputError as exc:
        raise InputError(exc.message, path=path, hint=exc.hint) from None
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.md"))
        raise InputError(
            "release not found",
            path=path,
            hint="known: " + ", ".join(known) if known else "add one with `pressdist import FILE`",
        )
    return loads(
        read_text(path, what="release"), release_id, path=path, default_contact=default_contact
    )


def save_release(release: Release, path: Path) -> bool:
    return atomic_write(path, dumps(release))
