"""Shapes of text every layer recognises: URLs, e-mail addresses, wide characters.

Owns the one URL pattern and the one e-mail pattern that segmentation (keep a
URL in one sentence), checks (compare URLs between languages) and rendering
(turn them into links) share, the display width of characters (a Chinese
character takes two columns), and ``printable``: text from outside as it may
reach a terminal, a control character or a direction override shown as its
escape instead of obeyed. It knows nothing of releases or mails.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that end a URL wherever they stand (quotes, brackets of both
# widths), and those that may not be its last character (sentence punctuation
# of both widths: "www.mainz.de." ends at "de").
_URL_STOP = '\\s<>"“”„»«「」（）()\\[\\]'
_URL_NOT_LAST = ".,;:!?。，；：！？、"
URL = re.compile(
    rf"(?:https?://|ftp://|www\.)[^{_URL_STOP}]*[^{_URL_STOP}{_URL_NOT_LAST}]", re.IGNORECASE
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Unicode's Bidi_Control characters: they reorder the text around them, so a
# name can show as something else than it is ("Trojan Source").
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0, DEL and C1: ESC starts a terminal command, CR overwrites a line, and
# U+009B is ESC [ in one character to a terminal that reads C1.
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNPRINTABLE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` safe to show: control and direction characters as ``\\x1b``, ``\\u202e``.

    A server's reply, an API's error or a name from a list can carry terminal
    commands (colours, a moved cursor, a retitled window, a cleared screen)
    or characters that reverse the text after them; shown, they must be seen,
    not obeyed. ``lines`` keeps line breaks and tabs (a block of several lines).
    """
    if text.isprintable():
        return text
    return (_UNPRINTABLE_IN_LINES if lines else _UNPRINTABLE).sub(_escape, text)


def printable_json(text: str) -> str:
    """JSON text as ``json.dumps`` wrote it, with what ``printable`` escapes as ``\\uXXXX``.

    The data stay the same: JSON escapes C0 in strings itself, but writes
    DEL, C1 and direction characters raw (with ``ensure_ascii=False``).
    """
    return _UNPRINTABLE_IN_LINES.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def char_width(ch: str, *, cjk: bool = True) -> int:
    """Columns a character takes; ambiguous ones (“ ”) are wide in CJK text."""
    eaw = unicodedata.east_asian_width(ch)
    if eaw in ("W", "F") or (cjk and eaw == "A"):
        return 2
    if unicodedata.combining(ch):
        return 0
    return 1


def text_width(text: str, *, cjk: bool = True) -> int:
    return sum(char_width(c, cjk=cjk) for c in text)


def is_wide(ch: str) -> bool:
    """Wide or fullwidth: a CJK character, two columns in a terminal."""
    return unicodedata.east_asian_width(ch) in ("W", "F")
