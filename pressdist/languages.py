"""Languages as pressdist speaks them: the ``Language`` value, and how other spellings map onto it.

A workspace names languages the gettext way (``de``, ``en``, ``zh_CN``: the
folder names under ``translations/``). Recipients and TMX files use BCP 47
(``en-GB``, ``zh-Hans``, ``zh-CN``). babel's own negotiation is plain string
matching and gets Chinese scripts wrong, so the mapping lives here.

zh-Hant / zh_TW / zh_HK / zh_MO readers are *not* mapped to zh_CN: simplified
characters are not their script. They go through the fallback chain instead.

Owns the ``Language`` value (made once where a code enters: the config, a list
row, a TMX file, the command line) and negotiation. It does not know which
languages a workspace has: ``workspace`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_TRADITIONAL_REGIONS = {"TW", "HK", "MO"}


class Language(str):
    """A language by its gettext code (``zh_CN``), with the other forms it is needed in.

    It is a ``str`` equal to its code, so it keys dicts, names folders and
    prints exactly as the code does (``check --json``, ``translations/zh_CN/``);
    being immutable and made only by ``parse``, it is always in the
    workspace's spelling.
    """

    __slots__ = ()

    @staticmethod
    def parse(code: str) -> Language:
        """``zh-cn`` → ``zh_CN``, ``EN`` → ``en``; ValueError for what is no language code."""
        if isinstance(code, Language):
            return code
        return _parse(code)

    @property
    def code(self) -> str:
        """The gettext spelling as a plain string."""
        return str.__str__(self)

    @property
    def bcp47(self) -> str:
        """``zh_CN`` → ``zh-CN``: what TMX ``xml:lang``, Content-Language and HTML ``lang`` want."""
        return self.replace("_", "-")

    @property
    def base(self) -> str:
        """The language without region or script: ``zh`` for ``zh_CN``."""
        return self.split("_")[0]

    @property
    def is_cjk(self) -> bool:
        """Chinese, Japanese, Korean: no spaces between words, wide characters."""
        return self.base in ("zh", "ja", "ko")

    @property
    def locale(self) -> Locale:
        """babel's locale data; ValueError-like babel errors when babel has none."""
        return _locale(self.code)

    @property
    def own_name(self) -> str:
        """The language's name in itself, as a reader looks for it in a footer."""
        loc = self.locale
        name = loc.language_name or self.code
        if loc.language == "zh":
            # babel says "中文 (简体, 中国)"; readers expect just 中文 in a language list.
            return name.split(" (")[0].split("（")[0]
        return name[:1].upper() + name[1:]

    @property
    def english_name(self) -> str:
        return self.locale.get_display_name("en") or self.code

    @property
    def plural_forms(self) -> str:
        """The Plural-Forms header value for a catalog in this language, from babel's data."""
        # start-up: babel (~40 ms) is imported only by what needs its data.
        from babel.messages.plurals import get_plural

        plural = get_plural(self.code)
        return f"nplurals={plural.num_plurals}; plural={plural.plural_expr};"


def _normalize(code: str) -> str:
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


@lru_cache(maxsize=256)
def _parse(code: str) -> Language:
    if not isinstance(code, str) or not is_valid_code(code):
        raise ValueError(f"{code!r} is not a language code")
    return Language(_normalize(code))


@lru_cache(maxsize=32)
def _locale(code: str) -> Locale:
    # start-up: babel (~40 ms) is imported only by what needs its data.
    from babel import Locale

    return Locale.parse(code)


def spelling(code: str) -> str:
    """``code`` as a message shows it: in the workspace's spelling where it is a language code."""
    try:
        return Language.parse(code)
    except ValueError:
        return code.strip()


def is_valid_code(code: str) -> bool:
    return bool(_CODE.match(code.strip()))


def is_known(code: str) -> bool:
    """True when ``code`` is a language code babel has locale data for."""
    try:
        Language.parse(code).locale  # noqa: B018 (looked up for its error)
    except Exception:
        return False
    return True


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


def negotiate(requested: str, available: Iterable[Language]) -> Language | None:
    """The available language that serves a reader asking for ``requested``.

    Exact match first, then same language and script (``zh``, ``zh-Hans``,
    ``zh_SG`` → ``zh_CN``; ``en-GB`` → ``en``; ``de_AT`` → ``de``). ``None`` when
    nothing fits, so the caller can apply the configured fallback chain.
    """
    if not requested or not is_valid_code(requested):
        return None
    want = Language.parse(requested)
    avail = [Language.parse(a) for a in available]
    if want in avail:
        return avail[avail.index(want)]
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
