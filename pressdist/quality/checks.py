"""Quality checks of translations against their German source, and readiness.

Owns what a careful press officer would look for before sending a translation:
untranslated and fuzzy entries, numbers (compared as numbers in each locale's
convention), URLs, e-mail addresses, phone numbers and @handles, balanced
brackets and quotes, whitespace, final punctuation, glossary terms and absurd
lengths. Each check has a stable name and a level (``CHECKS``); a translator
silences one on an entry with the flag ``#, pressdist-no-<check>``. Matching
numbers lives in ``pressdist.numbers``, the glossary file in
``pressdist.glossary``, the rule deciding which languages may be sent in
``pressdist.readiness`` (re-exported here); reading .po files is
``pressdist.catalog``'s.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.languages import Language
from pressdist.text import EMAIL, URL, is_wide
from pressdist.translation.glossary import GlossaryTerm, check_glossary, load_glossary

if TYPE_CHECKING:
    import polib

    from pressdist.source.release import Release, Segment
    from pressdist.workspace import Workspace

ERROR = "error"
WARNING = "warning"

# name -> level. Names are part of the interface: translators write them in
# `#, pressdist-no-<name>` flags and scripts read them from `check --json`.
CHECKS: dict[str, str] = {
    "untranslated": ERROR,
    "fuzzy": ERROR,
    "numbers": ERROR,
    "urls": ERROR,
    "emails": ERROR,
    "phones": ERROR,
    "handles": ERROR,
    "brackets": ERROR,
    "quotes": ERROR,
    "punctuation": ERROR,
    "whitespace": WARNING,
    "glossary": WARNING,
    "length": WARNING,
}
FLAG_PREFIX = "pressdist-no-"


@dataclass(frozen=True)
class Finding:
    """One problem of one translation entry, where a translator finds it."""

    release_id: str
    language: str
    path: Path | None  # the .po file, relative to the workspace when inside it
    line: int | None  # line of the entry in the .po file
    check: str
    level: str
    message: str
    msgid: str = ""

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path) if self.path is not None else None
        return data


# Patterns --------------------------------------------------------------------

_HANDLE = re.compile(r"(?<![\w.@/])@[A-Za-z0-9_]{2,}")
# A phone number: 8+ digits in groups (spaces, dashes, slashes), optional +.
_PHONE = re.compile(r"(?<![\w.,])\+?\(?\d[\d ()/\-\u00a0]{6,}\d(?![\w.,]\d)")
_TRAILING_PUNCT = ".,;:!?)]}'\"“”’»。，；：！？）"

_BRACKETS = {
    "(": ")",
    "[": "]",
    "{": "}",
    "（": "）",
    "【": "】",
    "《": "》",
    "〈": "〉",
    "〔": "〕",
}
_CLOSERS = {v: k for k, v in _BRACKETS.items()}
_SAME_BRACKET = {"（": "(", "）": ")", "【": "[", "】": "]", "〔": "[", "〕": "]"}

_SENTENCE_END = ".!?…"
_CJK_SENTENCE_END = "。！？…"
_CLOSING_QUOTES = "”“’」』»«)）】\"'"


def _strip_inline(text: str) -> str:
    """The text without URLs, e-mail addresses and handles (checked on their own)."""
    text = URL.sub(" ", text)
    text = EMAIL.sub(" ", text)
    return _HANDLE.sub(" ", text)


def _urls(text: str) -> list[str]:
    return [m.group(0).rstrip(_TRAILING_PUNCT) for m in URL.finditer(text)]


def _phones(text: str) -> list[str]:
    found = []
    for m in _PHONE.finditer(_strip_inline(text)):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 8 and re.search(r"\d[ /\-\u00a0]\d", m.group(0)):
            found.append(digits)
    return found


def weighted_length(text: str) -> float:
    """Length in 'Latin letters': a CJK character carries about three of them."""
    total = 0.0
    for ch in text:
        total += 3 if is_wide(ch) else 1
    return total


# Single checks: each returns messages (empty when the translation is fine) ---


def check_numbers(source: str, translation: str, src_lang: str, tgt_lang: str) -> list[str]:
    from pressdist.quality.numbers import missing_numbers

    missing = missing_numbers(_strip_inline(source), _strip_inline(translation), src_lang, tgt_lang)
    return [f"number {shown} of the source is missing or changed" for shown in missing]


def check_urls(source: str, translation: str) -> list[str]:
    return [
        f"URL {u} must appear unchanged"
        for u in _multiset_missing(_urls(source), _urls(translation))
    ]


def check_emails(source: str, translation: str) -> list[str]:
    return [
        f"e-mail address {e} must appear unchanged"
        for e in _multiset_missing(EMAIL.findall(source), EMAIL.findall(translation))
    ]


def check_phones(source: str, translation: str) -> list[str]:
    have = _phones(translation)
    want = _phones(source)
    out = []
    for digits in _multiset_missing(want, have):
        out.append(f"phone number {_show_phone(source, digits)} must keep its digits")
    return out


def _show_phone(text: str, digits: str) -> str:
    for m in _PHONE.finditer(text):
        if re.sub(r"\D", "", m.group(0)) == digits:
            return m.group(0).strip()
    return digits


def check_handles(source: str, translation: str) -> list[str]:
    return [
        f"handle {h} must appear unchanged"
        for h in _multiset_missing(_HANDLE.findall(source), _HANDLE.findall(translation))
    ]


def _multiset_missing(want: list[str], have: list[str]) -> list[str]:
    left = Counter(have)
    missing = []
    for item in want:
        if left[item] > 0:
            left[item] -= 1
        else:
            missing.append(item)
    return missing


def _bracket_problem(text: str) -> str | None:
    stack: list[str] = []
    for ch in text:
        if ch in _BRACKETS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if not stack:
                return f"'{ch}' closes nothing"
            opener = stack.pop()
            if _SAME_BRACKET.get(opener, opener) != _SAME_BRACKET.get(_CLOSERS[ch], _CLOSERS[ch]):
                return f"'{opener}' is closed by '{ch}'"
    if stack:
        return f"'{stack[-1]}' is never closed"
    return None


def _bracket_balance(text: str) -> int:
    return sum(1 for c in text if c in _BRACKETS) - sum(1 for c in text if c in _CLOSERS)


def check_brackets(source: str, translation: str) -> list[str]:
    if _bracket_problem(source) is None:
        problem = _bracket_problem(translation)
        return [f"brackets unbalanced: {problem}"] if problem else []
    # A bracket spanning two sentences: the translation must leave it as open.
    if _bracket_balance(source) != _bracket_balance(translation):
        return ["brackets do not match the source's (an opening or closing one is lost)"]
    return []


def quote_balance(text: str, language: str) -> int:
    """Opened minus closed double quotation marks, by the language's convention.

    German opens with „ and closes with “; English and Chinese open with “ and
    close with ”; Chinese may also use 「」 and 『』. A translation may change
    the style, so only the balance is compared, not the characters.
    """
    german = Language.parse(language).base == "de"
    balance = 0
    prev = " "
    for ch in text:
        if ch in "„「『":
            balance += 1
        elif ch in "”」』":
            balance -= 1
        elif ch == "“":
            balance += -1 if german else 1
        elif ch == "»":
            balance += 1 if german else -1
        elif ch == "«":
            balance += -1 if german else 1
        elif ch == '"':
            opening = prev.isspace() or prev in "([{（【-—–/"
            balance += 1 if opening else -1
        prev = ch
    return balance


def check_quotes(source: str, translation: str, src_lang: str, tgt_lang: str) -> list[str]:
    want = quote_balance(source, src_lang)
    have = quote_balance(translation, tgt_lang)
    if want == have:
        return []
    if want == 0:
        return ["quotation marks unbalanced: a quote is opened and not closed, or the reverse"]
    side = "opens" if want > 0 else "closes"
    return [
        f"the source {side} a quotation continued in another segment; the translation "
        "must do the same"
    ]


def check_whitespace(source: str, translation: str) -> list[str]:
    out = []
    if source[:1].isspace() != translation[:1].isspace():
        out.append("leading whitespace differs from the source")
    if source[-1:].isspace() != translation[-1:].isspace():
        out.append("trailing whitespace differs from the source")
    if "  " in translation.strip() and "  " not in source:
        out.append("doubled space")
    return out


def check_punctuation(source: str, translation: str, tgt_lang: str) -> list[str]:
    src = source.rstrip()
    tgt = translation.rstrip()
    if not src or not tgt:
        return []
    cjk = Language.parse(tgt_lang).is_cjk
    bare = tgt.rstrip(_CLOSING_QUOTES)
    last = bare[-1:] if bare else ""
    if cjk and tgt[-1] in ".!?,;:":
        want = {".": "。", "!": "！", "?": "？", ",": "，", ";": "；", ":": "："}[tgt[-1]]
        if not re.search(r"[A-Za-z0-9]\.$", tgt) or src[-1] in ".!?":
            return [f"a Chinese sentence ends in '{want}', not '{tgt[-1]}'"]
    src_bare = src.rstrip(_CLOSING_QUOTES)
    if src_bare[-1:] and src_bare[-1] in _SENTENCE_END:
        ends = _CJK_SENTENCE_END if cjk else _SENTENCE_END
        if last not in ends:
            shown = "。, ！ or ？" if cjk else "., ! or ?"
            return [f"the source ends a sentence; the translation should end in {shown}"]
    return []


def check_length(source: str, translation: str) -> list[str]:
    src = weighted_length(source.strip())
    tgt = weighted_length(translation.strip())
    # Short strings (a name, a postcode line) legitimately grow or shrink a lot.
    if src < 25:
        return []
    ratio = tgt / src
    if ratio < 0.35:
        return [f"translation is much shorter than the source ({ratio:.0%} of its length)"]
    if ratio > 2.5:
        return [f"translation is much longer than the source ({ratio:.0%} of its length)"]
    return []


# Running the checks ----------------------------------------------------------


def check_entry(
    source: str,
    translation: str,
    src_lang: str,
    tgt_lang: str,
    *,
    glossary: list[GlossaryTerm] = (),  # type: ignore[assignment]
    skip: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[tuple[str, str]]:
    """(check, message) for every problem of one translated entry."""
    runs = {
        "numbers": lambda: check_numbers(source, translation, src_lang, tgt_lang),
        "urls": lambda: check_urls(source, translation),
        "emails": lambda: check_emails(source, translation),
        "phones": lambda: check_phones(source, translation),
        "handles": lambda: check_handles(source, translation),
        "brackets": lambda: check_brackets(source, translation),
        "quotes": lambda: check_quotes(source, translation, src_lang, tgt_lang),
        "punctuation": lambda: check_punctuation(source, translation, tgt_lang),
        "whitespace": lambda: check_whitespace(source, translation),
        "glossary": lambda: check_glossary(source, translation, list(glossary)),
        "length": lambda: check_length(source, translation),
    }
    out = []
    for name, run in runs.items():
        if name in skip:
            continue
        out.extend((name, msg) for msg in run())
    return out


def _skipped(entry: polib.POEntry) -> set[str]:
    """Checks silenced on this entry: ``#, pressdist-no-X`` or ``# pressdist-no-X``.

    GNU msgcat/msgmerge drop flags they do not know, so a translator whose
    tools run them may write the same words as a translator comment instead.
    """
    words = list(entry.flags)
    words += re.split(r"[\s,]+", entry.tcomment or "")
    return {w[len(FLAG_PREFIX) :] for w in words if w.startswith(FLAG_PREFIX)}


def _shown_path(path: Path | None, root: Path | None) -> Path | None:
    if path is None or root is None:
        return path
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path


@dataclass
class EntryResult:
    """A release segment with its catalog entry (if any) and its findings."""

    segment: Segment
    msgctxt: str | None
    translation: str
    fuzzy: bool
    line: int | None
    findings: list[Finding] = field(default_factory=list)


def check_segments(
    catalog: polib.POFile | None,
    release: Release,
    language: str,
    *,
    source_language: str = "de",
    path: Path | None = None,
    glossary: list[GlossaryTerm] = (),  # type: ignore[assignment]
    check_fuzzy: bool = False,
) -> list[EntryResult]:
    """Every segment of ``release`` paired with its translation and findings.

    A fuzzy translation belongs to another source text; checking it against
    this one is noise, unless the config sends fuzzy entries (``check_fuzzy``).
    """
    from pressdist.translation.catalog import entries_by_key, keyed_segments

    index = entries_by_key(catalog)
    results = []
    for segment, ctxt in keyed_segments(release):
        entry = index.get((ctxt, segment.text))
        if entry is None:
            res = EntryResult(segment, ctxt, "", False, None)
            res.findings.append(
                Finding(
                    release.id,
                    language,
                    path,
                    None,
                    "untranslated",
                    CHECKS["untranslated"],
                    f"{segment.label} is missing from the catalog; run `pressdist extract`",
                    segment.text,
                )
            )
            results.append(res)
            continue
        fuzzy = "fuzzy" in entry.flags
        res = EntryResult(segment, ctxt, entry.msgstr, fuzzy, entry.linenum)
        results.append(res)
        skip = _skipped(entry)

        def add(check: str, message: str, entry=entry, res=res, segment=segment) -> None:
            res.findings.append(
                Finding(
                    release.id,
                    language,
                    path,
                    entry.linenum,
                    check,
                    CHECKS[check],
                    message,
                    segment.text,
                )
            )

        if not entry.msgstr.strip():
            if "untranslated" not in skip:
                add("untranslated", f"{segment.label} is not translated yet")
            continue
        if fuzzy and "fuzzy" not in skip:
            add("fuzzy", f"{segment.label} is marked fuzzy: review it, then remove the flag")
        if fuzzy and not check_fuzzy:
            continue
        for check, message in check_entry(
            segment.text, entry.msgstr, source_language, language, glossary=glossary, skip=skip
        ):
            add(check, message)
    return results


def _open_language(workspace: Workspace, release: Release, language: str):
    """(catalog or None, shown path, glossary) of one target language."""
    from pressdist.translation.catalog import load_catalog

    po = workspace.po_path(release.id, language)
    shown = _shown_path(po, workspace.root)
    catalog = load_catalog(po, language=language) if po.is_file() else None
    glossary = load_glossary(workspace.language_dir(language) / "glossary.csv")
    return catalog, shown, glossary


def segment_results(workspace: Workspace, release: Release, language: str) -> list[EntryResult]:
    catalog, shown, glossary = _open_language(workspace, release, language)
    return check_segments(
        catalog,
        release,
        language,
        source_language=workspace.config.source_language,
        path=shown,
        glossary=glossary,
        check_fuzzy=workspace.config.allow_fuzzy,
    )


def check_release(
    workspace: Workspace, release: Release, languages: list[str] | None = None
) -> list[Finding]:
    """Findings of every target language (or those asked for) of ``release``."""
    wanted = [Language.parse(x) for x in languages] if languages else None
    findings: list[Finding] = []
    for language in workspace.config.languages:
        if wanted is not None and language not in wanted:
            continue
        findings.extend(_language_findings(workspace, release, language))
    return findings


def missing_catalog(release: Release, language: str, shown: Path | None) -> Finding:
    """The one finding of a language that has no catalog at all."""
    return Finding(
        release.id,
        language,
        shown,
        None,
        "untranslated",
        ERROR,
        "no catalog for this language yet; run `pressdist extract`",
    )


def _language_findings(workspace: Workspace, release: Release, language: str) -> list[Finding]:
    po = workspace.po_path(release.id, language)
    if not po.is_file():
        return [missing_catalog(release, language, _shown_path(po, workspace.root))]
    return [f for r in segment_results(workspace, release, language) for f in r.findings]
