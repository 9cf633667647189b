"""One person's data across the workspace: erasure (DSGVO Art. 17) and access (Art. 15).

Owns the order of an erasure: every list file is checked and its new bytes
prepared before anything changes, then the journal forgets the person (one
transaction, the file rebuilt), then the lists are rewritten, then the
suppression list gets a hash-only ``erased`` entry so no list brings the
person back. Run again, it finds nothing left. It also gathers what the
workspace holds about one person for an access request. The list rows are
``audience.erasure``'s business and the tables ``sending.journal``'s; this
module prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.audience import erasure, suppression
from pressdist.audience.erasure import ListChange, PersonRow
from pressdist.sending import journal as jr
from pressdist.sending.delivery import send_lock
from pressdist.sending.plan import journal_path

if TYPE_CHECKING:
    from pressdist.workspace import Workspace


@dataclass(frozen=True)
class Forgotten:
    """What ``forget`` changed: list rows taken out, journal deliveries pseudonymised."""

    hash: str  # what stands for the address in the journal and the suppression list
    lists: tuple[ListChange, ...]
    journal_rows: int

    @property
    def list_rows(self) -> int:
        return sum(len(change.rows) for change in self.lists)

    @property
    def mentions(self) -> tuple[tuple[Path, int], ...]:
        """Lines left that still name the address (rows too broken to read): fix by hand."""
        return tuple((change.path, line) for change in self.lists for line in change.mentions)

    @property
    def changed(self) -> bool:
        return bool(self.list_rows or self.journal_rows)


@dataclass(frozen=True)
class Person:
    """Everything the workspace holds about one person (an access request's answer)."""

    address: str
    hash: str
    rows: tuple[PersonRow, ...]
    deliveries: tuple[jr.Delivery, ...]
    suppression: tuple[dict[str, object], ...]  # the suppression list's entries for them

    def to_dict(self) -> dict[str, object]:
        return {
            "address": self.address,
            "hash": self.hash,
            "rows": [
                {"list": r.list_name, "path": str(r.path), "line": r.line, "cells": r.cells}
                for r in self.rows
            ],
            "deliveries": [_delivery_dict(d) for d in self.deliveries],
            "suppression": list(self.suppression),
        }


def _delivery_dict(d: jr.Delivery) -> dict[str, object]:
    keep = ("release_id", "revision", "language", "state", "list", "address", "name")
    times = ("created_at", "updated_at", "sent_at")
    return {name: getattr(d, name) for name in keep + times + ("attempts", "last_error")}


def forget(workspace: Workspace, address: str) -> Forgotten:
    """Erase one person from every list and the journal, and leave a hash-only suppression."""
    key = erasure.address_key(address)
    hashed = suppression.address_hash(key)
    # A send running now would write the address back into the journal.
    with send_lock(workspace):
        changes = erasure.plan_list_erasure(workspace, address)  # refuses before any change
        rows = 0
        path = journal_path(workspace)
        existing = jr.Journal.read_only(path)  # none yet: nothing to forget, none to create
        if existing is not None:
            existing.close()
            with jr.Journal(path) as journal:
                rows = journal.forget(key, hashed)
        erasure.apply_list_erasure(changes)
        _leave_erased_entry(workspace, address)
    return Forgotten(hashed, tuple(changes), rows)


def export_person(workspace: Workspace, address: str) -> Person:
    """What the lists, the journal and the suppression list hold about ``address``."""
    key = erasure.address_key(address)
    hashed = suppression.address_hash(erasure.address_key(address))
    deliveries: list[jr.Delivery] = []
    journal = jr.Journal.read_only(journal_path(workspace))
    if journal is not None:
        with journal:
            deliveries = journal.deliveries_of([key, hashed])
    return Person(
        address=key,
        hash=hashed,
        rows=tuple(erasure.find_rows(workspace, address)),
        deliveries=tuple(deliveries),
        suppression=_suppression_entries(workspace, address),
    )


def _leave_erased_entry(workspace: Workspace, address: str) -> None:
    """Leave a hash-only ``erased`` entry on the suppression list: no list brings them back."""
    suppression.add(
        workspace,
        address,
        list_name=None,
        reason=suppression.ERASED,
        source="recipients forget",
        keep_address=False,
    )


def _suppression_entries(workspace: Workspace, address: str) -> tuple[dict[str, object], ...]:
    """Every row the suppression list holds for ``address``, lifted ones included."""
    hashed = suppression.address_hash(address)
    return tuple(row.to_dict() for row in suppression.load(workspace).rows if row.hash == hashed)
