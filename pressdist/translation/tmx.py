"""TMX 1.4b: the exchange format of translation memories between tools.

Owns reading a TMX file strictly (a malformed file or one without a German
variant is refused with file and line) and writing one that OmegaT, Trados and
translate-toolkit read: ``srclang`` is the source language, every ``xml:lang``
is a BCP 47 tag (``de``, ``en``, ``zh-CN``), units are sorted so that exporting
the same memory twice gives the same bytes. Standard library XML only.

It does not decide which units belong to a memory (``memory``).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from pressdist import languages
from pressdist.errors import InputError
from pressdist.files import read_bytes
from pressdist.languages import Language

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Inline elements whose content is native markup of the original format, not text.
_CODE_ELEMENTS = {"bpt", "ept", "it", "ph", "ut"}
_HINT = "export it again from the translation tool as TMX 1.4"


@dataclass
class TmxUnit:
    source: str
    targets: dict[str, str]  # gettext code -> text
    date: str = ""  # YYYY-MM-DD of the unit, when the file says


@dataclass
class TmxMemory:
    srclang: str
    units: list[TmxUnit] = field(default_factory=list)
    date: str = ""  # YYYY-MM-DD of the file's header, when given
    skipped: int = 0  # units without a source-language variant


def _seg_text(seg: ET.Element) -> str:
    parts = [seg.text or ""]
    for child in seg:
        tag = child.tag.split("}")[-1]
        if tag not in _CODE_ELEMENTS:
            parts.append(_seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _date(value: str | None) -> str:
    m = re.match(r"^(\d{4})(\d{2})(\d{2})T", value or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""


def _line_of(data: bytes, element_name: str, index: int) -> int | None:
    """Approximate line of the index-th occurrence of ``<element_name``."""
    pos = -1
    for _ in range(index + 1):
        pos = data.find(b"<" + element_name.encode(), pos + 1)
        if pos < 0:
            return None
    return data.count(b"\n", 0, pos) + 1


def read(path: Path, *, source_language: str = "de") -> TmxMemory:
    """Parse a TMX file; refuse what is not TMX or has no ``source_language`` variant."""
    path = Path(path)
    data = read_bytes(path, what="TMX file")
    # The XML parser reads the declared encoding itself: UTF-8, or the UTF-16
    # that some CAT tools export.
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(
            f"TMX file is not well-formed XML ({str(exc).split(':')[0]})",
            path=path,
            line=line,
            hint=_HINT,
        ) from None
    if root.tag != "tmx":
        raise InputError(
            f"not a TMX file (root element <{root.tag}>)", path=path, line=1, hint=_HINT
        )
    header = root.find("header")
    body = root.find("body")
    if header is None or body is None:
        raise InputError("TMX file has no <header> or no <body>", path=path, hint=_HINT)
    source = Language.parse(source_language)
    memory = TmxMemory(srclang=header.get("srclang", ""), date=_date(header.get("creationdate")))
    for n, tu in enumerate(body.iter("tu")):
        texts: dict[Language, str] = {}
        for tuv in tu.findall("tuv"):
            lang = tuv.get(XML_LANG) or tuv.get("lang")
            seg = tuv.find("seg")
            if not lang or not languages.is_valid_code(lang) or seg is None:
                raise InputError(
                    "TMX unit has a <tuv> without a valid xml:lang or without <seg>",
                    path=path,
                    line=_line_of(data, "tu", n),
                    hint=_HINT,
                )
            texts.setdefault(Language.parse(lang), _seg_text(seg))
        src_key = next((k for k in texts if languages.negotiate(k, [source]) == source), None)
        if src_key is None or not texts[src_key].strip():
            memory.skipped += 1
            continue
        src = texts.pop(src_key)
        targets = {k: v for k, v in texts.items() if v.strip()}
        memory.units.append(
            TmxUnit(src, targets, _date(tu.get("changedate") or tu.get("creationdate")))
        )
    if not memory.units:
        raise InputError(
            f"TMX file has no unit with a {source.bcp47} variant (pressdist's source language)",
            path=path,
            hint="export the memory with German as the source language",
        )
    return memory


def target_text(unit: TmxUnit, language: str) -> str | None:
    """The unit's text in ``language``, accepting other spellings (zh-Hans for zh_CN)."""
    language = Language.parse(language)
    if language in unit.targets:
        return unit.targets[language]
    for code, text in sorted(unit.targets.items()):
        if languages.negotiate(code, [language]) == language:
            return text
    return None


def translations(memory: TmxMemory, language: str) -> list[tuple[str, str, str]]:
    """(source, translation, date) of every unit in ``language``; undated units get the file's."""
    out = []
    for unit in memory.units:
        target = target_text(unit, language)
        if target:
            out.append((unit.source, target, unit.date or memory.date))
    return out


def dumps(
    units: list[tuple[str, str, str]],
    language: str,
    *,
    source_language: str = "de",
    tool_version: str = "",
) -> str:
    """A TMX 1.4b document of (source, target, date) units for ``language``."""
    src = Language.parse(source_language).bcp47
    tgt = Language.parse(language).bcp47
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE tmx SYSTEM "tmx14.dtd">',
        '<tmx version="1.4">',
        f'  <header creationtool="pressdist" creationtoolversion="{_xml(tool_version)}" '
        f'segtype="sentence" o-tmf="pressdist" adminlang="en" srclang="{src}" '
        'datatype="plaintext"/>',
        "  <body>",
    ]
    for source, target, date in sorted(set(units)):
        stamp = (
            f' creationdate="{date.replace("-", "")}T000000Z"'
            if _date(date.replace("-", "") + "T")
            else ""
        )
        out.append(f"    <tu{stamp}>")
        out.append(f'      <tuv xml:lang="{_xml(src)}"><seg>{_xml(source)}</seg></tuv>')
        out.append(f'      <tuv xml:lang="{_xml(tgt)}"><seg>{_xml(target)}</seg></tuv>')
        out.append("    </tu>")
    out += ["  </body>", "</tmx>", ""]
    return "\n".join(out)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml(text: str) -> str:
    """Text for an element, or for an attribute that holds no quote (a language code).

    html.escape, not xml.sax.saxutils: that module imports urllib (~60 ms at
    start-up) for the same three replacements. XML 1.0 cannot carry most
    control characters; they never belong in a segment.
    """
    return html.escape(_CONTROL.sub("", text), quote=False)
