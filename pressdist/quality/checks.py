"""Quality checks of translations against their German source.

Owns what a careful press officer would look for before sending a translation:
untranslated and fuzzy entries, numbers (compared as numbers in each locale's
convention), URLs, e-mail addresses, phone numbers and @handles, a link or
address the source does not have (a phishing link looks like any other),
balanced brackets and quotes, whitespace, final punctuation, glossary terms
and absurd lengths. The checks are one list, ``CHECKS``, in the order findings are
reported: each has a stable name, a level and a function of one ``Subject``; a
translator silences one on an entry with the flag ``#, pressdist-no-<check>``.
A finding is a ``Diagnostic`` (file, line, level, message) of a release and a
language. Matching numbers lives in ``quality.numbers``, the glossary file in
``translation.glossary``, the state of an entry in ``translation.units``; the
rule deciding which languages may be sent is ``quality.readiness``'s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.diagnostics import ERROR, WARNING, Diagnostic
from pressdist.languages import Language
from pressdist.quality.numbers import missing_numbers
from pressdist.text import EMAIL, URL, is_wide
from pressdist.translation.glossary import GlossaryTerm, check_glossary, load_glossary
from pressdist.translation.units import State, Unit, release_units

if TYPE_CHECKING:
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

__all__ = [
    "CHECKS",
    "ERROR",
    "FLAG_PREFIX",
    "WARNING",
    "Check",
    "EntryResult",
    "Finding",
    "GlossaryTerm",
    "LanguageCheck",
    "Subject",
    "by_name",
    "check_entry",
    "check_language",
    "check_release",
    "check_units",
]

FLAG_PREFIX = "pressdist-no-"


@dataclass(frozen=True)
class Finding:
    """One problem of one translation entry, where a translator finds it."""

    release_id: str
    language: str
    check: str
    diagnostic: Diagnostic  # the .po file (relative to the workspace) and the entry's line
    msgid: str = ""

    @property
    def path(self) -> Path | None:
        return self.diagnostic.path

    @property
    def line(self) -> int | None:
        return self.diagnostic.line

    @property
    def level(self) -> str:
        return self.diagnostic.level

    @property
    def message(self) -> str:
        return self.diagnostic.message

    @property
    def location(self) -> str:
        return self.diagnostic.location

    def to_dict(self) -> dict:
        """What ``check --json`` prints of it; scripts read these keys in this order."""
        return {
            "release_id": self.release_id,
            "language": self.language,
            "path": str(self.path) if self.path is not None else None,
            "line": self.line,
            "check": self.check,
            "level": self.level,
            "message": self.message,
            "msgid": self.msgid,
        }


@dataclass(frozen=True)
class Subject:
    """One translation as every check sees it."""

    source: str
    translation: str
    source_language: str
    language: str
    glossary: tuple[GlossaryTerm, ...] = ()
    label: str = ""  # the segment's part label ("paragraph 3"), for the state checks
    state: State = State.TRANSLATED
    in_catalog: bool = True


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


def check_untranslated(s: Subject) -> list[str]:
    if s.state is not State.UNTRANSLATED:
        return []
    if not s.in_catalog:
        return [f"{s.label} is missing from the catalog; run `pressdist extract`"]
    return [f"{s.label} is not translated yet"]


def check_fuzzy(s: Subject) -> list[str]:
    if s.state is not State.FUZZY:
        return []
    return [f"{s.label} is marked fuzzy: review it, then remove the flag"]


def check_numbers(s: Subject) -> list[str]:
    missing = missing_numbers(
        _strip_inline(s.source), _strip_inline(s.translation), s.source_language, s.language
    )
    return [f"number {shown} of the source is missing or changed" for shown in missing]


def check_urls(s: Subject) -> list[str]:
    return [
        f"URL {u} must appear unchanged"
        for u in _multiset_missing(_urls(s.source), _urls(s.translation))
    ]


def check_emails(s: Subject) -> list[str]:
    return [
        f"e-mail address {e} must appear unchanged"
        for e in _multiset_missing(EMAIL.findall(s.source), EMAIL.findall(s.translation))
    ]


def check_phones(s: Subject) -> list[str]:
    have = _phones(s.translation)
    want = _phones(s.source)
    out = []
    for digits in _multiset_missing(want, have):
        out.append(f"phone number {_show_phone(s.source, digits)} must keep its digits")
    return out


def _show_phone(text: str, digits: str) -> str:
    for m in _PHONE.finditer(text):
        if re.sub(r"\D", "", m.group(0)) == digits:
            return m.group(0).strip()
    return digits


def check_handles(s: Subject) -> list[str]:
    return [
        f"handle {h} must appear unchanged"
        for h in _multiset_missing(_HANDLE.findall(s.source), _HANDLE.findall(s.translation))
    ]


# A year range or an ISO date has the shape of a phone number ("2019-2020").
_DATE_LIKE = re.compile(r"^\d{4}(?:-\d{2}-\d{2}| ?[-/] ?\d{4})$")


def check_added_links(s: Subject) -> list[str]:
    """A URL, e-mail address or phone number the translation adds to its source.

    In the mail it becomes a link or a number to call that the office never
    wrote: a phishing link looks like any other. Where the translation has to
    differ (the English page of the site), the translator says so explicitly
    with the flag, on that entry.
    """
    allow = f"if it belongs there, allow it with #, {FLAG_PREFIX}added-links"
    source_urls = set(_urls(s.source))
    out = [
        f"URL {u} is not in the source; {allow}"
        for u in dict.fromkeys(_urls(s.translation))
        if u not in source_urls
    ]
    source_emails = {e.lower() for e in EMAIL.findall(s.source)}
    out += [
        f"e-mail address {e} is not in the source; {allow}"
        for e in dict.fromkeys(EMAIL.findall(_strip_urls(s.translation)))
        if e.lower() not in source_emails
    ]
    source_phones = _phones(s.source)
    for digits in dict.fromkeys(_phones(s.translation)):
        shown = _show_phone(s.translation, digits)
        if not _DATE_LIKE.match(shown) and not _known_number(digits, shown, source_phones):
            out.append(f"phone number {shown} is not in the source; {allow}")
    return out


def _strip_urls(text: str) -> str:
    return URL.sub(" ", text)


def _known_number(digits: str, shown: str, known: list[str]) -> bool:
    """The same number as one of ``known``, perhaps written with its country code
    (``+49 6131 12-2334`` for ``06131 12-2334``): a localisation, not an addition."""
    for other in known:
        if digits == other:
            return True
        national = other[1:] if other.startswith("0") else other
        international = shown.lstrip().startswith(("+", "00"))
        if international and len(national) >= 6 and digits.endswith(national):
            return True
    return False


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


def check_brackets(s: Subject) -> list[str]:
    if _bracket_problem(s.source) is None:
        problem = _bracket_problem(s.translation)
        return [f"brackets unbalanced: {problem}"] if problem else []
    # A bracket spanning two sentences: the translation must leave it as open.
    if _bracket_balance(s.source) != _bracket_balance(s.translation):
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


def check_quotes(s: Subject) -> list[str]:
    want = quote_balance(s.source, s.source_language)
    have = quote_balance(s.translation, s.language)
    if want == have:
        return []
    if want == 0:
        return ["quotation marks unbalanced: a quote is opened and not closed, or the reverse"]
    side = "opens" if want > 0 else "closes"
    return [
        f"the source {side} a quotation continued in another segment; the translation "
        "must do the same"
    ]


def check_whitespace(s: Subject) -> list[str]:
    source, translation = s.source, s.translation
    out = []
    if source[:1].isspace() != translation[:1].isspace():
        out.append("leading whitespace differs from the source")
    if source[-1:].isspace() != translation[-1:].isspace():
        out.append("trailing whitespace differs from the source")
    if "  " in translation.strip() and "  " not in source:
        out.append("doubled space")
    return out


def check_punctuation(s: Subject) -> list[str]:
    src = s.source.rstrip()
    tgt = s.translation.rstrip()
    if not src or not tgt:
        return []
    cjk = Language.parse(s.language).is_cjk
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


def check_glossary_terms(s: Subject) -> list[str]:
    return check_glossary(s.source, s.translation, list(s.glossary))


def check_length(s: Subject) -> list[str]:
    src = weighted_length(s.source.strip())
    tgt = weighted_length(s.translation.strip())
    # Short strings (a name, a postcode line) legitimately grow or shrink a lot.
    if src < 25:
        return []
    ratio = tgt / src
    if ratio < 0.35:
        return [f"translation is much shorter than the source ({ratio:.0%} of its length)"]
    if ratio > 2.5:
        return [f"translation is much longer than the source ({ratio:.0%} of its length)"]
    return []


# The list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check: a stable name, a level, and the messages it finds in a subject."""

    name: str
    level: str
    function: Callable[[Subject], list[str]]
    # False for the checks of an entry's state: they run on every entry, the
    # others only on a translation worth checking (see ``check_units``).
    reads_translation: bool = True


# Names and order are part of the interface: translators write the names in
# `#, pressdist-no-<name>` flags and scripts read them from `check --json`.
CHECKS: tuple[Check, ...] = (
    Check("untranslated", ERROR, check_untranslated, reads_translation=False),
    Check("fuzzy", ERROR, check_fuzzy, reads_translation=False),
    Check("numbers", ERROR, check_numbers),
    Check("urls", ERROR, check_urls),
    Check("emails", ERROR, check_emails),
    Check("phones", ERROR, check_phones),
    Check("handles", ERROR, check_handles),
    Check("added-links", ERROR, check_added_links),
    Check("brackets", ERROR, check_brackets),
    Check("quotes", ERROR, check_quotes),
    Check("punctuation", ERROR, check_punctuation),
    Check("whitespace", WARNING, check_whitespace),
    Check("glossary", WARNING, check_glossary_terms),
    Check("length", WARNING, check_length),
)
_BY_NAME = {c.name: c for c in CHECKS}


def by_name(name: str) -> Check:
    return _BY_NAME[name]


def _run(subject: Subject, *, skip: Iterable[str] = (), read: bool = True):
    """(check, message) of every check that finds something, in list order."""
    for check in CHECKS:
        if check.name in skip or (check.reads_translation and not read):
            continue
        for message in check.function(subject):
            yield check, message


def check_entry(
    source: str,
    translation: str,
    src_lang: str,
    tgt_lang: str,
    *,
    glossary: Iterable[GlossaryTerm] = (),
    skip: Iterable[str] = frozenset(),
) -> list[tuple[str, str]]:
    """(check, message) for every problem of one translated entry."""
    subject = Subject(source, translation, src_lang, tgt_lang, tuple(glossary))
    return [(check.name, message) for check, message in _run(subject, skip=skip)]


def _skipped(unit: Unit) -> set[str]:
    """Checks silenced on this entry: ``#, pressdist-no-X`` or ``# pressdist-no-X``.

    GNU msgcat/msgmerge drop flags they do not know, so a translator whose
    tools run them may write the same words as a translator comment instead.
    """
    words = list(unit.flags)
    words += re.split(r"[\s,]+", unit.comment)
    return {w[len(FLAG_PREFIX) :] for w in words if w.startswith(FLAG_PREFIX)}


def _shown_path(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path


@dataclass(frozen=True)
class EntryResult:
    """A unit of the release with its findings (what a preview shows beside it)."""

    unit: Unit
    findings: tuple[Finding, ...] = ()

    @property
    def translation(self) -> str:
        return self.unit.text

    @property
    def fuzzy(self) -> bool:
        return self.unit.state is State.FUZZY


def check_units(
    units: Iterable[Unit],
    release_id: str,
    language: str,
    *,
    source_language: str = "de",
    path: Path | None = None,
    glossary: Iterable[GlossaryTerm] = (),
    check_fuzzy: bool = False,
) -> list[EntryResult]:
    """Every unit with its findings.

    A fuzzy translation belongs to another source text; checking it against
    this one is noise, unless the config sends fuzzy entries (``check_fuzzy``).
    """
    terms = tuple(glossary)
    out = []
    for unit in units:
        subject = Subject(
            unit.segment.text,
            unit.text,
            source_language,
            language,
            terms,
            unit.segment.label,
            unit.state,
            unit.in_catalog,
        )
        read = unit.state is State.TRANSLATED or (check_fuzzy and unit.state is State.FUZZY)
        findings = tuple(
            Finding(
                release_id,
                language,
                check.name,
                Diagnostic(path, unit.line, check.level, message),
                unit.segment.text,
            )
            for check, message in _run(subject, skip=_skipped(unit), read=read)
        )
        out.append(EntryResult(unit, findings))
    return out


@dataclass(frozen=True)
class LanguageCheck:
    """The checks of one release in one language."""

    release_id: str
    language: str
    path: Path  # the catalog, relative to the workspace when inside it
    has_catalog: bool
    units: tuple[EntryResult, ...]

    @property
    def findings(self) -> list[Finding]:
        """Every finding; a language without a catalog has the one that says so."""
        if not self.has_catalog:
            message = "no catalog for this language yet; run `pressdist extract`"
            level = by_name("untranslated").level
            return [
                Finding(
                    self.release_id,
                    self.language,
                    "untranslated",
                    Diagnostic(self.path, None, level, message),
                )
            ]
        return [f for u in self.units for f in u.findings]


def check_language(workspace: Workspace, release: Release, language: str) -> LanguageCheck:
    """Check the catalog of ``release`` in ``language`` with the language's glossary."""
    po = workspace.po_path(release.id, language)
    shown = _shown_path(po, workspace.root)
    units = check_units(
        release_units(workspace, release, language),
        release.id,
        language,
        source_language=workspace.config.source_language,
        path=shown,
        glossary=load_glossary(workspace.language_dir(language) / "glossary.csv"),
        check_fuzzy=workspace.config.allow_fuzzy,
    )
    return LanguageCheck(release.id, language, shown, po.is_file(), tuple(units))


def check_release(
    workspace: Workspace, release: Release, only: list[str] | None = None
) -> list[Finding]:
    """Findings of every target language (or those in ``only``) of ``release``."""
    wanted = [Language.parse(x) for x in only] if only else None
    findings: list[Finding] = []
    for language in workspace.config.languages:
        if wanted is not None and language not in wanted:
            continue
        findings.extend(check_language(workspace, release, language).findings)
    return findings
