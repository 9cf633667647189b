"""pressdist: German press releases, translated with a memory, checked, and sent.

The library is usable without the CLI. ``pressdist.api`` holds the press
office's job as functions (``open_workspace``, ``import_release``,
``extract``, ``check``, ``render``, ``plan_send``, ``send``, ...); they and the
main value types are importable from here::

    import pressdist
    ws = pressdist.open_workspace()

docs/architecture.md shows the layers underneath.
"""

from __future__ import annotations

import importlib

from pressdist.version import __version__

_VALUES = {
    "Correction": "pressdist.mail.content",
    "PressdistError": "pressdist.errors",
    "Language": "pressdist.languages",
    "Release": "pressdist.source.release",
    "Segment": "pressdist.source.release",
    "Workspace": "pressdist.workspace",
}

__all__ = [  # noqa: F822 (loaded on first use by __getattr__)
    "Correction",
    "Language",
    "PressdistError",
    "Release",
    "Segment",
    "Workspace",
    "__version__",
    "check",
    "export_person",
    "extract",
    "findings",
    "forget",
    "import_release",
    "open_workspace",
    "plan_send",
    "preview",
    "release",
    "render",
    "report",
    "send",
    "send_test",
    "status",
    "suppress",
    "suppressions",
    "unsuppress",
]


# What pressdist.api provides: every public name that is no value type.
_API = set(__all__) - set(_VALUES) - {"__version__"}


def __getattr__(name: str) -> object:
    # start-up: `pressdist --help` imports this package; the library behind the
    # names (babel, polib, the engine) loads only when a script asks for one.
    if name in _API:
        return getattr(importlib.import_module("pressdist.api"), name)
    if name in _VALUES:
        return getattr(importlib.import_module(_VALUES[name]), name)
    raise AttributeError(f"module 'pressdist' has no attribute {name!r}")
