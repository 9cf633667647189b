"""The `pressdist` command: a thin Typer shell over the library.

Commands live in the modules of this package, one per stage of the flow
(releases, translations, quality, lists, suppress, sending, inbox, serve); each
only parses arguments, calls the library and prints. Errors reach the user
through ``main()`` alone: one line, a hint, a non-zero exit, never a traceback.
Heavy libraries are imported inside the commands, so `pressdist --help` stays
as fast as a bare Typer app.
"""

from __future__ import annotations

import sys

from pressdist.cli.shell import app, console, report_error
from pressdist.errors import PressdistError

# Command modules register themselves on `app` when imported, in the order of
# the flow: the order `pressdist --help` lists them in.
# isort: off
from pressdist.cli import releases  # noqa: F401
from pressdist.cli import translations  # noqa: F401
from pressdist.cli import quality  # noqa: F401
from pressdist.cli import lists  # noqa: F401
from pressdist.cli import suppress  # noqa: F401
from pressdist.cli import sending  # noqa: F401
from pressdist.cli import inbox  # noqa: F401
from pressdist.cli import serve  # noqa: F401

# isort: on

__all__ = ["app", "main"]

_WORKSPACE = ("--workspace", "-w")


def workspace_first(args: list[str]) -> list[str]:
    """``args`` with ``--workspace DIR`` moved before the command, wherever it was given.

    It belongs to ``pressdist`` itself (Click parses options per command), but
    every command takes it: `pressdist releases --workspace DIR` means the same
    as `pressdist --workspace DIR releases`. Nothing after ``--`` is touched.
    """
    moved: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _WORKSPACE and i + 1 < len(args):
            moved += args[i : i + 2]
            i += 2
            continue
        if arg.startswith("--workspace="):
            moved.append(arg)
        else:
            rest.append(arg)
        i += 1
    return moved + rest


def main() -> None:
    try:
        app(args=workspace_first(sys.argv[1:]), prog_name="pressdist")
    except PressdistError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        # The journal checks itself when it is opened; damage found later, on a
        # page no check read, is still one line, not a traceback.
        if type(exc).__module__ != "sqlite3":
            raise
        report_error(
            PressdistError(
                f"the delivery journal is damaged: {exc}",
                hint="restore .pressdist/journal.sqlite3 from a backup "
                "(docs/sending.md, 'A damaged journal')",
            )
        )
        sys.exit(PressdistError.exit_code)
