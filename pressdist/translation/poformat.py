"""Writing .po files in GNU gettext's own layout.

Owns the bytes of every catalog pressdist writes. Translators' tools (Poedit,
msgmerge, Weblate) lay files out the way GNU's ``write-po`` does; if pressdist
laid them out differently, every round trip would rewrap the whole file and
bury the real change in a noisy diff. So this module reproduces that layout:
strings are cut after each embedded newline and wrapped at 79 columns at the
break opportunities of the Unicode line-breaking algorithm (UAX #14), which is
why Chinese text wraps between characters and URLs after a slash; wide
characters count two columns. The check is ``msgcat f.po | diff - f.po``.

It does not decide what the entries are (``catalog``) or read files (``pofile``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import polib

PAGE_WIDTH = 79

# Line-break classes of UAX #14, reduced to those that occur in press releases.
_OP = "OP"
_CL = "CL"
_CP = "CP"
_QU = "QU"
_GL = "GL"
_NS = "NS"
_EX = "EX"
_SY = "SY"
_IS = "IS"
_PR = "PR"
_PO = "PO"
_NU = "NU"
_AL = "AL"
_ID = "ID"
_IN = "IN"
_HY = "HY"
_BA = "BA"
_BB = "BB"
_B2 = "B2"
_ZW = "ZW"
_CM = "CM"
_WJ = "WJ"
_SP = "SP"

_CLASSES = [
    _OP,
    _CL,
    _CP,
    _QU,
    _GL,
    _NS,
    _EX,
    _SY,
    _IS,
    _PR,
    _PO,
    _NU,
    _AL,
    _ID,
    _IN,
    _HY,
    _BA,
    _BB,
    _B2,
    _WJ,
]
# The pair table of UAX #14 (rows: class before, columns: class after).
# "_" break allowed, "%" only across spaces, "^" never.
_TABLE_ROWS = {
    _OP: "^^^^^^^^^^^^^^^^^^^^",
    _CL: "_^^%%^^^^%%___%%%__^",
    _CP: "_^^%%^^^^%%%%__%%__^",
    _QU: "^^^%%%^^^%%%%%%%%%%^",
    _GL: "%^^%%%^^^%%%%%%%%%%^",
    _NS: "_^^%%%^^^_____%%%__^",
    _EX: "_^^%%%^^^_____%%%__^",
    _SY: "_^^%%%^^^__%__%%%__^",
    _IS: "_^^%%%^^^__%__%%%__^",
    _PR: "%^^%%%^^^__%%%%%%__^",
    _PO: "%^^%%%^^^__%%_%%%__^",
    _NU: "%^^%%%^^^%%%%_%%%__^",
    _AL: "%^^%%%^^^%%%%_%%%__^",
    _ID: "_^^%%%^^^_%___%%%__^",
    _IN: "_^^%%%^^^_____%%%__^",
    _HY: "_^^%_%^^^__%___%%__^",
    _BA: "_^^%_%^^^______%%__^",
    _BB: "%^^%%%^^^%%%%%%%%%%^",
    _B2: "_^^%%%^^^_______%%^^",
    _WJ: "%^^%%%^^^%%%%%%%%%%^",
}
_TABLE = {(a, _CLASSES[i]): row[i] for a, row in _TABLE_ROWS.items() for i in range(len(row))}
# Later revisions of UAX #14, which gnulib follows: never break before a hyphen
# (LB21) or an ellipsis (LB22) unless spaces precede it.
for _row in _CLASSES:
    for _col in (_HY, _IN):
        if _TABLE[(_row, _col)] == "_":
            _TABLE[(_row, _col)] = "%"

_SPECIFIC = {
    " ": _SP,
    "\u00a0": _GL,
    "\u202f": _GL,
    "\u2007": _GL,
    "\u200b": _ZW,
    "\u2060": _WJ,
    "\ufeff": _WJ,
    "(": _OP,
    "[": _OP,
    "{": _OP,
    "\u201e": _OP,
    "\u201a": _OP,
    "\u00a1": _OP,
    "\u00bf": _OP,
    "}": _CL,
    ")": _CP,
    "]": _CP,
    '"': _QU,
    "'": _QU,
    "\u201c": _QU,
    "\u201d": _QU,
    "\u2018": _QU,
    "\u2019": _QU,
    "\u00ab": _QU,
    "\u00bb": _QU,
    "\u2039": _QU,
    "\u203a": _QU,
    "!": _EX,
    "?": _EX,
    "\uff01": _EX,
    "\uff1f": _EX,
    ",": _IS,
    ".": _IS,
    ":": _IS,
    ";": _IS,
    "/": _SY,
    "-": _HY,
    "\t": _BA,
    "\u2002": _BA,
    "\u2003": _BA,
    "\u2004": _BA,
    "\u2005": _BA,
    "\u2006": _BA,
    "\u2008": _BA,
    "\u2009": _BA,
    "\u200a": _BA,
    "|": _BA,
    "\u00ad": _BA,
    "\u2010": _BA,
    "\u2013": _BA,
    "\u2012": _BA,
    "\u2014": _B2,
    "\u00b4": _BB,
    "$": _PR,
    "+": _PR,
    "\\": _PR,
    "\u00a3": _PR,
    "\u20ac": _PR,
    "\u00a5": _PR,
    "\u00b1": _PR,
    "\u2116": _PR,
    "%": _PO,
    "\u2030": _PO,
    "\u00b0": _PO,
    "\u00a2": _PO,
    "\u2103": _PO,
    "\u2026": _IN,
    # CJK punctuation: closing marks may not start a line, opening ones may not end it.
    "\u3001": _CL,
    "\u3002": _CL,
    "\uff0c": _CL,
    "\uff0e": _CL,
    "\uff09": _CL,
    "\u3011": _CL,
    "\u300b": _CL,
    "\u300d": _CL,
    "\u300f": _CL,
    "\u3015": _CL,
    "\uff3d": _CL,
    "\uff5d": _CL,
    "\u3009": _CL,
    "\uff08": _OP,
    "\u3010": _OP,
    "\u300a": _OP,
    "\u300c": _OP,
    "\u300e": _OP,
    "\u3014": _OP,
    "\uff3b": _OP,
    "\uff5b": _OP,
    "\u3008": _OP,
    "\uff1a": _NS,
    "\uff1b": _NS,
    "\u30fc": _NS,
    "\u3005": _NS,
    "\u30fb": _NS,
    "\uff05": _PO,
    "\uffe5": _PR,
    "\uff04": _PR,
}


@lru_cache(maxsize=4096)
def _class(ch: str) -> str:
    cls = _SPECIFIC.get(ch)
    if cls is not None:
        return cls
    if "0" <= ch <= "9":
        return _NU
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return _CM
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return _ID
    return _AL


@lru_cache(maxsize=4096)
def _width(ch: str) -> int:
    # Combining marks and format characters (soft hyphen, zero-width space) take
    # no column, as in gnulib's uc_width.
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _possible_breaks(chars: list[str]) -> list[bool]:
    """breaks[i]: a line may start at chars[i] (UAX #14 with gnulib's handling of spaces)."""
    breaks = [False] * len(chars)
    last = "BK"
    seen_space = False
    for i, ch in enumerate(chars):
        cls = _class(ch)
        if cls == _SP:
            seen_space = True
            continue
        if cls == _ZW:
            last = _ZW
            seen_space = False
            continue
        if cls == _CM:
            if last == "BK":
                last = _AL
            elif seen_space:
                breaks[i] = True
                last = _AL
                seen_space = False
            continue
        if last == "BK":
            pass
        elif last == _ZW:
            breaks[i] = True
        elif cls == _OP and last in (_AL, _NU) and _width(ch) == 2:
            breaks[i] = True  # LB30 holds only for narrow brackets: "ISA（" may break
        else:
            rule = _TABLE[(last, cls)]
            breaks[i] = rule == "_" or (rule == "%" and seen_space)
        last = cls
        seen_space = False
    return breaks


_ESCAPES = {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\\": "\\\\",
    '"': '\\"',
}


def _portions(value: str) -> list[str]:
    """The value cut after each newline, as GNU does before wrapping."""
    out = []
    start = 0
    for i, ch in enumerate(value):
        if ch == "\n":
            out.append(value[start : i + 1])
            start = i + 1
    if start < len(value) or not out:
        out.append(value[start:])
    return out


def _escaped(portion: str) -> tuple[list[str], list[bool]]:
    """Escaped characters and, for each, whether a break before it is forbidden."""
    chars: list[str] = []
    forbid: list[bool] = []
    for ch in portion:
        esc = _ESCAPES.get(ch)
        if esc:
            chars.extend(esc)
            forbid.extend([False, True])
        else:
            chars.append(ch)
            forbid.append(False)
    if portion.endswith("\n"):
        forbid[-2] = True  # never leave "\n" alone at the start of a line
    return chars, forbid


def _wrap(chars: list[str], forbid: list[bool], width: int, start: int) -> list[int]:
    """Where lines break (gnulib's greedy width_linebreaks)."""
    possible = _possible_breaks(chars)
    chosen: list[int] = []
    last_p: int | None = None
    last_column = start
    piece = 0
    for i, ch in enumerate(chars):
        is_break = possible[i] and not forbid[i]
        if is_break:
            if last_p is not None and last_column + piece > width:
                chosen.append(last_p)
                last_column = 0
            last_p = i
            last_column += piece
            piece = 0
        piece += _width(ch)
    if last_p is not None and last_column + piece > width:
        chosen.append(last_p)
    return chosen


def _string_lines(prefix: str, name: str, value: str, width: int = PAGE_WIDTH) -> list[str]:
    """``msgid "..."`` and its continuation lines, laid out like GNU write-po."""
    out: list[str] = []
    portions = _portions(value)
    first = True
    line_width = width - 1 - (len(prefix) + 1)
    for n, portion in enumerate(portions):
        chars, forbid = _escaped(portion)
        start = len(name) + 1 if first else 0
        cuts = _wrap(chars, forbid, line_width, start)
        if first and chars and (n < len(portions) - 1 or start > line_width or cuts):
            out.append(f'{prefix}{name} ""')
            first = False
            start = 0
            cuts = _wrap(chars, forbid, line_width, start)
        bounds = [0, *cuts, len(chars)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            text = "".join(chars[a:b])
            if first:
                out.append(f'{prefix}{name} "{text}"')
                first = False
            else:
                out.append(f'{prefix}"{text}"')
    return out


def _flags(entry: polib.POEntry) -> list[str]:
    flags = list(dict.fromkeys(entry.flags))
    if "fuzzy" in flags and (entry.msgstr or entry.msgstr_plural):
        flags.remove("fuzzy")
        flags.insert(0, "fuzzy")
    elif "fuzzy" in flags:
        flags.remove("fuzzy")  # GNU drops fuzzy from an untranslated entry
    return flags


def entry_lines(entry: polib.POEntry) -> list[str]:
    lines: list[str] = []
    for c in entry.tcomment.split("\n") if entry.tcomment else []:
        lines.append(f"# {c}" if c else "#")
    for c in entry.comment.split("\n") if entry.comment else []:
        lines.append(f"#. {c}" if c else "#.")
    refs = [f"{f}:{n}" if n else f for f, n in entry.occurrences]
    if refs and not entry.obsolete:
        line = "#:"
        for ref in refs:
            if len(line) > 2 and len(line) + 1 + len(ref) > PAGE_WIDTH:
                lines.append(line)
                line = "#:"
            line += f" {ref}"
        lines.append(line)
    flags = _flags(entry)
    if flags:
        lines.append("#, " + ", ".join(flags))
    # A translator's "no-wrap" flag keeps each line whole, as GNU tools honour it.
    width = 10**9 if "no-wrap" in entry.flags else PAGE_WIDTH
    ob = "#~ " if entry.obsolete else ""
    prev = "#~| " if entry.obsolete else "#| "
    if entry.previous_msgctxt is not None:
        lines += _string_lines(prev, "msgctxt", entry.previous_msgctxt, width)
    if entry.previous_msgid is not None:
        lines += _string_lines(prev, "msgid", entry.previous_msgid, width)
    if entry.previous_msgid_plural is not None:
        lines += _string_lines(prev, "msgid_plural", entry.previous_msgid_plural, width)
    if entry.msgctxt is not None:
        lines += _string_lines(ob, "msgctxt", entry.msgctxt, width)
    lines += _string_lines(ob, "msgid", entry.msgid, width)
    if entry.msgid_plural:
        lines += _string_lines(ob, "msgid_plural", entry.msgid_plural, width)
        for k in sorted(entry.msgstr_plural):
            lines += _string_lines(ob, f"msgstr[{k}]", entry.msgstr_plural[k], width)
    else:
        lines += _string_lines(ob, "msgstr", entry.msgstr, width)
    return lines


def dumps(po: polib.POFile) -> str:
    """The catalog's text in GNU layout: header, entries, obsolete entries last."""
    blocks: list[list[str]] = []
    header: list[str] = []
    for c in po.header.split("\n") if po.header else []:
        header.append(f"# {c}" if c else "#")
    if po.metadata_is_fuzzy:
        header.append("#, fuzzy")
    meta = "".join(f"{k}: {v}\n" for k, v in po.ordered_metadata())
    header += _string_lines("", "msgid", "")
    header += _string_lines("", "msgstr", meta)
    blocks.append(header)
    live = [e for e in po if not e.obsolete]
    dead = [e for e in po if e.obsolete]
    for entry in live + dead:
        blocks.append(entry_lines(entry))
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"
