"""What ``pressdist log`` reads: the journal opened for a look, and its rows for export.

Owns the rule for a release id the log is asked about (a release deleted
after it was sent still has its deliveries; a typo has neither, and "nothing
recorded" would hide the typo), the CSV form of the deliveries (cells a
spreadsheet shows as text, never runs as formulas, and a terminal showing the
file never obeys), and which recipients' mail came back (``returned``). The rows themselves are
``journal.Delivery.to_dict()``. It prints nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from pressdist.errors import PressdistError
from pressdist.secrets import redact
from pressdist.sending import journal as jr
from pressdist.sending.plan import journal_path
from pressdist.text import printable
from pressdist.workspace import validate_release_id

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def open_log(workspace: Workspace, release_id: str | None = None) -> jr.Journal | None:
    """The journal opened read-only (None: nothing sent yet), after checking ``release_id``.

    Refuses a release id that is neither a release of the workspace nor one
    the journal has a send of.
    """
    if release_id:
        validate_release_id(release_id)
    journal = jr.Journal.read_only(journal_path(workspace))
    if not release_id:
        return journal
    known = workspace.release_ids()
    if release_id in known or (journal is not None and journal.has_release(release_id)):
        return journal
    if journal is not None:
        journal.close()
    raise PressdistError(
        f"no release '{release_id}' in this workspace, and nothing sent for it",
        path=workspace.releases_dir,
        hint=("releases here: " + ", ".join(known))
        if known
        else "add one with `pressdist import FILE`",
    )


def returned(workspace: Workspace, keys: Sequence[str]) -> dict[str, jr.Delivery]:
    """Per recipient key, the latest of their deliveries that bounced or drew a complaint.

    What ``recipients check`` shows before the next send; empty when nothing
    was sent yet.
    """
    journal = jr.Journal.read_only(journal_path(workspace))
    if journal is None:
        return {}
    with journal:
        return journal.last_returned(keys)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's advice)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def deliveries_csv(rows: Iterable[Mapping[str, object]]) -> str:
    """``Delivery.to_dict()`` rows as CSV text for Excel: BOM, CRLF, header line first.

    CSV has no escapes: a control character (a server's ESC, a name's
    direction override) is written as its visible escape, and no secret at all.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(jr.LOG_FIELDS)
    for row in rows:
        cells = ("" if row[k] is None else str(row[k]) for k in jr.LOG_FIELDS)
        writer.writerow([csv_safe(printable(redact(cell))) for cell in cells])
    # The BOM makes Excel read UTF-8 (names, Chinese) instead of guessing a code page.
    return "\ufeff" + buf.getvalue()
