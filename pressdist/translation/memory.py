"""The translation memory: every translation the office has made, per language.

The truth is in the files: for each target language, every translated and
non-fuzzy entry of every ``.po`` in ``translations/<lang>/`` plus every unit of
every ``.tmx`` there. This module owns the index over them,
``.pressdist/memory.sqlite3``: derived, deleted and rebuilt at any time, and
brought up to date incrementally when it is opened (a file whose size or mtime
changed is hashed; only a file whose content changed is read again). Lookups
preselect candidates with SQLite FTS5 over the German source words and score
them with rapidfuzz, so a 100,000-unit memory answers in milliseconds instead
of re-reading every catalog on each ``extract``.

Importing a TMX file is planned here, every refusal before the first write,
then stored as ``translations/<lang>/<name>.tmx``. It does not write catalogs
(``catalog``), parse or lay out TMX (``tmx``) or decide which catalog entries
are translations (``units``).
"""

from __future__ import annotations

import enum
import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from pressdist.errors import InputError, PressdistError
from pressdist.files import atomic_write
from pressdist.languages import Language
from pressdist.translation import tmx
from pressdist.translation.pofile import load_catalog
from pressdist.translation.units import State, entry_state
from pressdist.version import __version__

INDEX_NAME = "memory.sqlite3"
_SCHEMA_VERSION = 7
_CANDIDATES = 150  # per query tier
_ENOUGH = 50  # candidates that end the search for more
_RARE = 4
_WORD = re.compile(r"\w{3,}", re.UNICODE)
_DATED = re.compile(r"^\d{4}-\d\d-\d\d")
# Words too common to say anything about similarity; kept out of the prefilter query.
_STOPWORDS = """
der die das den dem des ein eine einer eines einem einen und oder aber mit von zu
zur zum für auf aus bei nach über unter vor ist sind war wird werden wurde hat
haben sich nicht auch als wie noch nur schon sehr dass sie ihr ihre wir uns
"""
_STOP = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Match:
    """One memory unit offered for a segment."""

    source: str
    target: str
    score: float  # 100.0 for an exact match
    origin: str  # file name in translations/<lang>/, e.g. 2019-11-04-isa-foshan.po
    rank: str  # sorts by age: release id (dated) or TMX date

    @property
    def exact(self) -> bool:
        return self.score >= 100.0


@dataclass(frozen=True)
class Pair:
    """A source sentence and its translation, as the index stores them."""

    source: str
    target: str
    rank: str = ""  # overrides the file's rank (a TMX unit's own date)


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def similarity(a: str, b: str) -> float:
    """How alike two segments are for a translator, 0-100.

    The lower of character-level and word-level similarity (rapidfuzz's Indel
    ratio): characters alone rate two sentences that share their frame but not
    their content ("... zum Sommerfest für Kinder und Eltern ein" / "... zur
    Lesung mit Kinderbuchautorinnen ein": 78 by characters, 67 by words) too
    high; words alone punish a changed inflection as hard as a changed noun.
    """
    # start-up: rapidfuzz costs ~30 ms; only extract and memory search compare texts.
    from rapidfuzz import fuzz

    if a == b:
        return 100.0
    return min(fuzz.ratio(a, b), fuzz.ratio(_words(a), _words(b)))


def _release_of(origin: str) -> str:
    return origin[:-3] if origin.endswith(".po") else ""


class Memory:
    """The memory of one target language, over a shared index file."""

    def __init__(self, db: sqlite3.Connection, language: str, folder: Path) -> None:
        self.db = db
        self.language = language
        self.folder = folder

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Lookup ---------------------------------------------------------------
    def lookup(self, text: str, *, threshold: int = 75, exclude: str | None = None) -> Match | None:
        """The best unit for ``text``: exact first, else the most similar ≥ threshold.

        ``exclude`` is a release id whose own catalog is left out: a release
        must not be offered its own (possibly outdated) translations as if they
        were memory; updating its catalog handles those.
        """
        exact = self._exact(text, exclude)
        if exact:
            return max(exact, key=lambda m: m.rank)
        if threshold >= 100:
            return None
        near = self.similar(text, threshold=threshold, exclude=exclude, limit=1)
        return near[0] if near else None

    def _exact(self, text: str, exclude: str | None) -> list[Match]:
        rows = self.db.execute(
            "SELECT source, target, origin, rank FROM units WHERE language=? AND source=?",
            (self.language, text),
        ).fetchall()
        return [
            Match(s, t, 100.0, o, r)
            for s, t, o, r in rows
            if not exclude or _release_of(o) != exclude
        ]

    def _candidate_ids(self, text: str) -> list[int]:
        """Units sharing the most of the segment's rarest words, found by FTS5.

        A unit at least 75 % similar shares almost all words, so it contains most
        of the segment's four rarest words. Tiers ask for all four, then any
        three, then any two, and stop once enough candidates are found: the
        closest units come from the first tiers, and common words never make
        SQLite walk half the memory.
        """
        words = sorted({w.lower() for w in _WORD.findall(text)} - _STOP)
        if not words:
            return []
        marks = ",".join("?" * len(words))
        freq = dict(
            self.db.execute(
                f"SELECT term, docs FROM terms WHERE language=? AND term IN ({marks})",
                (self.language, *words),
            )
        )
        rare = sorted((w for w in words if w in freq), key=lambda w: (freq[w], w))[:_RARE]
        quoted = ['"' + w.replace('"', '""') + '"' for w in rare]
        found: dict[int, None] = {}
        for size in range(len(quoted), max(0, len(quoted) - 3), -1):
            groups = combinations(quoted, size)
            query = " OR ".join("(" + " AND ".join(g) + ")" for g in groups)
            for (rowid,) in self.db.execute(
                "SELECT rowid FROM units_fts WHERE units_fts MATCH ? LIMIT ?",
                (query, _CANDIDATES),
            ):
                found[rowid] = None
            if len(found) >= _ENOUGH or size <= 2:
                break
        return list(found)

    def similar(
        self, text: str, *, threshold: int = 75, exclude: str | None = None, limit: int = 10
    ) -> list[Match]:
        """Units whose source is at least ``threshold`` % similar, best first."""
        from rapidfuzz import fuzz, process  # start-up: as in ``similarity``

        ids = self._candidate_ids(text)
        if not ids:
            return []
        # "+language" keeps SQLite on the primary key instead of the language index.
        rows = self.db.execute(
            f"SELECT id, source FROM units WHERE id IN ({','.join(map(str, ids))}) "
            "AND +language = ?",
            (self.language,),
        ).fetchall()
        hits = process.extract(
            text, [r[1] for r in rows], scorer=fuzz.ratio, score_cutoff=threshold, limit=None
        )
        words = _words(text)
        scores = {}
        for _, score, i in hits:
            score = min(score, fuzz.ratio(words, _words(rows[i][1])))
            if score >= threshold:
                scores[rows[i][0]] = score
        if not scores:
            return []
        details = self.db.execute(
            "SELECT id, source, target, origin, rank FROM units WHERE id IN "
            f"({','.join(map(str, scores))})"
        ).fetchall()
        out: dict[tuple[str, str], Match] = {}
        for uid, source, target, origin, rank in details:
            if exclude and _release_of(origin) == exclude:
                continue
            score = 100.0 if source == text else min(float(scores[uid]), 99.9)
            m = Match(source, target, round(score, 1), origin, rank)
            key = (source, target)
            if key not in out or (m.score, m.rank) > (out[key].score, out[key].rank):
                out[key] = m
        ranked = sorted(out.values(), key=lambda m: m.source)
        return sorted(ranked, key=lambda m: (m.score, m.rank), reverse=True)[:limit]

    def concordance(self, text: str, *, limit: int = 20) -> list[Match]:
        """Units whose source or translation contains ``text``, then similar ones."""
        needle = text.strip()
        if not needle:
            return []
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            "SELECT source, target, origin, rank FROM units WHERE language=? AND "
            "(source LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\') "
            "ORDER BY rank DESC, source",
            (self.language, pattern, pattern),
        )
        # The same unit in several catalogs is shown once, from its most recent origin.
        found: dict[tuple[str, str], Match] = {}
        for s, t, o, r in rows:
            if (s, t) not in found:
                found[(s, t)] = Match(s, t, 100.0 if s == needle else 0.0, o, r)
                if len(found) >= limit:
                    break
        for m in self.similar(needle, threshold=50, limit=limit):
            if (m.source, m.target) not in found and len(found) < limit:
                found[(m.source, m.target)] = m
        return list(found.values())

    def units(self) -> Iterator[tuple[str, str, str, str]]:
        """Every unit (source, target, origin, rank), in a stable order."""
        yield from self.db.execute(
            "SELECT source, target, origin, rank FROM units WHERE language=? "
            "ORDER BY source, target, origin",
            (self.language,),
        )

    def dated_units(self) -> list[tuple[str, str, str]]:
        """(source, translation, date) of every unit, as a TMX file carries them.

        A unit's date is its release's (release ids start with it) or its TMX date.
        """
        return [(s, t, r[:10] if _DATED.match(r) else "") for s, t, _, r in self.units()]

    def stats(self) -> dict[str, int]:
        """Units per origin file."""
        return dict(
            self.db.execute(
                "SELECT origin, count(*) FROM units WHERE language=? GROUP BY origin "
                "ORDER BY origin",
                (self.language,),
            ).fetchall()
        )


# Index ----------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        version = None  # not a database (a damaged or foreign file)
    if version != _SCHEMA_VERSION:
        # Derived data: an old layout or a damaged index is simply rebuilt.
        db.close()
        _remove(path)
        db = sqlite3.connect(path, timeout=30)
    db.executescript(
        f"""
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        CREATE TABLE IF NOT EXISTS files (
            language TEXT, origin TEXT, mtime_ns INTEGER, size INTEGER, sha256 TEXT,
            PRIMARY KEY (language, origin));
        CREATE TABLE IF NOT EXISTS units (
            id INTEGER PRIMARY KEY, language TEXT, origin TEXT, rank TEXT,
            source TEXT, target TEXT);
        CREATE INDEX IF NOT EXISTS units_source ON units (language, source);
        CREATE INDEX IF NOT EXISTS units_origin ON units (language, origin);
        CREATE VIRTUAL TABLE IF NOT EXISTS units_fts USING fts5(
            source, content='units', content_rowid='id',
            tokenize="unicode61 remove_diacritics 0");
        CREATE TABLE IF NOT EXISTS terms (
            language TEXT, term TEXT, docs INTEGER, PRIMARY KEY (language, term)) WITHOUT ROWID;
        PRAGMA user_version={_SCHEMA_VERSION};
        """
    )
    return db


def _po_pairs(path: Path, language: str) -> tuple[str, list[Pair]]:
    po = load_catalog(path, language=language)
    # Only what could be sent is worth offering again: no fuzzy or obsolete entry.
    pairs = [Pair(e.msgid, e.msgstr) for e in po if entry_state(e) is State.TRANSLATED]
    # A release catalog's age is its id's date; another catalog (a compendium a
    # translator dropped in) goes by its revision date.
    rank = path.stem if _DATED.match(path.stem) else po.metadata.get("PO-Revision-Date", "")[:10]
    return rank if _DATED.match(rank) else "", pairs


def _tmx_pairs(path: Path, language: str, source_language: str) -> tuple[str, list[Pair]]:
    memory = tmx.read(path, source_language=source_language)
    pairs = [Pair(s, t, rank=date) for s, t, date in tmx.translations(memory, language)]
    return memory.date, pairs


def _store(db: sqlite3.Connection, language: str, origin: str, rank: str, units: list[Pair]):
    _forget(db, language, origin)
    db.executemany(
        "INSERT INTO units (language, origin, rank, source, target) VALUES (?,?,?,?,?)",
        [(language, origin, u.rank or rank, u.source, u.target) for u in units],
    )
    db.execute(
        "INSERT INTO units_fts (rowid, source) "
        "SELECT id, source FROM units WHERE language=? AND origin=?",
        (language, origin),
    )
    # Units per word: which words of a segment are rare, without asking FTS5 to
    # count long posting lists on every lookup.
    db.executemany(
        "INSERT INTO terms VALUES (?,?,?) "
        "ON CONFLICT (language, term) DO UPDATE SET docs = docs + excluded.docs",
        [(language, t, n) for t, n in _term_counts(u.source for u in units).items()],
    )


def _term_counts(sources: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for source in sources:
        counts.update({w.lower() for w in _WORD.findall(source)})
    return counts


def _forget(db: sqlite3.Connection, language: str, origin: str) -> None:
    rows = db.execute(
        "SELECT id, source FROM units WHERE language=? AND origin=?", (language, origin)
    ).fetchall()
    db.executemany("INSERT INTO units_fts (units_fts, rowid, source) VALUES ('delete', ?, ?)", rows)
    db.execute("DELETE FROM units WHERE language=? AND origin=?", (language, origin))
    gone = [(n, language, t) for t, n in _term_counts(r[1] for r in rows).items()]
    db.executemany("UPDATE terms SET docs = docs - ? WHERE language=? AND term=?", gone)
    db.executemany(
        "DELETE FROM terms WHERE language=? AND term=? AND docs <= 0", [g[1:] for g in gone]
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Refresh:
    """What bringing the index up to date did."""

    read: int = 0
    removed: int = 0
    unchanged: int = 0


def refresh(
    db: sqlite3.Connection, language: str, folder: Path, *, source_language: str = "de"
) -> Refresh:
    """Bring the index of one language in line with the files in ``folder``."""
    done = Refresh()
    known = {
        origin: (mtime, size, sha)
        for origin, mtime, size, sha in db.execute(
            "SELECT origin, mtime_ns, size, sha256 FROM files WHERE language=?", (language,)
        )
    }
    present = (
        sorted(p for p in folder.iterdir() if p.suffix in (".po", ".tmx") and p.is_file())
        if folder.is_dir()
        else []
    )
    names = {p.name for p in present}
    with db:
        for origin in set(known) - names:
            _forget(db, language, origin)
            db.execute("DELETE FROM files WHERE language=? AND origin=?", (language, origin))
            done.removed += 1
        for path in present:
            st = path.stat()
            before = known.get(path.name)
            if before and before[0] == st.st_mtime_ns and before[1] == st.st_size:
                done.unchanged += 1
                continue
            sha = _sha256(path)
            if before and before[2] == sha:
                db.execute(
                    "UPDATE files SET mtime_ns=?, size=? WHERE language=? AND origin=?",
                    (st.st_mtime_ns, st.st_size, language, path.name),
                )
                done.unchanged += 1
                continue
            if path.suffix == ".po":
                rank, units = _po_pairs(path, language)
            else:
                rank, units = _tmx_pairs(path, language, source_language)
            _store(db, language, path.name, rank, units)
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                (language, path.name, st.st_mtime_ns, st.st_size, sha),
            )
            done.read += 1
    return done


def open_memory(workspace, language: str) -> Memory:  # workspace: Workspace
    """The up-to-date memory of ``language`` in ``workspace``."""
    language = workspace.target_language(language)
    db = _connect(workspace.state_dir / INDEX_NAME)
    folder = workspace.language_dir(language)
    refresh(db, language, folder, source_language=workspace.config.source_language)
    return Memory(db, language, folder)


def rebuild(workspace) -> None:
    """Throw the index away; the next open builds it again from the files."""
    _remove(workspace.state_dir / INDEX_NAME)


def _remove(path: Path) -> None:
    """An SQLite file with its write-ahead log: all three go, or the log outlives its base."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# Importing a TMX file ---------------------------------------------------------


class ImportAction(enum.Enum):
    STORE = "store"  # no memory of that name yet
    REPLACE = "replace"  # a different memory of that name, replaced as --force asked
    KEEP = "keep"  # the same units are stored under that name already


@dataclass(frozen=True)
class ImportStep:
    """What importing a TMX file does in one target language."""

    language: str
    units: tuple[tuple[str, str, str], ...]  # (source, translation, date)
    path: Path  # translations/<language>/<file name>.tmx
    action: ImportAction

    @property
    def count(self) -> int:
        return len(set(self.units))


@dataclass(frozen=True)
class ImportPlan:
    """Every language's step, decided before anything is written."""

    steps: tuple[ImportStep, ...]
    skipped: int  # units of the file without a source-language variant


def _stored_units(path: Path, language: str, source_language: str) -> set | None:
    """The units of a memory stored earlier; None when there is none."""
    if not path.is_file():
        return None
    try:
        return set(tmx.translations(tmx.read(path, source_language=source_language), language))
    except PressdistError:
        return set()  # unreadable counts as different: replaced only with --force


def plan_import(
    workspace, file: Path, *, language: str | None = None, force: bool = False
) -> ImportPlan:
    """What importing ``file`` would store, for ``language`` or every target language.

    Refused, before anything is written, so that a refused import leaves
    every language's memory as it was: a language asked for that the file
    lacks, a file with none of the workspace's languages, and a different
    memory already stored under the same name (unless ``force``).
    """
    source = workspace.config.source_language
    memory = tmx.read(file, source_language=source)
    wanted = [workspace.target_language(language)] if language else workspace.config.languages
    steps = []
    for code in wanted:
        units = tmx.translations(memory, code)
        if not units:
            if language:
                raise InputError(
                    f"TMX file has no units in {Language.parse(code).bcp47}",
                    path=file,
                    hint="check the xml:lang codes, e.g. en, zh-CN",
                )
            continue
        dest = workspace.language_dir(code) / (Path(file).stem + ".tmx")
        stored = _stored_units(dest, code, source)
        if stored is None:
            action = ImportAction.STORE
        elif stored == set(units):
            action = ImportAction.KEEP
        elif force:
            action = ImportAction.REPLACE
        else:
            raise InputError(
                f"a different memory is already stored as {dest.relative_to(workspace.root)}",
                path=file,
                hint="pass --force to replace it, or rename the file to keep both",
            )
        steps.append(ImportStep(code, tuple(units), dest, action))
    if not steps:
        raise InputError(
            "TMX file has no units in any target language of this workspace",
            path=file,
            hint="languages: " + ", ".join(workspace.config.languages),
        )
    return ImportPlan(tuple(steps), memory.skipped)


def store(workspace, step: ImportStep) -> None:
    """Carry out one step of an import: write the memory file and index it now."""
    if step.action is ImportAction.KEEP:
        return
    text = tmx.dumps(
        list(step.units),
        step.language,
        source_language=workspace.config.source_language,
        tool_version=__version__,
    )
    atomic_write(step.path, text)
    open_memory(workspace, step.language).close()  # indexed now, not at the next extract
