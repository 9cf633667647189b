"""Language codes as pressdist speaks them, and how other spellings map onto them.

A workspace names languages the gettext way (``de``, ``en``, ``zh_CN``: the
folder names under ``translations/``). Recipients and TMX files use BCP 47
(``en-GB``, ``zh-Hans``, ``zh-CN``). babel's own negotiation is plain string
matching and gets Chinese scripts wrong, so the mapping lives here.

zh-Hant / zh_TW / zh_HK / zh_MO readers are *not* mapped to zh_CN: simplified
characters are not their script. They go through the fallback chain instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_TRADITIONAL_REGIONS = {"TW", "HK", "MO"}
_SIMPLIFIED_REGIONS = {"CN", "SG", "MY"}


def is_valid_code(code: str) -> bool:
    return bool(_CODE.match(code.strip()))


def normalize(code: str) -> str:
    """``zh-cn`` → ``zh_CN``, ``EN`` → ``en``; the gettext spelling of a tag."""
    parts = re.split(r"[-_]", code.strip())
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) in (2, 3):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "_".join(out)


def bcp47(code: str) -> str:
    """``zh_CN`` → ``zh-CN``: what TMX ``xml:lang`` and Content-Language want."""
    return normalize(code).replace("_", "-")


def is_cjk(code: str) -> bool:
    """Chinese, Japanese, Korean: no spaces between words, wide characters."""
    return normalize(code).split("_")[0] in ("zh", "ja", "ko")


def _script_of(parts: list[str]) -> str | None:
    for part in parts[1:]:
        if len(part) == 4:
            return part.title()
    lang = parts[0]
    if lang == "zh":
        regions = {p for p in parts[1:] if len(p) == 2}
        if regions & _TRADITIONAL_REGIONS:
            return "Hant"
        return "Hans"
    return None


def negotiate(requested: str, available: Iterable[str]) -> str | None:
    """The available language that serves a reader asking for ``requested``.

    Exact match first, then same language and script (``zh``, ``zh-Hans``,
    ``zh_SG`` → ``zh_CN``; ``en-GB`` → ``en``; ``de_AT`` → ``de``). ``None`` when
    nothing fits, so the caller can apply the configured fallback chain.
    """
    if not requested or not is_valid_code(requested):
        return None
    want = normalize(requested)
    avail = [normalize(a) for a in available]
    if want in avail:
        return want
    wparts = want.split("_")
    wscript = _script_of(wparts)
    candidates = []
    for a in avail:
        aparts = a.split("_")
        if aparts[0] != wparts[0]:
            continue
        if _script_of(aparts) != wscript:
            continue
        candidates.append(a)
    if not candidates:
        return None
    # Prefer the bare language (en) over a regional one (en_US) when both exist.
    candidates.sort(key=lambda a: (len(a.split("_")), a))
    return candidates[0]


@lru_cache(maxsize=32)
def babel_locale(code: str):  # -> babel.Locale
    from babel import Locale

    return Locale.parse(normalize(code))


def is_known(code: str) -> bool:
    """True when babel has locale data for ``code``."""
    if not is_valid_code(code):
        return False
    try:
        babel_locale(code)
    except Exception:
        return False
    return True


def own_name(code: str) -> str:
    """The language's name in itself, as a reader looks for it in a footer."""
    loc = babel_locale(code)
    name = loc.language_name or code
    if loc.language in ("zh",):
        # babel says "中文 (简体, 中国)"; readers expect just 中文 in a language list.
        return name.split(" (")[0].split("（")[0]
    return name[:1].upper() + name[1:]


def english_name(code: str) -> str:
    loc = babel_locale(code)
    return loc.get_display_name("en") or code


def plural_forms(code: str) -> str:
    """The Plural-Forms header value for a catalog in ``code``, from babel's data."""
    from babel.messages.plurals import get_plural

    plural = get_plural(normalize(code))
    return f"nplurals={plural.num_plurals}; plural={plural.plural_expr};"
