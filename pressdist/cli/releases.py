"""Commands for the workspace and its releases: init, import, releases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pressdist.cli import app, console, open_workspace


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path("."),
    organisation: Annotated[str, typer.Option(help="Name of the press office.")] = "",
    sender: Annotated[str, typer.Option(help="Sender address of the mails.")] = "",
) -> None:
    """Create a new, empty workspace (pressdist.toml, releases/, translations/, recipients/)."""
    from pressdist.workspace import init_workspace

    cfg = init_workspace(directory, organisation=organisation, sender=sender)
    console().print(f"Created {cfg} — edit it, then `pressdist import` a release.")
