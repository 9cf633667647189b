"""Readiness: which languages of a release may be sent, and who serves the rest.

Owns the one rule that ``pressdist check`` prints and ``send`` obeys, read from
``[readiness]`` and ``[fallback]`` of pressdist.toml: ``judge`` applies it to
the checked units of one language, ``serving`` follows the fallback chains.
Both are pure; ``readiness`` runs the checks (``quality.checks``) and applies
them to every language of a release.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.diagnostics import ERROR, location
from pressdist.quality.checks import (
    EntryResult,
    Finding,
    LanguageCheck,
    by_name,
    check_language,
)
from pressdist.translation.units import State, Unit

if TYPE_CHECKING:
    from pressdist.source.release import Release
    from pressdist.workspace import Config, Workspace


@dataclass(frozen=True)
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

    @property
    def failed(self) -> bool:
        """What makes ``pressdist check`` exit 1: not sendable, or an error-level finding."""
        return not self.sendable or any(f.level == ERROR for f in self.findings)

    def to_dict(self) -> dict:
        """The verdict as ``check --json`` shows it (findings are listed on their own)."""
        return {
            "language": self.language,
            "sendable": self.sendable,
            "serves": self.serves,
            "translated": self.translated,
            "total": self.total,
            "reasons": self.reasons,
        }


def _lines(path: Path | None, units: list[Unit], limit: int = 5) -> str:
    """``x.po:12, :40, :77, …``: where to look, without repeating the path."""
    lines = [u.line for u in units[:limit] if u.line]
    more = ", …" if len(units) > limit else ""
    if not lines:
        return f"{path}"
    return location(path, lines[0]) + "".join(f", :{n}" for n in lines[1:]) + more


def _coverage(path: Path, units: list[Unit], config: Config) -> list[str]:
    """Reasons about how much is translated, and how much is still fuzzy."""
    total = len(units)
    fuzzy = [u for u in units if u.state is State.FUZZY]
    done = [u for u in units if u.usable(config.allow_fuzzy)]
    untranslated = [u for u in units if u.state is State.UNTRANSLATED]
    percent = 100 if not total else 100 * len(done) / total
    reasons = []
    if percent < config.min_translated:
        lacking = untranslated + ([] if config.allow_fuzzy else fuzzy)
        reasons.append(
            f"{len(done)} of {total} entries translated ({percent:.0f}%, "
            f"{config.min_translated}% needed): {_lines(path, lacking)}; translate"
            + ("" if config.allow_fuzzy else " and review fuzzy")
            + " entries"
        )
    if fuzzy and not config.allow_fuzzy and percent >= config.min_translated:
        reasons.append(
            f"{len(fuzzy)} fuzzy entries ({_lines(path, fuzzy)}): review them and remove the flag"
        )
    return reasons


def judge(checked: LanguageCheck, config: Config) -> Readiness:
    """Whether one target language may be sent, by the rule of ``config``.

    Sendable when enough entries are translated (``[readiness]
    min_translated``), no fuzzy entry is left (unless ``allow_fuzzy``) and no
    error-level check fails (nor a warning, when ``allow_warnings`` is false).
    Who serves its readers otherwise is ``serving``'s to say.
    """
    results = list(checked.units)
    findings = checked.findings
    if not checked.has_catalog:
        where = location(checked.path)
        reason = f"{where}: no catalog yet; run `pressdist extract {checked.release_id}`"
        return Readiness(
            checked.language, False, None, [reason], 0, len(results), findings, results
        )
    units = [r.unit for r in results]
    reasons = _coverage(checked.path, units, config)
    for f in findings:
        if not by_name(f.check).reads_translation:
            continue  # untranslated and fuzzy entries: weighed above, with the threshold
        if f.level == ERROR or not config.allow_warnings:
            reasons.append(f"{f.location}: {f.check}: {f.message}")
    translated = sum(u.usable(config.allow_fuzzy) for u in units)
    return Readiness(
        checked.language, not reasons, None, reasons, translated, len(units), findings, results
    )


def serving(judged: dict[str, Readiness], config: Config) -> dict[str, Readiness]:
    """Each language with who serves its readers: itself when sendable, else its
    fallback chain's first sendable language (None when there is none)."""
    out = {}
    for language, r in judged.items():
        if r.sendable:
            out[language] = replace(r, serves=language)
            continue
        chain = config.fallback_chain(language)
        serves = next((c for c in chain if c in judged and judged[c].sendable), None)
        out[language] = replace(r, serves=serves)
    return out


def readiness(workspace: Workspace, release: Release) -> dict[str, Readiness]:
    """For every language of the workspace: may it be sent, and who serves its readers.

    The source language is always sendable; each target language is judged by
    ``judge``, and readers of one that is not sendable get the first sendable
    language of its fallback chain.
    """
    cfg = workspace.config
    count = len(release.segments())
    judged = {cfg.source_language: Readiness(cfg.source_language, True, None, [], count, count)}
    for language in cfg.languages:
        judged[language] = judge(check_language(workspace, release, language), cfg)
    return serving(judged, cfg)
