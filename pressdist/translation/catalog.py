"""Translation catalogs: one .po file per release and target language.

Owns what goes into ``translations/<lang>/<id>.po``: one entry per segment of
the release with its reference, part and paragraph context; updating a catalog
when the source changes (unchanged entries keep their translation, changed ones
turn fuzzy with the previous source, removed ones become obsolete); and the
statistics ``status`` shows. It does not lay out the file (``poformat``), read
it strictly (``pofile``) or look things up in the memory (``memory``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polib

from pressdist.files import atomic_write
from pressdist.languages import Language
from pressdist.translation.pofile import load_catalog

if TYPE_CHECKING:
    from pressdist.source.release import Release, Segment
    from pressdist.workspace import Workspace

__all__ = ["build_catalog", "catalog_stats", "extract", "keyed_segments", "load_catalog", "stats"]


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


# ---------------------------------------------------------------------------
# Extract and update

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


def words(text: str) -> int:
    return len(text.split())


def stats(po: polib.POFile) -> Stats:
    s = Stats()
    for entry in po:
        if entry.obsolete:
            s.obsolete += 1
        elif entry.fuzzy:
            s.fuzzy += 1
            s.fuzzy_words += words(entry.msgid)
        elif entry.translated():
            s.translated += 1
            s.translated_words += words(entry.msgid)
        else:
            s.untranslated += 1
            s.untranslated_words += words(entry.msgid)
    return s


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
    from pressdist import __version__

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


def _best_previous(text: str, candidates: list[polib.POEntry], threshold: int):
    """The old entry a changed segment most likely was (like msgmerge's fuzzy search)."""
    from pressdist.translation.memory import similarity

    best, best_score = None, float(threshold)
    for c in candidates:
        score = similarity(text, c.msgid)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = c, score
    return best


def build_catalog(
    release: Release,
    language: Language,
    old: polib.POFile | None,
    *,
    memory=None,  # pressdist.memory.Memory | None
    threshold: int = 75,
    result: ExtractResult | None = None,
    keyed: list[tuple[Segment, str | None]] | None = None,
) -> polib.POFile:
    """The catalog for ``release`` in ``language``, merged with its previous version.

    ``keyed`` saves segmenting the release again when the caller already did.
    """
    result = result or ExtractResult(release.id, language, Path())
    po = polib.POFile(wrapwidth=79)
    po.metadata = _header(release, language, old)
    default_comment = f"{language.english_name} translation of the press release {release.id}."
    po.header = old.header if old is not None and old.header else default_comment
    live: dict[tuple[str | None, str], polib.POEntry] = {}
    dead: dict[tuple[str | None, str], polib.POEntry] = {}
    if old is not None:
        for e in old:
            (dead if e.obsolete else live)[(e.msgctxt, e.msgid)] = e
    used: set[tuple[str | None, str]] = set()
    keyed = keyed if keyed is not None else keyed_segments(release)
    per_para: dict[int, int] = {}
    for seg, _ in keyed:
        if seg.part == "paragraph":
            per_para[seg.number] = per_para.get(seg.number, 0) + 1
    seen_in_para: dict[int, int] = {}
    pending: list[tuple[polib.POEntry, Segment]] = []
    source_ref = f"releases/{release.id}.md"
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
        key = (ctxt, seg.text)
        before = live.get(key) or dead.get(key)
        if before is not None:
            used.add(key)
            entry.msgstr = before.msgstr
            entry.tcomment = before.tcomment
            entry.flags = [f for f in before.flags]
            entry.previous_msgid = before.previous_msgid if before.fuzzy else None
            entry.previous_msgctxt = before.previous_msgctxt if before.fuzzy else None
            note = _memory_note(before.comment)
            if note and entry.msgstr:
                entry.comment += "\n" + note
            if entry.msgstr:
                result.kept += 1
        if not entry.msgstr:
            pending.append((entry, seg))
        po.append(entry)
    # Changed sentences: an old entry no longer used is their most likely origin.
    orphans = [
        e for k, e in {**dead, **live}.items() if k not in used and e.msgstr and not e.msgid_plural
    ]
    reused: set[int] = set()
    for entry, seg in pending:
        # An exact memory match beats a fuzzy guess; this release's own previous
        # version of a changed sentence beats a near match from elsewhere.
        match = memory.lookup(seg.text, threshold=100, exclude=release.id) if memory else None
        prev = None if match else _best_previous(seg.text, orphans, threshold)
        if prev is not None:
            entry.msgstr = prev.msgstr
            entry.tcomment = entry.tcomment or prev.tcomment
            entry.flags = ["fuzzy", *[f for f in prev.flags if f != "fuzzy"]]
            entry.previous_msgid = prev.msgid
            entry.previous_msgctxt = prev.msgctxt
            reused.add(id(prev))
            result.changed += 1
            continue
        if match is None and memory is not None:
            match = memory.lookup(seg.text, threshold=threshold, exclude=release.id)
        if match is None:
            continue
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
    for key, e in list(live.items()) + list(dead.items()):
        if key in used or id(e) in reused or not e.msgstr:
            continue
        gone = polib.POEntry(
            msgid=e.msgid,
            msgstr=e.msgstr,
            msgctxt=e.msgctxt,
            tcomment=e.tcomment,
            flags=list(e.flags),
            obsolete=True,
        )
        if not e.obsolete:
            result.obsolete += 1
        po.append(gone)
    result.stats = stats(po)
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
    memory=None,
    keyed: list[tuple[Segment, str | None]] | None = None,
) -> ExtractResult:
    """Create or update ``translations/<language>/<id>.po`` for ``release``."""
    from pressdist.translation import poformat

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


def catalog_stats(workspace: Workspace, release: Release, language: str) -> Stats:
    """Entries and words of ``release`` in ``language``; missing catalog = all untranslated."""
    path = workspace.po_path(release.id, language)
    # Count against the release as it is now: entries the catalog lacks are untranslated.
    index = entries_by_key(load_catalog(path, language=language) if path.exists() else None)
    s = Stats()
    for seg, ctxt in keyed_segments(release):
        e = index.get((ctxt, seg.text))
        n = words(seg.text)
        if e is not None and e.fuzzy and e.msgstr:
            s.fuzzy += 1
            s.fuzzy_words += n
        elif e is not None and e.translated():
            s.translated += 1
            s.translated_words += n
        else:
            s.untranslated += 1
            s.untranslated_words += n
    return s
