"""Wrapping plain-text mail bodies: by words for Latin scripts, by width for CJK.

Latin text breaks only at spaces (never inside a word, not even at a hyphen:
"Deutsch-Chinesische" is one word to a reader). CJK text has no spaces; it
breaks between characters, counted by display width (East Asian Width: a
Chinese character takes two columns), and follows the basic kinsoku rule: no
line starts with closing punctuation and none ends with opening punctuation.
Latin words inside CJK text (ISA, 4.0, URLs) stay whole.
"""

from __future__ import annotations

import re
import textwrap

from pressdist.text import is_wide, text_width

WIDTH = 72

# Punctuation that must not begin a line (closing marks, commas, full stops).
NO_START = set("。，、；：？！）」』】》〉〕”’…‥・·ー々ゝゞ〜%％,.;:!?)]}")
# Punctuation that must not end a line (opening marks).
NO_END = set("（「『【《〈〔“‘([{")

_TOKEN = re.compile(r"\s+|[^\s]")


def _tokens(text: str) -> list[str]:
    """Wide characters one by one, runs of narrow non-space characters, spaces."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace():
            if word:
                tokens.append(word)
                word = ""
            if tokens and not tokens[-1].isspace():
                tokens.append(" ")
        elif is_wide(ch):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def wrap_cjk(text: str, width: int = WIDTH) -> list[str]:
    lines: list[list[str]] = [[]]
    used = 0
    for tok in _tokens(text.strip()):
        w = text_width(tok)
        line = lines[-1]
        if tok == " ":
            if line:
                line.append(tok)
                used += 1
            continue
        if used + w <= width or not line:
            line.append(tok)
            used += w
            continue
        # Start a new line; carry over what may not end this one or start the next.
        carry: list[str] = []
        while line and line[-1] == " ":
            line.pop()
        if tok[0] in NO_START:
            # Move the last character(s) down with the closing punctuation.
            while line and len(line) > 1 and (line[-1][-1] in NO_START or not carry):
                carry.insert(0, line.pop())
                if carry[0][-1] not in NO_START:
                    break
        while line and len(line) > 1 and line[-1][-1] in NO_END:
            carry.insert(0, line.pop())
        while line and line[-1] == " ":
            line.pop()
        new = [*carry, tok]
        lines.append(new)
        used = sum(text_width(t) for t in new)
    return ["".join(line).rstrip() for line in lines if line]


def wrap(text: str, *, cjk: bool, width: int = WIDTH) -> list[str]:
    """``text`` as lines of at most ``width`` columns (a longer word stays whole)."""
    if cjk:
        return wrap_cjk(text, width)
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]
