"""The glossary of a target language: terms whose translation is prescribed.

Owns ``translations/<lang>/glossary.csv`` (columns source, translation, note;
a header row) and the question whether a translation uses a term's required
rendering. The check that reports it is ``glossary`` in ``quality.checks``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pressdist.errors import InputError
from pressdist.files import read_text


@dataclass(frozen=True)
class GlossaryTerm:
    source: str
    translation: str  # alternatives separated by "|"
    note: str = ""
    line: int = 0

    @property
    def renderings(self) -> list[str]:
        return [t.strip() for t in self.translation.split("|") if t.strip()]


@lru_cache(maxsize=1024)  # every term is tried on every entry of a catalog
def _term_pattern(term: str) -> re.Pattern[str]:
    # German inflects: "Chinesisch-Deutsche Industriestädteallianz" must also
    # match "der Chinesisch-Deutschen Industriestädteallianz". Case matters
    # (nouns are capitalised) except for a sentence-initial first letter, and a
    # term never starts inside a word, a handle or a URL.
    words = re.split(r"(\s+|-)", term.strip())
    parts = []
    for w in words:
        if not w or w.isspace():
            parts.append(r"\s+" if w else "")
        elif w == "-":
            parts.append("-")
        else:
            parts.append(re.escape(w) + r"(?:e|en|n|s|es|er|em)?")
    body = "".join(parts)
    first = term.strip()[:1]
    if first.isalpha():
        body = (
            f"[{re.escape(first.upper())}{re.escape(first.lower())}]"
            + body[len(re.escape(first)) :]
        )
    return re.compile(r"(?<![\w@#/.])" + body)


def check_glossary(source: str, translation: str, glossary: list[GlossaryTerm]) -> list[str]:
    out = []
    folded = translation.casefold()
    for term in glossary:
        if not term.renderings or not _term_pattern(term.source).search(source):
            continue
        if not any(r.casefold() in folded for r in term.renderings):
            want = " or ".join(f"“{r}”" for r in term.renderings)
            note = f" ({term.note})" if term.note else ""
            out.append(f"glossary: '{term.source}' should be rendered as {want}{note}")
    return out


def load_glossary(path: Path) -> list[GlossaryTerm]:
    """translations/<lang>/glossary.csv: source,translation,note (a header row)."""
    if not path.is_file():
        return []
    text = read_text(path, what="glossary")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(
            f"glossary is not valid CSV: {exc}", path=path, hint="columns: source,translation,note"
        ) from None
    terms = []
    for n, row in enumerate(rows, start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if n == 1 and row[0].strip().lower() == "source":
            continue
        if len(row) < 2 or not row[0].strip():
            raise InputError(
                "glossary row needs a source term and its translation",
                path=path,
                line=n,
                hint="columns: source,translation,note",
            )
        note = row[2].strip() if len(row) > 2 else ""
        terms.append(GlossaryTerm(row[0].strip(), row[1].strip(), note, n))
    return terms
