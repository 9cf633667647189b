"""Translation units: each segment of a release with its translation and its state.

Owns the one answer to "is this entry a usable translation?" (``state``), the
msgctxt that keeps a segment apart in its catalog (``keyed_segments``), the
units of a release in a language (``release_units``) and what ``status``
counts of them (``count``). Statistics, checks, readiness, rendering and the
memory all read translations through here, so they never disagree about an
entry. It does not write catalogs (``catalog``), read them strictly
(``pofile``) or judge translations (``quality``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polib

from pressdist.translation.pofile import load_catalog

if TYPE_CHECKING:
    from pressdist.source.release import Release, Segment
    from pressdist.workspace import Workspace

__all__ = [
    "State",
    "Stats",
    "Unit",
    "catalog_stats",
    "catalog_units",
    "count",
    "entries_by_key",
    "entry_state",
    "keyed_segments",
    "release_units",
    "state",
]


class State(enum.Enum):
    """Where a translation stands, as gettext tools show it."""

    TRANSLATED = "translated"
    FUZZY = "fuzzy"  # a translation of another (usually the previous) source text
    UNTRANSLATED = "untranslated"
    OBSOLETE = "obsolete"  # kept in the catalog for a segment the release no longer has


def state(msgstr: str, *, fuzzy: bool, obsolete: bool = False) -> State:
    """The state of a translation: the one rule every reader of catalogs applies.

    A translation of only whitespace is none (it would send an empty
    sentence); the fuzzy flag counts only on a translation (GNU tools drop it
    from an empty one). A plural entry (pressdist never writes one) has no
    single ``msgstr`` and so is never a usable translation.
    """
    if obsolete:
        return State.OBSOLETE
    if not msgstr.strip():
        return State.UNTRANSLATED
    return State.FUZZY if fuzzy else State.TRANSLATED


def entry_state(entry: polib.POEntry) -> State:
    return state(entry.msgstr, fuzzy="fuzzy" in entry.flags, obsolete=entry.obsolete)


@dataclass(frozen=True)
class Unit:
    """One segment of a release with its translation in one language."""

    segment: Segment
    context: str | None  # the entry's msgctxt (see ``keyed_segments``)
    text: str  # the translation as written in the catalog; "" when there is none
    state: State
    line: int | None  # of the entry in the .po file, for a finding's file:line
    in_catalog: bool = True  # False: the catalog lacks the segment (extract adds it)
    flags: tuple[str, ...] = ()  # the entry's flags: a check silenced there is one of them
    comment: str = ""  # the translator's comment, where GNU tools keep unknown flags

    def usable(self, allow_fuzzy: bool = False) -> bool:
        """May this translation go out in a mail (fuzzy ones only when configured)?"""
        return self.state is State.TRANSLATED or (allow_fuzzy and self.state is State.FUZZY)


def keyed_segments(release: Release) -> list[tuple[Segment, str | None]]:
    """Each segment of ``release`` with the msgctxt that keeps it apart.

    gettext keys a message by (msgctxt, msgid). A text that occurs once needs no
    context; when the same text occurs again (a repeated slogan, a contact line
    that is also a sentence), its first occurrence stays context-free, so the
    memory and other releases match it, and every later one gets its part label
    ("paragraph 4", "contact 2") as context.
    """
    out: list[tuple[Segment, str | None]] = []
    used: set[tuple[str | None, str]] = set()
    for seg in release.segments():
        ctxt: str | None = None
        if (None, seg.text) in used:
            ctxt = seg.label
            n = 2
            while (ctxt, seg.text) in used:
                ctxt = f"{seg.label}, occurrence {n}"
                n += 1
        used.add((ctxt, seg.text))
        out.append((seg, ctxt))
    return out


def entries_by_key(po: polib.POFile | None) -> dict[tuple[str | None, str], polib.POEntry]:
    """The live entries of a catalog under the key ``keyed_segments`` gives a segment."""
    if po is None:
        return {}
    return {(e.msgctxt or None, e.msgid): e for e in po if not e.obsolete}


def catalog_units(
    catalog: polib.POFile | None,
    release: Release,
    keyed: list[tuple[Segment, str | None]] | None = None,
) -> list[Unit]:
    """The units of ``release`` in ``catalog`` (None: no catalog yet), in release order.

    Matched against the release as it is now: a segment the catalog lacks is
    an untranslated unit, an entry the release no longer has is no unit.
    """
    index = entries_by_key(catalog)
    units = []
    for seg, ctxt in keyed if keyed is not None else keyed_segments(release):
        entry = index.get((ctxt, seg.text))
        if entry is None:
            units.append(Unit(seg, ctxt, "", State.UNTRANSLATED, None, in_catalog=False))
            continue
        units.append(
            Unit(
                seg,
                ctxt,
                entry.msgstr,
                entry_state(entry),
                entry.linenum,
                flags=tuple(entry.flags),
                comment=entry.tcomment or "",
            )
        )
    return units


def release_units(workspace: Workspace, release: Release, language: str) -> list[Unit]:
    """The units of ``release`` in ``language``, from ``translations/<language>/<id>.po``."""
    path = workspace.po_path(release.id, language)
    catalog = load_catalog(path, language=language) if path.is_file() else None
    return catalog_units(catalog, release)


# Statistics ------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """What status shows for one catalog: entries and source words by state."""

    translated: int = 0
    fuzzy: int = 0
    untranslated: int = 0
    translated_words: int = 0
    fuzzy_words: int = 0
    untranslated_words: int = 0
    obsolete: int = 0

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def total_words(self) -> int:
        return self.translated_words + self.fuzzy_words + self.untranslated_words

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def complete(self) -> bool:
        return self.fuzzy == 0 and self.untranslated == 0

    def to_dict(self) -> dict:
        """The counts as ``status --json`` shows them."""
        return {
            "translated": self.translated,
            "fuzzy": self.fuzzy,
            "untranslated": self.untranslated,
            "total": self.total,
            "translated_words": self.translated_words,
            "fuzzy_words": self.fuzzy_words,
            "untranslated_words": self.untranslated_words,
            "total_words": self.total_words,
            "percent": round(self.percent, 1),
            "complete": self.complete,
        }


def words(text: str) -> int:
    return len(text.split())


def count(units: Iterable[Unit], *, obsolete: int = 0) -> Stats:
    """Entries and source words of ``units`` by state (``obsolete``: entries kept besides)."""
    entries = {State.TRANSLATED: 0, State.FUZZY: 0, State.UNTRANSLATED: 0}
    source_words = dict(entries)
    for unit in units:
        # An obsolete unit never reaches here: it belongs to no segment of the release.
        entries[unit.state] += 1
        source_words[unit.state] += words(unit.segment.text)
    return Stats(
        translated=entries[State.TRANSLATED],
        fuzzy=entries[State.FUZZY],
        untranslated=entries[State.UNTRANSLATED],
        translated_words=source_words[State.TRANSLATED],
        fuzzy_words=source_words[State.FUZZY],
        untranslated_words=source_words[State.UNTRANSLATED],
        obsolete=obsolete,
    )


def catalog_stats(workspace: Workspace, release: Release, language: str) -> Stats:
    """Entries and words of ``release`` in ``language``; missing catalog = all untranslated."""
    return count(release_units(workspace, release, language))
