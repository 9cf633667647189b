"""Readiness: which languages of a release may be sent, and who serves the rest.

Owns the one rule that ``pressdist check`` prints and ``send`` obeys, read from
``[readiness]`` and ``[fallback]`` of pressdist.toml. The findings it weighs
come from ``pressdist.checks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.quality.checks import (
    ERROR,
    EntryResult,
    Finding,
    _shown_path,
    check_segments,
    missing_catalog,
    segment_results,
)

if TYPE_CHECKING:
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace


@dataclass
class Readiness:
    """May this language of a release be sent, and if not, who serves its readers."""

    language: str
    sendable: bool
    serves: str | None
    reasons: list[str] = field(default_factory=list)
    translated: int = 0
    total: int = 0
    findings: list[Finding] = field(default_factory=list)
    # Every segment with its translation and findings (none for the source
    # language): what the rule was applied to, so a preview need not check again.
    results: list[EntryResult] = field(default_factory=list, repr=False)


def _judge(workspace: Workspace, release: Release, language: str) -> Readiness:
    cfg = workspace.config
    po = workspace.po_path(release.id, language)
    shown = _shown_path(po, workspace.root)
    if not po.is_file():
        reason = f"{shown}: no catalog yet; run `pressdist extract {release.id}`"
        finding = missing_catalog(release, language, shown)
        results = check_segments(None, release, language, path=shown)
        return Readiness(language, False, None, [reason], 0, len(results), [finding], results)
    results = segment_results(workspace, release, language)
    findings = [f for r in results for f in r.findings]
    total = len(results)
    fuzzy = [r for r in results if r.fuzzy and r.translation.strip()]
    done = [r for r in results if r.translation.strip() and (not r.fuzzy or cfg.allow_fuzzy)]
    untranslated = [r for r in results if not r.translation.strip()]
    reasons = []
    percent = 100 if not total else 100 * len(done) / total
    if percent < cfg.min_translated:
        lacking = untranslated + ([] if cfg.allow_fuzzy else fuzzy)
        where = _lines(shown, lacking)
        reasons.append(
            f"{len(done)} of {total} entries translated ({percent:.0f}%, "
            f"{cfg.min_translated}% needed): {where}; translate"
            + ("" if cfg.allow_fuzzy else " and review fuzzy")
            + " entries"
        )
    if fuzzy and not cfg.allow_fuzzy and percent >= cfg.min_translated:
        where = _lines(shown, fuzzy)
        reasons.append(f"{len(fuzzy)} fuzzy entries ({where}): review them and remove the flag")
    for f in findings:
        if f.check in ("untranslated", "fuzzy"):
            continue
        if f.level == ERROR or not cfg.allow_warnings:
            reasons.append(f"{f.location}: {f.check}: {f.message}")
    return Readiness(language, not reasons, None, reasons, len(done), total, findings, results)


def _lines(path: Path | None, results: list[EntryResult], limit: int = 5) -> str:
    """``x.po:12, :40, :77, …``: where to look, without repeating the path."""
    shown = [f":{r.line}" for r in results[:limit] if r.line]
    more = ", …" if len(results) > limit else ""
    if not shown:
        return f"{path}"
    return f"{path}{shown[0]}" + "".join(f", {s}" for s in shown[1:]) + more


def readiness(workspace: Workspace, release: Release) -> dict[str, Readiness]:
    """For every language of the workspace: may it be sent, and who serves its readers.

    The source language is always sendable. A target language is sendable when
    enough entries are translated (``[readiness] min_translated``), no fuzzy
    entry is left (unless ``allow_fuzzy``) and no error-level check fails (nor
    a warning, when ``allow_warnings`` is false). Readers of a language that is
    not sendable get the first sendable language of its fallback chain.
    """
    cfg = workspace.config
    out: dict[str, Readiness] = {
        cfg.source_language: Readiness(
            cfg.source_language,
            True,
            cfg.source_language,
            [],
            len(release.segments()),
            len(release.segments()),
        )
    }
    for language in cfg.languages:
        out[language] = _judge(workspace, release, language)
    for language, r in out.items():
        if r.sendable:
            r.serves = language
            continue
        r.serves = next(
            (c for c in cfg.fallback_chain(language) if c in out and out[c].sendable), None
        )
    return out
