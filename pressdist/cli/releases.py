"""Commands for the workspace and its releases: init, import, releases.

Thin: parse arguments, call ``workspace`` and ``source``, print with Rich.
Library modules and Rich are imported inside the commands (start-up:
`pressdist --help` imports none of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pressdist.cli.shell import (
    app,
    console,
    open_workspace,
    say_no_releases,
    shown,
    shown_path,
    warn,
)


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(metavar="[DIR]", help="Folder for the new workspace.")
    ] = Path("."),
    organisation: Annotated[
        str, typer.Option(metavar="NAME", help="Name of the press office, shown in From.")
    ] = "",
    sender: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address the mails come from.")
    ] = "",
) -> None:
    """Create a new, empty workspace (pressdist.toml, releases/, translations/, recipients/)."""
    from pressdist.workspace import init_workspace

    cfg = init_workspace(directory, organisation=organisation, sender=sender)
    console().print(f"Created {cfg} — edit it, then `pressdist import` a release.")


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The release as text (.txt, UTF-8) or .pdf.")
    ],
    release_id: Annotated[
        str | None,
        typer.Option(
            "--id", metavar="ID", help="Release id (default: from the file name, or date + title)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing release.")] = False,
) -> None:
    """Turn a release as it comes out of a PDF into releases/<id>.md."""
    from rich.markup import escape

    from pressdist.source.intake import prepare_import, write_import
    from pressdist.workspace import validate_release_id

    if release_id is not None:
        validate_release_id(release_id)  # a bad id is named before the workspace is looked for
    workspace = open_workspace()
    intake = prepare_import(workspace, file, release_id=release_id, force=force)
    for message in intake.warnings:
        warn(message)
    for other in intake.same_as:
        warn(
            f"{shown_path(workspace.release_path(other))} has the same date and title: "
            f"is this the same release again? To update that one instead: "
            f"pressdist import {file} --id {other} --force"
        )
    write_import(intake)
    written = intake.release
    count = len(intake.warnings)
    console().print(
        f"Imported {escape(file.name)} → {escape(shown_path(intake.target))}: "
        f"{len(written.paragraphs)} paragraphs, {len(written.segments())} segments, "
        f"{len(written.contact_lines)} contact lines"
        + (
            f", [yellow]{count} warning{'s' if count > 1 else ''} — check the file[/]"
            if count
            else ""
        ),  # fmt: skip
        soft_wrap=True,  # the new file's path stays one copyable piece
    )


@app.command("releases")
def releases_() -> None:
    """List the releases of the workspace: date, id, title and languages."""
    from rich.table import Table
    from rich.text import Text

    from pressdist.errors import PressdistError
    from pressdist.source.release import load_release

    workspace = open_workspace()
    table = Table(box=None, header_style="bold")
    table.add_column("date", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("title", ratio=1, overflow="fold")
    table.add_column("languages", min_width=6)
    longest_word = 0
    failed: list[PressdistError] = []
    for release_id in workspace.release_ids():
        try:
            release = load_release(workspace, release_id)
        except PressdistError as exc:
            failed.append(exc)
            continue
        present = [
            lang
            for lang in workspace.config.languages
            if workspace.po_path(release_id, lang).is_file()
        ]
        languages = ", ".join([workspace.config.source_language, *present])
        title = Text(shown(release.title, lines=False))  # a Text: a title is no markup
        table.add_row(release.date.isoformat(), release_id, title, languages)
        longest_word = max([longest_word, *map(len, release.title.split())])
    # Titles wrap between words, never inside one ("Industriestädteallian / z"):
    # in a narrow terminal the language list wraps first.
    table.columns[2].min_width = longest_word
    if table.row_count:
        console().print(table)
    elif not failed:
        say_no_releases()
    for exc in failed:
        warn(str(exc))
    if failed:
        raise typer.Exit(failed[0].exit_code)
