"""Taking an imported release into the workspace: its id, its file, the overwrite rule.

Owns what ``pressdist import`` decides before it writes ``releases/<id>.md``:
the id (given, or the one the file suggests), that an existing release is
replaced only when the caller says so (``force``), that the text to be written
reads back as a release, and which other releases have the same date and
title (the same release imported twice, under another id?). A script that
imports releases gets the same rules as the command.

It does not read PDFs or the office's house style (``source.importer``) and
prints nothing: the CLI shows the warnings and the summary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.errors import InputError, PressdistError
from pressdist.files import atomic_write
from pressdist.source.importer import import_file
from pressdist.source.release import Release, dumps, load_release, loads
from pressdist.workspace import validate_release_id

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


@dataclass(frozen=True)
class Intake:
    """An imported release checked against the workspace, ready to be written."""

    release: Release  # as it reads back from ``text``
    target: Path  # releases/<id>.md
    text: str
    warnings: tuple[str, ...]  # what the importer had to guess, in reading order
    same_as: tuple[str, ...]  # ids of other releases with the same date and title


def same_release(workspace: Workspace, release: Release) -> list[str]:
    """Ids of other releases with ``release``'s date and title: the same one imported twice?"""
    title = " ".join(release.title.split()).casefold()
    found = []
    for other_id in workspace.release_ids():
        if other_id == release.id:
            continue
        try:
            other = load_release(workspace, other_id)
        except PressdistError:
            continue  # a broken release is `pressdist releases`' business, not the import's
        if other.date == release.date and " ".join(other.title.split()).casefold() == title:
            found.append(other_id)
    return found


def prepare_import(
    workspace: Workspace, file: Path, *, release_id: str | None = None, force: bool = False
) -> Intake:
    """Read ``file`` as release ``release_id`` (default: the id it suggests); write nothing.

    An existing release of that id is an InputError unless ``force``: a
    release may have been edited by hand since it was imported.
    """
    if release_id is not None:
        validate_release_id(release_id)
    imported = import_file(file)
    new_id = validate_release_id(release_id or imported.release.id)
    release = dataclasses.replace(imported.release, id=new_id)
    target = workspace.release_path(new_id)
    if target.exists() and not force:
        raise InputError(
            "release already exists",
            path=target,
            hint="pass --force to replace it, or --id to import under another id",
        )
    text = dumps(release)
    written = loads(text, new_id, path=target)  # never write what we could not read back
    return Intake(
        release=written,
        target=target,
        text=text,
        warnings=tuple(imported.warnings),
        same_as=tuple(same_release(workspace, release)),
    )


def write_import(intake: Intake) -> bool:
    """Write the release file (whole or not at all); False when it was already so."""
    return atomic_write(intake.target, intake.text)
