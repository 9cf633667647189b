"""Commands for quality: check (findings and readiness) and preview.

Library modules and Rich's renderables are imported inside the commands, so
that ``pressdist --help`` and every other command do not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pressdist.cli.shell import (
    app,
    console,
    open_workspace,
    print_json,
    say_no_releases,
    shown_path,
)

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

# Room the findings table needs besides its columns that must not wrap: the
# borders and padding of five columns plus a readable message column.
_TABLE_EXTRA = 16 + 30


@app.command()
def check(
    release_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Releases to check (default: all).", metavar="[ID]..."),
    ] = None,
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", "-l", metavar="LANG", help="Only this language (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
) -> None:
    """Check translations against the source and say which languages may be sent.

    Exits 1 when an error-level check fails or a language is not sendable.
    """
    from pressdist.quality.readiness import readiness
    from pressdist.source.release import load_release

    ws = open_workspace()
    warn_forgeable_link(ws)
    ids = release_ids or ws.release_ids()
    if not ids:
        if as_json:
            print_json({"findings": [], "readiness": []})
        say_no_releases(stderr=as_json)
        return
    wanted = [ws.language(x) for x in lang] if lang else None
    report = []
    for release_id in ids:
        ready = readiness(ws, load_release(ws, release_id))
        report += [(release_id, r) for code, r in ready.items() if not wanted or code in wanted]
    failed = any(r.failed for _id, r in report)
    if as_json:
        print_json(_as_json(report))
        raise typer.Exit(1 if failed else 0)
    out = console()
    _print_findings(out, [f for _id, r in report for f in r.findings])
    _print_verdicts(out, report)
    if failed:
        raise typer.Exit(1)


def warn_forgeable_link(ws: Workspace) -> None:
    """One warning line when the unsubscribe URL names the address unsigned (``{email}``)."""
    from rich.markup import escape

    from pressdist.diagnostics import location
    from pressdist.mail.unsubscribe import forgeable_link

    found = forgeable_link(ws)
    if found is not None and found.path is not None:
        where = location(shown_path(found.path), found.line)
        # One line however narrow the terminal, like an error: it is grepped for.
        console(stderr=True).print(
            f"[yellow]warning:[/] {escape(f'{where}: {found.message}; {found.hint}')}",
            soft_wrap=True,
        )


def _as_json(report: list) -> dict:
    return {
        "findings": [f.to_dict() for _id, r in report for f in r.findings],
        "readiness": [{"release": rid, **r.to_dict()} for rid, r in report],
    }


def _print_findings(out, findings: list) -> None:
    from rich.markup import escape
    from rich.table import Table

    from pressdist.diagnostics import ERROR

    unwrapped = sum(
        max((len(getattr(f, attr)) for f in findings), default=0)
        for attr in ("release_id", "language", "location", "check")
    )
    if findings and out.width < unwrapped + _TABLE_EXTRA:
        # Five columns do not fit a narrow terminal (Rich squeezes the release
        # and message to one letter per line or drops them): one finding per
        # line instead, compiler style, so file:line is never cut.
        for f in findings:
            style = "red" if f.level == ERROR else "yellow"
            where = f.location or f"{f.release_id} {f.language}"
            line = f"{escape(where)}: [{style}]{f.level}:[/] {escape(f.message)}"
            out.print(f"{line} [dim]\\[{f.check}][/]", soft_wrap=True)
    elif findings:
        table = Table(title="Findings", show_lines=False)
        table.add_column("release", no_wrap=True)
        table.add_column("language", no_wrap=True)
        table.add_column("file:line", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=1)
        for f in findings:
            style = "red" if f.level == ERROR else "yellow"
            table.add_row(
                f.release_id, f.language, f.location, f"[{style}]{f.check}[/]", escape(f.message)
            )
        out.print(table)
    else:
        out.print("No findings.")


def _print_verdicts(out, report: list) -> None:
    from rich.markup import escape
    from rich.text import Text

    for rid, r in report:
        if r.sendable:
            verdict = "[green]sendable[/]"
        else:
            via = f"; readers get {r.serves}" if r.serves else "; its readers get nothing"
            verdict = f"[red]not sendable[/]{escape(via)}"
        head = f"{rid} {r.language}: {verdict}"
        count = f"({r.translated}/{r.total} translated)"
        if len(Text.from_markup(f"{head} {count}")) <= out.width:
            out.print(f"{head} {count}")
        else:
            # Never broken mid-verdict: the count goes below, like the reasons.
            out.print(head, soft_wrap=True)
            out.print(f"  {count}")
        for reason in r.reasons:
            out.print(f"  - {escape(reason)}", soft_wrap=True)


@app.command()
def preview(
    release_id: Annotated[str, typer.Argument(help="The release to preview.", metavar="ID")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Folder for the preview files (default: .pressdist/preview/ID).",
        ),
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open index.html in the browser.")] = False,
) -> None:
    """Write every language's mail as .eml plus an index.html showing them side by side."""
    from rich.markup import escape

    from pressdist.files import output_folder
    from pressdist.mail.preview import write_preview
    from pressdist.source.release import load_release

    if output is not None:
        output_folder(output)  # the preview folder itself may be new, not its parent
    ws = open_workspace()
    release = load_release(ws, release_id)
    folder = output or (ws.state_dir / "preview" / release.id)
    index = write_preview(ws, release, folder)
    out = console()
    for path in sorted(index.parent.glob(f"{release.id}.*.eml")):
        out.print(f"wrote {escape(shown_path(path))}", soft_wrap=True)
    # soft_wrap: a path broken over two lines cannot be copied or clicked.
    out.print(f"wrote {escape(shown_path(index))}", soft_wrap=True)
    if open_:
        import webbrowser

        webbrowser.open(index.resolve().as_uri())
