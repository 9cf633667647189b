"""Translation catalogs: one .po file per release and target language.

Owns what goes into ``translations/<lang>/<id>.po``: one entry per segment of
the release with its reference, part and paragraph context; updating a catalog
when the source changes (unchanged entries keep their translation, changed ones
turn fuzzy with the previous source, removed ones become obsolete) and
pre-filling new entries from the memory. It does not lay out the file
(``poformat``), read it strictly (``pofile``), search the memory (``memory``)
or say what an entry's state is (``units``, which also counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polib

from pressdist.files import atomic_write
from pressdist.languages import Language
from pressdist.translation import poformat
from pressdist.translation.memory import Match, Memory, similarity
from pressdist.translation.pofile import load_catalog
from pressdist.translation.units import Stats, catalog_units, count, keyed_segments
from pressdist.version import __version__

if TYPE_CHECKING:
    from pressdist.source.release import Release, Segment
    from pressdist.workspace import Workspace

__all__ = ["ExtractResult", "build_catalog", "extract"]

Key = tuple[str | None, str]  # (msgctxt, msgid): how gettext tells entries apart

GENERATOR = "pressdist"
_KEPT_HEADERS = ("PO-Revision-Date", "Last-Translator", "Language-Team")
_STANDARD_HEADERS = (
    "Project-Id-Version",
    "POT-Creation-Date",
    "PO-Revision-Date",
    "Last-Translator",
    "Language-Team",
    "Language",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Plural-Forms",
    "X-Generator",
)


@dataclass
class ExtractResult:
    """What one extract did to one catalog."""

    release_id: str
    language: str
    path: Path
    written: bool = False
    created: bool = False
    kept: int = 0
    changed: int = 0  # old translation kept, marked fuzzy
    obsolete: int = 0
    memory_exact: int = 0
    memory_fuzzy: int = 0
    stats: Stats = field(default_factory=Stats)


def _part_comment(seg: Segment, index: int, count: int) -> str:
    """The `#.` note: which part of the release, and the paragraph around a sentence."""
    if seg.part == "contact":
        return f"contact, line {seg.number}"
    if seg.part != "paragraph":
        return seg.part
    note = f"paragraph {seg.number}, sentence {index} of {count}"
    if count > 1:
        note += f"\nparagraph {seg.number}: {seg.paragraph}"
    return note


def _header(release: Release, language: Language, old: polib.POFile | None) -> dict[str, str]:
    created = f"{release.date.isoformat()} 00:00+0000"
    meta = {
        "Project-Id-Version": release.id,
        "POT-Creation-Date": created,
        "PO-Revision-Date": created,
        "Last-Translator": "",
        "Language-Team": language.english_name,
        "Language": language.code,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": language.plural_forms,
        "X-Generator": f"{GENERATOR} {__version__}",
    }
    if old is not None:
        for key in _KEPT_HEADERS:
            if old.metadata.get(key, "").strip():
                meta[key] = old.metadata[key]
        # A translator's tool may add its own fields (X-Poedit-*); keep them.
        for key, value in old.metadata.items():
            if key not in meta and key not in _STANDARD_HEADERS:
                meta[key] = value
    return meta


def _new_catalog(release: Release, language: Language, old: polib.POFile | None) -> polib.POFile:
    """An empty catalog with the header of ``old`` carried over, or a fresh one."""
    po = polib.POFile(wrapwidth=79)
    po.metadata = _header(release, language, old)
    default_comment = f"{language.english_name} translation of the press release {release.id}."
    po.header = old.header if old is not None and old.header else default_comment
    return po


def _fresh_entries(
    release: Release, keyed: list[tuple[Segment, str | None]]
) -> list[tuple[polib.POEntry, Segment]]:
    """One untranslated entry per segment, with its reference and part comment."""
    per_para: dict[int, int] = {}
    for seg, _ in keyed:
        if seg.part == "paragraph":
            per_para[seg.number] = per_para.get(seg.number, 0) + 1
    seen_in_para: dict[int, int] = {}
    source_ref = f"releases/{release.id}.md"
    out = []
    for seg, ctxt in keyed:
        index = 0
        if seg.part == "paragraph":
            seen_in_para[seg.number] = index = seen_in_para.get(seg.number, 0) + 1
        entry = polib.POEntry(
            msgid=seg.text,
            msgstr="",
            msgctxt=ctxt,
            comment=_part_comment(seg, index, per_para.get(seg.number, 1)),
            occurrences=[(source_ref, str(seg.line))],
        )
        out.append((entry, seg))
    return out


def _carry_over(entry: polib.POEntry, before: polib.POEntry) -> None:
    """The same segment's entry of the previous catalog: its translation stays."""
    entry.msgstr = before.msgstr
    entry.tcomment = before.tcomment
    entry.flags = [f for f in before.flags]
    entry.previous_msgid = before.previous_msgid if before.fuzzy else None
    entry.previous_msgctxt = before.previous_msgctxt if before.fuzzy else None
    note = _memory_note(before.comment)
    if note and entry.msgstr:
        entry.comment += "\n" + note


def _from_previous(entry: polib.POEntry, prev: polib.POEntry) -> None:
    """A changed segment takes the translation of what it was, marked fuzzy."""
    entry.msgstr = prev.msgstr
    entry.tcomment = entry.tcomment or prev.tcomment
    entry.flags = ["fuzzy", *[f for f in prev.flags if f != "fuzzy"]]
    entry.previous_msgid = prev.msgid
    entry.previous_msgctxt = prev.msgctxt


def _from_memory(entry: polib.POEntry, match: Match, result: ExtractResult) -> None:
    """A memory match pre-fills the entry; only an exact one counts as translated."""
    entry.msgstr = match.target
    if match.exact:
        entry.flags = [f for f in entry.flags if f != "fuzzy"]
        entry.comment += f"\nmemory: exact match from {match.origin}"
        result.memory_exact += 1
    else:
        entry.flags = ["fuzzy", *[f for f in entry.flags if f != "fuzzy"]]
        entry.previous_msgid = match.source
        entry.comment += f"\nmemory: {match.score:.0f}% match from {match.origin}"
        result.memory_fuzzy += 1


def _best_previous(text: str, candidates: list[polib.POEntry], threshold: int):
    """The old entry a changed segment most likely was (like msgmerge's fuzzy search)."""
    best, best_score = None, float(threshold)
    for c in candidates:
        score = similarity(text, c.msgid)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = c, score
    return best


def _fill_pending(
    pending: list[tuple[polib.POEntry, Segment]],
    orphans: list[polib.POEntry],
    release_id: str,
    memory: Memory | None,
    threshold: int,
    result: ExtractResult,
) -> set[int]:
    """Pre-fill the entries without a translation; the ids of the old entries reused."""
    reused: set[int] = set()
    for entry, seg in pending:
        # An exact memory match beats a fuzzy guess; this release's own previous
        # version of a changed sentence beats a near match from elsewhere.
        match = memory.lookup(seg.text, threshold=100, exclude=release_id) if memory else None
        prev = None if match else _best_previous(seg.text, orphans, threshold)
        if prev is not None:
            _from_previous(entry, prev)
            reused.add(id(prev))
            result.changed += 1
            continue
        if match is None and memory is not None:
            match = memory.lookup(seg.text, threshold=threshold, exclude=release_id)
        if match is not None:
            _from_memory(entry, match, result)
    return reused


def _obsolete_entries(gone: list[polib.POEntry], result: ExtractResult) -> list[polib.POEntry]:
    """The old translations of segments the release no longer has, kept as ``#~``."""
    out = []
    for e in gone:
        out.append(
            polib.POEntry(
                msgid=e.msgid,
                msgstr=e.msgstr,
                msgctxt=e.msgctxt,
                tcomment=e.tcomment,
                flags=list(e.flags),
                obsolete=True,
            )
        )
        if not e.obsolete:
            result.obsolete += 1
    return out


def build_catalog(
    release: Release,
    language: Language,
    old: polib.POFile | None,
    *,
    memory: Memory | None = None,
    threshold: int = 75,
    result: ExtractResult | None = None,
    keyed: list[tuple[Segment, str | None]] | None = None,
) -> polib.POFile:
    """The catalog for ``release`` in ``language``, merged with its previous version.

    ``keyed`` saves segmenting the release again when the caller already did.
    """
    result = result or ExtractResult(release.id, language, Path())
    keyed = keyed if keyed is not None else keyed_segments(release)
    po = _new_catalog(release, language, old)
    live: dict[Key, polib.POEntry] = {}
    dead: dict[Key, polib.POEntry] = {}
    for e in old if old is not None else []:
        (dead if e.obsolete else live)[(e.msgctxt, e.msgid)] = e
    used: set[Key] = set()
    pending: list[tuple[polib.POEntry, Segment]] = []
    for entry, seg in _fresh_entries(release, keyed):
        key = (entry.msgctxt, entry.msgid)
        before = live.get(key) or dead.get(key)
        if before is not None:
            used.add(key)
            _carry_over(entry, before)
            if entry.msgstr:
                result.kept += 1
        if not entry.msgstr:
            pending.append((entry, seg))
        po.append(entry)
    # Changed sentences: an old entry no longer used is their most likely origin.
    orphans = [
        e for k, e in {**dead, **live}.items() if k not in used and e.msgstr and not e.msgid_plural
    ]
    reused = _fill_pending(pending, orphans, release.id, memory, threshold, result)
    gone = [
        e
        for k, e in list(live.items()) + list(dead.items())
        if k not in used and id(e) not in reused and e.msgstr
    ]
    for entry in _obsolete_entries(gone, result):
        po.append(entry)
    result.stats = count(catalog_units(po, release, keyed), obsolete=sum(e.obsolete for e in po))
    return po


def _memory_note(comment: str) -> str:
    """Keep the 'where this came from' note across re-extracts."""
    for line in comment.split("\n"):
        if line.startswith("memory: "):
            return line
    return ""


def extract(
    workspace: Workspace,
    release: Release,
    language: str,
    *,
    memory: Memory | None = None,
    keyed: list[tuple[Segment, str | None]] | None = None,
) -> ExtractResult:
    """Create or update ``translations/<language>/<id>.po`` for ``release``."""
    language = Language.parse(language)
    path = workspace.po_path(release.id, language)
    result = ExtractResult(release.id, language, path)
    old = load_catalog(path, language=language) if path.exists() else None
    result.created = old is None
    po = build_catalog(
        release,
        language,
        old,
        memory=memory,
        threshold=workspace.config.memory_threshold,
        result=result,
        keyed=keyed,
    )
    result.written = atomic_write(path, poformat.dumps(po))
    return result
