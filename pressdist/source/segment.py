"""Cutting a German paragraph into sentences for translation.

Owns the sentence boundaries a translator sees; not where paragraphs come from
(release) or what happens to the segments later (catalog).

pysbd proposes the boundaries (it knows German ordinals, "z. B.", quotes with an
attribution); the rules here veto the proposals pysbd gets wrong for press
releases: abbreviations it does not know ("Str. 3", "Abs. 2", "Tel.:"), initials
in names, URLs and e-mail addresses, ordinals before a month, anything inside a
„quotation“, and a "sentence" that would start in lowercase or with a comma.
Rules only remove boundaries, except one: pysbd takes the last group of a phone
number ("12 22 21.") for an ordinal, so a full stop there ends the sentence.

Invariant: ``"".join(split_sentences(p)) == p`` for every string ``p``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pressdist.text import EMAIL, URL

# Lowercased last words after which a sentence never ends in a press release.
# ("usw." and "etc." are missing on purpose: they often do end a sentence.)
_NEVER_FINAL = frozenset([
    "nr.", "nrn.", "dr.", "prof.", "hr.", "fr.", "bzw.", "ca.", "str.", "abs.", "tel.",
    "tel.:", "vgl.", "ggf.", "evtl.", "inkl.", "zzgl.", "bspw.", "sog.", "st.", "gem.", "lt.",
    "max.", "min.", "mio.", "mrd.", "rd.", "jh.", "jhd.", "geb.", "verh.", "ehem.", "art.",
    "kap.", "bd.", "hrsg.", "dipl.", "ing.", "med.", "z.b.", "u.a.", "o.ä.", "d.h.", "u.u.",
    "v.a.", "z.t.", "i.d.r.",
])  # fmt: skip
# Abbreviations written as two letters: "z. B." ends in "B.", which alone could be a name.
_PAIRED = re.compile(
    r"(?:^|\s)(?:z\. ?B|u\. ?a|o\. ?ä|d\. ?h|u\. ?U|v\. ?a|z\. ?T|s\. ?o|"
    r"i\. ?d\. ?R)\.:?$"
)
# After these a sentence can end, but not when the next word is a number or lowercase.
_FINAL_ONLY_BEFORE_CAPITAL = frozenset(["f.", "ff.", "s."])

_MONTHS = (
    "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
)
_ORDINAL_END = re.compile(r"(?:^|[\s(])\d{1,2}\.$")
_MONTH_START = re.compile(
    rf"(?:{_MONTHS}|Jan\.|Feb\.|Mär\.|Apr\.|Jun\.|Jul\.|Aug\.|Sep\.|"
    rf"Sept\.|Okt\.|Nov\.|Dez\.)(?=\W|$)"
)
_INITIAL_END = re.compile(r"(?:^|\s)[A-ZÄÖÜ]\.$")
_CONTINUATION = tuple(",;:)]}–-")
_NUMBER_GROUP_END = re.compile(r"\d[ /-]\d{1,2}\.[ \t]+(?=[A-ZÄÖÜ„])")


def _protected_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in URL.finditer(text)] + [m.span() for m in EMAIL.finditer(text)]
    return sorted(spans)


def quote_pair(text: str) -> tuple[str, str]:
    """The opening and closing quotation marks ``text`` is set with."""
    # German typesetting opens with „ and closes with “; English text uses “ … ”.
    if "„" in text:
        return "„", "“"
    if "»" in text:
        return "»", "«"
    return "“", "”"


def _keep_boundary(text: str, at: int, spans: list[tuple[int, int]], quotes) -> bool:
    left = text[:at].rstrip()
    right = text[at:].lstrip()
    if not left or not right:
        return False
    if any(start < at < end for start, end in spans):
        return False
    first = right[0]
    if first.islower() or right.startswith(_CONTINUATION):
        return False
    opening, closing = quotes
    if left.count(opening) > left.count(closing) and closing in right:
        return False
    last_word = left.split()[-1].lower()
    if last_word in _NEVER_FINAL or last_word.endswith("str.") or _PAIRED.search(left):
        return False
    if last_word in _FINAL_ONLY_BEFORE_CAPITAL and not first.isupper():
        return False
    if first.isdigit() and left.endswith(".") and left[-2:-1].isdigit():
        return False  # "Industrie 4.0", "1.250 Gäste", "04.11.2019"
    if _ORDINAL_END.search(left) and (_MONTH_START.match(right) or right[:4].isdigit()):
        return False
    # "Manuela M. Matz": a lone capital with a dot between capitalised words.
    return not (
        _INITIAL_END.search(left)
        and first.isupper()
        and len(left.split()) > 1
        and left.split()[-2][:1].isupper()
    )


@lru_cache(maxsize=1)
def _segmenter():
    # start-up: pysbd costs ~30 ms to import; listing or loading releases never segments them.
    import pysbd

    return pysbd.Segmenter(language="de", clean=False, char_span=False)


def _proposals(text: str) -> list[int]:
    """pysbd's boundaries as offsets into ``text`` (empty when it fails us)."""
    # pysbd treats every newline as a sentence end; a paragraph's line breaks are not.
    flat = text.replace("\n", " ").replace("\r", " ")
    try:
        parts = _segmenter().segment(flat)
    except Exception:  # pysbd has crashed on odd input; one segment is still correct
        return []
    if "".join(parts) != flat:
        return []
    offsets, at = [], 0
    for part in parts[:-1]:
        at += len(part)
        offsets.append(at)
    # pysbd reads every "21." as an ordinal, also the end of a phone number.
    extra = [m.end() for m in _NUMBER_GROUP_END.finditer(text)]
    return sorted(set(offsets).union(extra)) if extra else offsets


@lru_cache(maxsize=4096)
def _split(paragraph: str) -> tuple[str, ...]:
    spans = _protected_spans(paragraph)
    quotes = quote_pair(paragraph)
    pieces, start = [], 0
    for at in _proposals(paragraph):
        if _keep_boundary(paragraph, at, spans, quotes):
            pieces.append(paragraph[start:at])
            start = at
    pieces.append(paragraph[start:])
    return tuple(pieces)


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of ``paragraph``, each with its trailing whitespace."""
    if not paragraph.strip():
        return [paragraph] if paragraph else []
    return list(_split(paragraph))
