"""What a mail says in one language: every word of it, before any layout.

Owns the subject (a localised label plus the translated title), the box that
makes a mail a correction (a ``Correction``: its label in the subject too,
and the office's note), the dateline
(the place from the catalog or glossary, the release date formatted by babel),
the embargo line with date, time and the release's UTC offset in the language,
title, lead, paragraphs and contact lines from the release's translations (the
source wherever a segment has no usable translation), and the footer: the other
languages the release is available in by their own names, the note that a
translation is one, the organisation and the unsubscribe sentence. Labels come
from pressdist's own gettext catalogs in ``pressdist/locale/<lang>/LC_MESSAGES/
pressdist.po``.

It does not lay anything out (``mail.layout``), build MIME (``mail.render``),
or decide which languages are sendable: the caller names them (``available``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import polib
from babel.dates import format_date, format_time

from pressdist.languages import Language
from pressdist.text import is_wide
from pressdist.translation.glossary import load_glossary
from pressdist.translation.units import keyed_segments, release_units

if TYPE_CHECKING:
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

LOCALE_DIR = Path(__file__).parent.parent / "locale"  # pressdist/locale

UNSUBSCRIBE = (
    "You receive this press release as a member of our distribution list. Unsubscribe: {url}"
)


# Labels ----------------------------------------------------------------------


@lru_cache(maxsize=16)
def labels(language: str) -> dict[str, str]:
    """msgid -> msgstr of pressdist's own catalog for ``language`` (English if none)."""
    lang = Language.parse(language)
    for cand in dict.fromkeys((lang.code, lang.base)):
        path = LOCALE_DIR / cand / "LC_MESSAGES" / "pressdist.po"
        if path.is_file():
            catalog = polib.pofile(str(path))
            return {
                e.msgid: e.msgstr
                for e in catalog
                if e.msgstr and not e.obsolete and "fuzzy" not in e.flags
            }
    return {}


def _label(language: str, msgid: str, /, **values: str) -> str:
    text = labels(language).get(msgid, msgid)
    return text.format(**values) if values else text


def _around(language: str, msgid: str, placeholder: str) -> tuple[str, str]:
    """A label's text before and after its one ``placeholder``.

    The layout puts markup there (a link, ``lang`` spans) that the label's
    translator never sees and the text part does not have.
    """
    before, _sep, after = _label(language, msgid).partition("{" + placeholder + "}")
    return before, after


# Localised pieces ------------------------------------------------------------


def format_release_date(date: dt.date, language: str) -> str:
    return format_date(date, "long", locale=Language.parse(language).locale)


def format_embargo(when: dt.datetime, language: str) -> str:
    """Date and time in the language, with the release's own UTC offset."""
    loc = Language.parse(language).locale
    date = format_date(when.date(), "long", locale=loc)
    time = format_time(when, "short", tzinfo=when.tzinfo, locale=loc)
    zone = format_time(when, "ZZZZ", tzinfo=when.tzinfo, locale=loc)
    pattern = loc.datetime_formats.get("long", "{1} {0}")
    pattern = str(getattr(pattern, "pattern", pattern))
    # CLDR patterns quote literal words ('um'); pressdist only wants date + time.
    combined = pattern.replace("{1}", date).replace("{0}", f"{time} {zone}")
    return re.sub(r"'([^']*)'", r"\1", combined)


def join_sentences(sentences: list[str], cjk: bool) -> str:
    """A paragraph from its sentences: a space between them, none between CJK ones."""
    out = ""
    for s in sentences:
        s = s.strip()
        if not s:
            continue
        if out and not (cjk and (is_wide(out[-1]) or is_wide(s[0]))):
            out += " "
        out += s
    return out


def translated_note(language: str, source_language: str) -> str:
    """ "Translated from the German original.", the source named in the mail's language."""
    loc = Language.parse(language).locale
    name = loc.languages.get(Language.parse(source_language).base)
    return _label(
        language, "Translated from the {language} original.", language=name or source_language
    )


# The content -----------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """A release sent again as the correction of an earlier revision, with the office's note.

    The note is the office's own words, the same in every language; a line
    break in it is kept as a space (it is one paragraph of the box).
    """

    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "note", " ".join(self.note.split()))


@dataclass(frozen=True)
class Content:
    """The release's text in one language, every label in that language, ready to lay out."""

    language: Language
    subject: str
    kicker: str  # "Press release", above the dateline
    dateline: str
    embargo: str  # the localised "Embargo: …" line, or ""
    embargo_note: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    contact_heading: str
    contact: tuple[str, ...]
    also_available: tuple[str, str]  # the footer label around the other languages' names
    others: tuple[tuple[Language, str], ...]  # (language, own name) of the other languages
    translated_note: str  # "" in the source language
    organisation: str
    unsubscribe: tuple[str, str]  # the unsubscribe sentence around its link
    correction: str = ""  # "Correction", heading the box of a correction; "" in any other mail
    correction_text: str = ""  # the box's sentence: this version replaces the earlier one
    correction_note: str = ""  # the office's note, as given


def usable_translations(
    workspace: Workspace, release: Release, language: str
) -> dict[tuple[str | None, str], str]:
    """(msgctxt, msgid) -> translation for the entries of the .po that may be sent."""
    cfg = workspace.config
    if language == cfg.source_language:
        return {}
    return {
        (unit.context, unit.segment.text): unit.text.strip()
        for unit in release_units(workspace, release, language)
        if unit.usable(cfg.allow_fuzzy)
    }


def _place(workspace: Workspace, place: str, language: str, lookup: dict[str, str]) -> str:
    """The dateline's place in the language: from the catalog or glossary, else as is."""
    if not place or language == workspace.config.source_language:
        return place
    if place in lookup:
        return lookup[place]
    for term in load_glossary(workspace.language_dir(language) / "glossary.csv"):
        if term.source == place and term.renderings:
            return term.renderings[0]
    return place


def _dateline(workspace: Workspace, release: Release, language: str, lookup: dict) -> str:
    date = format_release_date(release.date, language)
    place = _place(workspace, release.place, language, lookup)
    return _label(language, "{place}, {date}", place=place, date=date) if place else date


def _embargo(release: Release, language: str) -> str:
    if release.embargo is None:
        return ""
    return _label(
        language, "Embargo: {datetime}", datetime=format_embargo(release.embargo, language)
    )


def content(
    workspace: Workspace,
    release: Release,
    language: str,
    available: Collection[str],
    correction: Correction | None = None,
) -> Content:
    """The release in ``language``: translations where usable, the source elsewhere.

    ``available`` names the languages the footer may point to: those the
    caller found sendable. With ``correction`` it is the mail of a correction.
    """
    cfg = workspace.config
    language = workspace.language(language)
    translate = usable_translations(workspace, release, language)
    lookup: dict[str, str] = {}
    for (_ctxt, msgid), text in translate.items():
        lookup.setdefault(msgid, text)
    parts: dict[tuple[str, int], list[str]] = {}
    for seg, ctxt in keyed_segments(release):
        text = translate.get((ctxt, seg.text), seg.text)
        parts.setdefault((seg.part, seg.number), []).append(text)
    cjk = language.is_cjk

    def joined(part: str, number: int = 0) -> str:
        return join_sentences(parts.get((part, number), []), cjk)

    title = joined("title")
    subject = _label(language, "Press release: {title}", title=title)
    if correction is not None:
        subject = _label(language, "Correction: {subject}", subject=subject)
    translated = language != cfg.source_language
    return Content(
        language=language,
        subject=" ".join(subject.split()),
        kicker=_label(language, "Press release"),
        dateline=_dateline(workspace, release, language, lookup),
        embargo=_embargo(release, language),
        embargo_note=joined("embargo"),
        title=title,
        lead=joined("lead"),
        paragraphs=tuple(joined("paragraph", n) for n in range(1, len(release.paragraphs) + 1)),
        contact_heading=_label(language, "Contact"),
        contact=tuple(joined("contact", n) for n in range(1, len(release.contact_lines) + 1)),
        also_available=_around(language, "Also available in: {languages}", "languages"),
        others=tuple(
            (code, code.own_name)
            for code in cfg.all_languages
            if code != language and code in available
        ),
        translated_note=translated_note(language, cfg.source_language) if translated else "",
        organisation=cfg.organisation,
        unsubscribe=_around(language, UNSUBSCRIBE, "url"),
        **(_correction(language, correction) if correction is not None else {}),
    )


def _correction(language: str, correction: Correction) -> dict[str, str]:
    return {
        "correction": _label(language, "Correction"),
        "correction_text": _label(
            language, "This corrected version replaces the press release we sent you earlier."
        ),
        "correction_note": correction.note,
    }
