"""pressdist: German press releases, translated with a memory, checked, and sent.

The library is usable without the CLI: ``Workspace.find()`` opens the workspace
around the current directory, and every command of the CLI is a call on it or on
one of the modules named in docs/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["PressdistError", "Release", "Segment", "Workspace", "__version__"]

if TYPE_CHECKING:
    from pressdist.errors import PressdistError
    from pressdist.source.release import Release, Segment
    from pressdist.workspace import Workspace


def __getattr__(name: str) -> object:
    # Lazy, so that `pressdist --help` does not pay for modules it never uses.
    if name == "Workspace":
        from pressdist.workspace import Workspace

        return Workspace
    if name in ("Release", "Segment"):
        from pressdist.source import release

        return getattr(release, name)
    if name == "PressdistError":
        from pressdist.errors import PressdistError

        return PressdistError
    raise AttributeError(name)
