"""Diagnostics: one problem at one place in one file, as every command reports it.

Owns the value behind check findings and list problems (path, line, level,
message, hint), the three levels, and the one way ``path:line`` is written.
It knows nothing of what was checked: ``quality.checks`` and
``audience.lists`` make diagnostics, the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ERROR = "error"  # blocks: a check fails, a row cannot be sent
WARNING = "warning"  # needs a look; does not block unless configured to
NOTE = "note"  # worth knowing


def location(path: Path | str | None, line: int | None = None) -> str:
    """``path:line``, or ``path`` without a line, or "" without a path."""
    if path is None:
        return ""
    return f"{path}:{line}" if line else str(path)


def located(message: str, path: Path | str | None, line: int | None = None) -> str:
    """``path:line: message``, the one line a person reads (the message alone without a path)."""
    where = location(path, line)
    return f"{where}: {message}" if where else message


@dataclass(frozen=True)
class Diagnostic:
    """Something wrong at a place a person can open and fix."""

    path: Path | None
    line: int | None
    level: str
    message: str
    hint: str = ""

    @property
    def location(self) -> str:
        return location(self.path, self.line)

    def __str__(self) -> str:
        return located(self.message, self.path, self.line)
