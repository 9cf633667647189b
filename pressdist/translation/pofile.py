"""Reading .po files strictly, for everything in pressdist that reads one.

Owns the door through which a translator's file comes back: charset, syntax and
language are checked here, and every refusal names the file and the line. polib
parses; a small lexical pass in front of it catches what polib lets through
(an unterminated string, a stray word) so the message can point at the line.
Writing .po files in GNU's layout lives in ``poformat``; what goes into them
lives in ``catalog``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib

from pressdist import languages
from pressdist.errors import InputError
from pressdist.files import decode_utf8, read_bytes
from pressdist.languages import Language

_KEYWORD = re.compile(
    r'^(?:#~\s*)?(?:#\|\s*)?(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*)$'
)
_CONTINUATION = re.compile(r'^(?:#~\s*)?(?:#\|\s*)?(".*)$')
_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_CHARSET = re.compile(rb"charset=([A-Za-z0-9_.:-]+)", re.I)
# Not "re-run extract": extract reads the catalog first and stops at the same line.
_HINT = "fix that line in a .po editor (Poedit, Lokalize) or a text editor"


def _charset_check(data: bytes, path: Path) -> None:
    """Refuse a catalog that declares another charset than UTF-8."""
    # The header is the first entry: everything up to the first blank line.
    end = data.replace(b"\r\n", b"\n").find(b"\n\n")
    head = data[: end if end >= 0 else 4096]
    m = _CHARSET.search(head)
    if not m:
        return
    charset = m.group(1).decode("ascii", "replace")
    if charset.lower().replace("-", "").replace("_", "") not in ("utf8", "charset"):
        line = head[: m.start()].count(b"\n") + 1
        raise InputError(
            f"catalog declares charset {charset}; pressdist reads UTF-8 only",
            path=path,
            line=line,
            hint="convert it: `msgconv --to-code=UTF-8 FILE -o FILE`",
        )


def _lexical_check(text: str, path: Path) -> None:
    """Point at the first line that is not valid .po syntax."""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _KEYWORD.match(line)
        literal = m.group(2) if m else None
        if literal is None:
            if line.startswith("#") and not line.startswith(("#~", "#|")):
                continue  # comments, references, flags
            c = _CONTINUATION.match(line)
            if c:
                literal = c.group(1)
            elif line.startswith(("#~", "#|")):
                continue  # obsolete or previous comment lines without a string
            else:
                raise InputError(
                    f"syntax error in catalog: unexpected {line[:30]!r}",
                    path=path,
                    line=number,
                    hint=_HINT,
                )
        if not _STRING.match(literal):
            raise InputError(
                "syntax error in catalog: string not properly quoted or terminated",
                path=path,
                line=number,
                hint=_HINT,
            )


def _polib_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def load_catalog(path: Path, *, language: str | None = None) -> polib.POFile:
    """Parse a .po file, refusing what a translator's tool might break.

    Refused with file and line: a charset other than UTF-8, bytes that are not
    UTF-8, a syntax error, a message defined twice, and a ``Language`` header
    that names another language than ``language`` (the folder it sits in).
    """
    path = Path(path)
    data = read_bytes(path, what="catalog", hint="run `pressdist extract`")
    _charset_check(data, path)
    text = decode_utf8(data, path, what="catalog")
    _lexical_check(text, path)
    try:
        po = polib.pofile(text if "\n" in text else text + "\n", wrapwidth=79)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"syntax error in catalog: {str(exc).split(': ', 1)[-1]}",
            path=path,
            line=_polib_line(str(exc)),
            hint=_HINT,
        ) from None
    po.fpath = str(path)
    seen: dict[tuple[str | None, str], int] = {}
    for entry in po:
        if entry.obsolete:
            continue
        key = (entry.msgctxt, entry.msgid)
        if key in seen:
            raise InputError(
                f"message defined twice (first at line {seen[key]})",
                path=path,
                line=entry.linenum,
                hint="remove one of the two entries",
            )
        seen[key] = entry.linenum
    if language is not None:
        declared = po.metadata.get("Language", "").strip()
        # Tools spell languages differently (zh_Hans, en_GB); only a language
        # that cannot serve the folder's readers is a contradiction.
        if declared and languages.negotiate(declared, [language]) is None:
            raise InputError(
                f"catalog says Language: {declared}, but it sits in the folder for "
                f"{Language.parse(language)}",
                path=path,
                line=_header_line(text, "Language"),
                hint=f"move it to translations/{languages.spelling(declared)}/ "
                "or correct its Language header",
            )
    return po


def _header_line(text: str, field: str) -> int | None:
    m = re.search(rf'^"{re.escape(field)}:', text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None
