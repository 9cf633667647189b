"""Commands for translators' files: extract, status and memory.

Library modules (polib, rapidfuzz and babel behind them) and Rich's renderables
are imported inside the commands, so that ``pressdist --help`` and every other
command do not pay for them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from pressdist.cli.shell import (
    NO_RELEASES,
    HelpGroup,
    app,
    console,
    counted,
    open_workspace,
    print_json,
    say_no_releases,
)
from pressdist.errors import InputError, NotReady

memory_app = typer.Typer(
    cls=HelpGroup,
    help="The translation memory: search it, import and export TMX, see what it holds.",
    no_args_is_help=True,
)
app.add_typer(memory_app, name="memory")


def _release_ids(workspace, ids: list[str] | None, all_: bool) -> list[str]:
    """The releases asked for; none named (or --all) means every release.

    Every release of an empty workspace is no release at all (the caller says
    so and exits 0); a release named but missing is an error.
    """
    known = workspace.release_ids()
    if all_ or not ids:
        return known
    for rid in ids:
        if rid not in known:
            raise InputError(
                f"no release {rid!r}",
                path=workspace.releases_dir,
                hint="known: " + ", ".join(known) if known else NO_RELEASES,
            )
    return list(ids)


def _languages(workspace, lang: str | None) -> list[str]:
    if lang is None:
        return list(workspace.config.languages)
    return [workspace.target_language(lang)]


@app.command()
def extract(
    ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ID]...", help="Release ids (default: all)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every release of the workspace.")] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", metavar="LANG", help="Only this language.")
    ] = None,
) -> None:
    """Create or update translations/<lang>/<id>.po, pre-filled from the memory."""
    from pressdist.source.release import load_release
    from pressdist.translation.catalog import extract as extract_catalog
    from pressdist.translation.memory import open_memory

    ws = open_workspace()
    out = console()
    release_ids = _release_ids(ws, ids, all_)
    if not release_ids:
        say_no_releases()
        return
    for rid in release_ids:
        release = load_release(ws, rid)
        for language in _languages(ws, lang):
            with open_memory(ws, language) as memory:
                r = extract_catalog(ws, release, language, memory=memory)
            what = "created" if r.created else ("updated" if r.written else "unchanged")
            rel = r.path.relative_to(ws.root)
            s = r.stats
            out.print(
                f"{rel}: {what} — {s.translated}/{s.total} translated, {s.fuzzy} fuzzy; "
                f"from memory: {r.memory_exact} exact, {r.memory_fuzzy} fuzzy"
                + (f"; {r.changed} changed in the source (fuzzy)" if r.changed else "")
                + (f"; {r.obsolete} obsolete" if r.obsolete else ""),
                soft_wrap=True,
                markup=False,
            )


def _bar(percent: float, width: int = 8) -> str:
    full = round(percent / 100 * width)
    return "█" * full + "░" * (width - full)


@app.command()
def status(
    ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ID]...", help="Release ids (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any translation is incomplete.")
    ] = False,
) -> None:
    """How far the translations are: release × language, entries and words."""
    from pressdist.source.release import load_release
    from pressdist.translation.units import catalog_stats

    ws = open_workspace()
    release_ids = _release_ids(ws, ids, False)
    if not release_ids:
        if as_json:
            print("[]")
        say_no_releases(stderr=as_json)
        return
    rows = []
    for rid in release_ids:
        release = load_release(ws, rid)
        for language in ws.config.languages:
            s = catalog_stats(ws, release, language)
            rows.append((rid, language, s))
    if as_json:
        data = [{"release": rid, "language": language, **s.to_dict()} for rid, language, s in rows]
        print_json(data)
    else:
        from rich import box
        from rich.table import Table

        # Release ids never wrap: a cut id cannot be copied into the next command.
        table = Table(
            title="Translation status", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
        )
        table.add_column("release", no_wrap=True)
        table.add_column("lang")
        for col in ("done", "fuzzy", "todo", "words", "%"):
            table.add_column(col, justify="right")
        table.add_column("complete")
        for rid, language, s in rows:
            colour = "green" if s.complete else ("yellow" if s.translated else "red")
            table.add_row(
                rid,
                language,
                str(s.translated),
                str(s.fuzzy),
                str(s.untranslated),
                f"{s.translated_words}/{s.total_words}",
                f"{s.percent:.0f}",
                f"[{colour}]{_bar(s.percent)}[/]",
            )
        console().print(table)
    if strict and any(not s.complete for _, _, s in rows):
        missing = [f"{rid} {lang}" for rid, lang, s in rows if not s.complete]
        raise NotReady(
            "translations incomplete: " + ", ".join(missing),
            hint="translate the entries (and clear fuzzy flags), then run `pressdist status`",
        )


@memory_app.command("import")
def memory_import(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A TMX file (1.4) with German as a variant."),
    ],
    lang: Annotated[
        str | None,
        typer.Option("--lang", "-l", metavar="LANG", help="Only this language (default: all)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a different memory stored under the same name."),
    ] = False,
) -> None:
    """Add a TMX memory: it is stored as translations/<lang>/<FILE name>.tmx and indexed."""
    from pressdist.translation.memory import ImportAction, plan_import, store

    ws = open_workspace()
    plan = plan_import(ws, file, language=lang, force=force)
    out = console()
    for step in plan.steps:
        store(ws, step)
        rel = step.path.relative_to(ws.root)
        count = counted(step.count, "unit")
        if step.action is ImportAction.KEEP:
            out.print(f"{step.language}: {rel} unchanged ({count})", markup=False)
        elif step.action is ImportAction.REPLACE:
            out.print(f"{step.language}: {rel} replaced ({count})", markup=False)
        else:
            out.print(f"{step.language}: {count} stored in {rel}", markup=False)
    if plan.skipped:
        out.print(
            f"{counted(plan.skipped, 'unit')} without a German variant "
            f"{'was' if plan.skipped == 1 else 'were'} skipped"
        )


@memory_app.command("export")
def memory_export(
    lang: Annotated[
        str, typer.Option("--lang", "-l", metavar="LANG", help="Target language to export.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="File to write (default: stdout)."),
    ] = None,
) -> None:
    """Write the memory of one language as TMX 1.4b (srclang de)."""
    from pressdist.files import atomic_write
    from pressdist.translation import tmx
    from pressdist.translation.memory import open_memory
    from pressdist.version import __version__

    ws = open_workspace()
    language = _languages(ws, lang)[0]
    with open_memory(ws, language) as m:
        units = m.dated_units()
    text = tmx.dumps(
        units, language, source_language=ws.config.source_language, tool_version=__version__
    )
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write(output, text, make_folders=False)
        console(stderr=True).print(f"{counted(len(set(units)), 'unit')} written to {output}")


@memory_app.command("search")
def memory_search(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="German (or translated) text to look for.")
    ],
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", metavar="LANG", help="Only this language.")
    ] = None,
    limit: Annotated[
        int, typer.Option(metavar="N", help="At most this many units per language.")
    ] = 20,
) -> None:
    """Concordance: units containing TEXT, or similar to it, with their translations."""
    from rich.markup import escape
    from rich.table import Table

    from pressdist.translation.memory import open_memory

    if not text.strip():
        # Empty text would match every unit: that is a mistyped command, not a search.
        raise typer.BadParameter("give the words to look for", param_hint="TEXT")
    if limit < 1:
        raise typer.BadParameter(f"must be at least 1, not {limit}", param_hint="'--limit'")
    ws = open_workspace()
    found_any = False
    for language in _languages(ws, lang):
        with open_memory(ws, language) as m:
            hits = m.concordance(text, limit=limit)
        if not hits:
            continue
        found_any = True
        table = Table(
            title=f"{language}: {len(hits)} unit{'' if len(hits) == 1 else 's'}", show_lines=True
        )
        table.add_column("source (de)", ratio=3, overflow="fold")
        table.add_column(language, ratio=3, overflow="fold")
        table.add_column("match", justify="right", no_wrap=True)
        table.add_column("from", ratio=2, overflow="fold")
        for h in hits:
            score = "contains" if h.score == 0 else f"{h.score:.0f} %"
            table.add_row(escape(h.source), escape(h.target), score, escape(h.origin))
        console().print(table)
    if not found_any:
        console().print(f"nothing in the memory contains or resembles {escape(repr(text))}")


@memory_app.command("stats")
def memory_stats() -> None:
    """Units per language and where they come from."""
    from rich.table import Table

    from pressdist.translation.memory import open_memory

    ws = open_workspace()
    table = Table(title="Translation memory")
    table.add_column("language")
    table.add_column("from")
    table.add_column("units", justify="right")
    for language in ws.config.languages:
        with open_memory(ws, language) as m:
            per_origin = m.stats()
        for origin, n in per_origin.items():
            table.add_row(language, origin, str(n))
        table.add_row(language, "[bold]total[/]", f"[bold]{sum(per_origin.values())}[/]")
    console().print(table)


@memory_app.command("rebuild")
def memory_rebuild() -> None:
    """Throw the memory index away and build it again from the files."""
    from pressdist.translation.memory import open_memory, rebuild

    ws = open_workspace()
    started = time.perf_counter()
    rebuild(ws)
    total = 0
    for language in ws.config.languages:
        with open_memory(ws, language) as m:
            total += sum(m.stats().values())
    console().print(
        f"memory index rebuilt: {counted(total, 'unit')} in {time.perf_counter() - started:.1f} s"
    )
