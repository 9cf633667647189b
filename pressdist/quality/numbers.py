"""Numbers in running text, compared across languages as numbers.

Owns one question of the checks: does every number of a German sentence
survive in its translation? ``44,3%`` in German is ``44.3%`` in English and
Chinese, ``1.500`` is ``1,500``; a translator's ``44.8%`` or ``1.500`` (read as
1.5 in English) must be caught. Each locale's convention comes from babel,
parsed strictly (babel's lax mode reads German ``44.3`` as 443). Dates
(``4.11.2019``), times (``10:00``) and small numbers written as words
("eight", 八) are recognised so a correct localisation is not flagged.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.dates import get_month_names
from babel.numbers import NumberFormatError, parse_decimal

from pressdist.languages import Language

_NUMBER = re.compile(r"(?<![\d])\d+(?:[.,\u00a0\u202f'’]\d+)*")
_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.(?:\s?(\d{4}))?(?![\d])")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])")

_EN_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
)
_EN_WORDS = {w: i for i, w in enumerate(_EN_NUMBER_WORDS.split())}
_EN_WORD = re.compile(r"\b(" + "|".join(_EN_WORDS) + r")\b", re.I)
_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_RUN = re.compile("[" + "".join(_ZH_DIGITS) + "".join(_ZH_UNITS) + "]+")

Value = Decimal | str


@lru_cache(maxsize=4096)
def parse(token: str, language: str) -> Value:
    """The number ``token`` means in ``language``, or the token itself if none."""
    try:
        return parse_decimal(token, locale=language, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        return token


def _zh_number(run: str) -> int | None:
    total, current, section = 0, 0, 0
    for ch in run:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        else:
            unit = _ZH_UNITS[ch]
            if unit == 10000:
                section = (section + (current or (0 if section else 1))) * unit
                total += section
                section = 0
            else:
                section += (current or 1) * unit
            current = 0
    return total + section + current


def _words(text: str, language: str) -> list[Decimal]:
    base = Language.parse(language).base
    if base == "en":
        return [Decimal(_EN_WORDS[m.group(1).lower()]) for m in _EN_WORD.finditer(text)]
    if base == "zh":
        found = []
        for m in _ZH_RUN.finditer(text):
            n = _zh_number(m.group(0))
            if n is not None:
                found.append(Decimal(n))
        return found
    return []


@lru_cache(maxsize=256)
def _month_names(month: int, language: str) -> tuple[str, ...]:
    names = []
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            with contextlib.suppress(KeyError, ValueError):
                names.append(get_month_names(width, context, locale=language)[month])
    return tuple(n.casefold().rstrip(".") for n in names if n)


def _values(text: str, language: str) -> list[tuple[Decimal | None, str]]:
    """(number, literal) for each number written in ``text``."""
    found: list[tuple[Decimal | None, str]] = []
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        value = parse(token, language)
        found.append((None if isinstance(value, str) else value, token))
    found.extend((w, "") for w in _words(text, language))
    return found


def _take(pool: list[tuple[Decimal | None, str]], wanted: Value) -> bool:
    """Use up one number of the translation equal to ``wanted``."""
    for i, (number, literal) in enumerate(pool):
        if (number == wanted) if isinstance(wanted, Decimal) else (literal == wanted):
            del pool[i]
            return True
    return False


def missing_numbers(source: str, translation: str, src_lang: str, tgt_lang: str) -> list[str]:
    """Numbers (as written in ``source``) that the translation lacks or changed.

    A number the source language cannot parse ("4.0" of "Industrie 4.0" is no
    German number) must appear literally.
    """
    missing: list[str] = []
    pool = _values(translation, tgt_lang)
    folded = translation.casefold()
    times = {(int(h), int(m)) for h, m in _TIME.findall(translation)}

    def has(value: int) -> bool:
        return _take(pool, Decimal(value))

    rest = source
    for m in _DATE.finditer(source):
        day, month = int(m.group(1)), int(m.group(2))
        year = m.group(3)
        if not (1 <= day <= 31 and 1 <= month <= 12):
            continue
        ok = has(day) and (year is None or has(int(year)))
        ok = ok and (has(month) or any(n in folded for n in _month_names(month, tgt_lang)))
        if not ok:
            missing.append(m.group(0).strip())
        rest = rest.replace(m.group(0), " ", 1)
    for m in _TIME.finditer(rest):
        hour, minute = int(m.group(1)), int(m.group(2))
        twelve = hour % 12 or 12
        if (hour, minute) in times or (twelve, minute) in times:
            _ = has(hour) or has(twelve)
            _ = has(minute)
        elif not (minute == 0 and (has(hour) or has(twelve))):
            missing.append(m.group(0))
        rest = rest.replace(m.group(0), " ", 1)
    for m in _NUMBER.finditer(rest):
        token = m.group(0)
        if not _take(pool, parse(token, src_lang)):
            missing.append(token)
    return missing
