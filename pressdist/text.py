"""Shapes of text every layer recognises: URLs, e-mail addresses, wide characters.

Owns the one URL pattern and the one e-mail pattern that segmentation (keep a
URL in one sentence), checks (compare URLs between languages) and rendering
(turn them into links) share, and the display width of characters (a Chinese
character takes two columns). It knows nothing of releases or mails.
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
