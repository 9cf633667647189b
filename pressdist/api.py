"""The library's front door: the press office's job as functions a script can call.

Owns nothing of its own. Each function is the one library call behind a
command, with the same rules and the same errors (``PressdistError``), so a
script that imports, extracts, checks, renders and sends behaves exactly like
the CLI, without its printing::

    import pressdist

    ws = pressdist.open_workspace("path/to/workspace")
    release = pressdist.import_release(ws, "pm-2019-11-04.txt").release
    pressdist.extract(ws, release.id)
    verdicts = pressdist.check(ws, release.id)
    plan = pressdist.plan_send(ws, release.id, ["presse"])
    report = pressdist.send(plan)
    pressdist.suppress(ws, "anna@example.org", reason="unsubscribed", source="phone call")

Languages may be given in any spelling (``zh-CN``, ``zh_CN``); releases by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pressdist.audience import suppression
from pressdist.audience.suppression import Suppressions
from pressdist.languages import Language
from pressdist.mail.content import Correction
from pressdist.mail.preview import write_preview
from pressdist.mail.render import RenderedMessage
from pressdist.mail.render import render as render_language
from pressdist.quality.checks import Finding, check_release
from pressdist.quality.readiness import Readiness, readiness
from pressdist.sending import delivery, privacy
from pressdist.sending import plan as planning
from pressdist.sending.gateway import Gateway
from pressdist.sending.plan import Plan
from pressdist.sending.privacy import Forgotten, Person
from pressdist.sending.report import Progress, Report
from pressdist.sending.summary import Summary, summarise
from pressdist.source.intake import Intake, prepare_import, write_import
from pressdist.source.release import Release, load_release
from pressdist.translation.catalog import ExtractResult
from pressdist.translation.catalog import extract as extract_language
from pressdist.translation.memory import open_memory
from pressdist.translation.units import Stats, catalog_stats
from pressdist.workspace import Workspace


def open_workspace(folder: Path | str | None = None) -> Workspace:
    """The workspace in ``folder``, or the one around the current directory."""
    return Workspace.open(folder) if folder is not None else Workspace.find()


def release(workspace: Workspace, release_id: str) -> Release:
    return load_release(workspace, release_id)


def import_release(
    workspace: Workspace, file: Path | str, *, release_id: str | None = None, force: bool = False
) -> Intake:
    """``pressdist import``: read the office's PDF or text and write ``releases/<id>.md``.

    The returned intake holds the warnings (what the importer had to guess)
    and the ids of releases with the same date and title.
    """
    intake = prepare_import(workspace, Path(file), release_id=release_id, force=force)
    write_import(intake)
    return intake


def _targets(workspace: Workspace, languages: Iterable[str] | None) -> list[Language]:
    if languages is None:
        return list(workspace.config.languages)
    return [workspace.target_language(code) for code in languages]


def extract(
    workspace: Workspace, release_id: str, languages: Iterable[str] | None = None
) -> list[ExtractResult]:
    """``pressdist extract``: create or update each language's .po, pre-filled from the memory."""
    source = load_release(workspace, release_id)
    results = []
    for language in _targets(workspace, languages):
        with open_memory(workspace, language) as memory:
            results.append(extract_language(workspace, source, language, memory=memory))
    return results


def status(workspace: Workspace, release_id: str) -> dict[Language, Stats]:
    """``pressdist status``: translated, fuzzy and untranslated entries per target language."""
    source = load_release(workspace, release_id)
    return {lang: catalog_stats(workspace, source, lang) for lang in workspace.config.languages}


def check(workspace: Workspace, release_id: str) -> dict[str, Readiness]:
    """``pressdist check``: per language, may it be sent, and the findings that decide it."""
    return readiness(workspace, load_release(workspace, release_id))


def findings(
    workspace: Workspace, release_id: str, languages: Iterable[str] | None = None
) -> list[Finding]:
    """Every check finding of the release's target languages (or those asked for)."""
    only = [str(code) for code in _targets(workspace, languages)]
    return check_release(workspace, load_release(workspace, release_id), only)


def render(workspace: Workspace, release_id: str, language: str) -> RenderedMessage:
    """The mail of one language, as ``send`` would build it (the footer links what is ready)."""
    source = load_release(workspace, release_id)
    sendable = [code for code, r in readiness(workspace, source).items() if r.sendable]
    return render_language(workspace, source, workspace.language(language), available=sendable)


def preview(workspace: Workspace, release_id: str, folder: Path | str) -> Path:
    """``pressdist preview``: every language's .eml and a side-by-side index.html."""
    return write_preview(workspace, load_release(workspace, release_id), Path(folder))


def plan_send(
    workspace: Workspace,
    release_id: str,
    lists: Iterable[str],
    *,
    gateway: str | Gateway | None = None,
    resend: bool = False,
    allow_fallback: bool = False,
    correction: Correction | None = None,
    retry_failed: bool = False,
) -> Plan:
    """Everything ``send`` decides before the first mail goes out; raises what it refuses.

    ``gateway`` is a ``[gateways.NAME]`` of pressdist.toml or a gateway object
    (e.g. ``pressdist.gateways.memory.MemoryGateway``). A changed release (a
    new revision) goes only to those who never got it: ``correction``
    (``pressdist.Correction(note)``) sends the others this revision as a
    correction, ``resend`` sends it to them again. ``retry_failed`` tries
    the deliveries that failed permanently again.
    """
    return planning.plan(
        workspace,
        release_id,
        list(lists),
        gateway=gateway,
        resend=resend,
        allow_fallback=allow_fallback,
        correction=correction,
        retry_failed=retry_failed,
    )


def send(plan: Plan, *, dry_run: bool = False, progress: Progress | None = None) -> Report:
    """``pressdist send``: deliver the plan; resumable, and never twice (the journal)."""
    return delivery.run(plan, dry_run=dry_run, progress=progress)


def send_test(plan: Plan, address: str) -> Report:
    """``pressdist send --to``: a test copy of every sendable language; no journal."""
    return delivery.send_test(plan, address)


def report(workspace: Workspace, release_id: str) -> Summary:
    """``pressdist report``: sent, failed and not settled per revision and language."""
    return summarise(workspace, release_id)


def forget(workspace: Workspace, address: str) -> Forgotten:
    """``pressdist recipients forget``: erase a person from every list and the journal.

    Whole or not at all: a list that cannot be rewritten is refused before
    anything changes. Run twice, the second run finds nothing left.
    """
    return privacy.forget(workspace, address)


def export_person(workspace: Workspace, address: str) -> Person:
    """``pressdist recipients export``: what the lists and the journal hold about a person."""
    return privacy.export_person(workspace, address)


def suppress(
    workspace: Workspace,
    address: str,
    *,
    list_name: str | None = None,
    reason: str = suppression.MANUAL,
    source: str,
    note: str = "",
) -> bool:
    """``pressdist suppress add``: no mail to ``address`` (of ``list_name``, or of any list).

    ``reason`` is one of ``suppression.REASONS`` (erasure is not this call's:
    it also removes the address). False when it was suppressed already.
    """
    if reason == suppression.ERASED:
        raise ValueError("erasure removes the address as well; it is not a suppression reason")
    return suppression.add(
        workspace, address, list_name=list_name, reason=reason, source=source, note=note
    )


def unsuppress(workspace: Workspace, address: str, *, reason: str, source: str) -> bool:
    """``pressdist suppress remove``: bring ``address`` back, recording why (consent, not a guess).

    False when it was not suppressed. The earlier rows stay in suppressed.csv.
    """
    return suppression.remove(workspace, address, reason=reason, source=source)


def suppressions(workspace: Workspace) -> Suppressions:
    """``pressdist suppress list``: the suppression file as read, ``lookup()`` to ask about one."""
    return suppression.load(workspace)
