"""The shell every command shares: the Typer app, the workspace option, output helpers.

Owns what the command modules have in common: the ``app`` they register on,
``--workspace``, the consoles, and the one way an error is shown. Everything
printed passes the consoles, which show every string as ``shown`` makes it:
without the secrets this process read (``pressdist.secrets``) and with
control characters as escapes (``text.printable``), whatever a server, an
API or a list put into it; JSON goes out through ``print_json`` alike. Rich
is imported only when something is printed (start-up: `pressdist --help`
prints through Typer alone).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from pressdist.errors import PressdistError
from pressdist.version import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from pressdist.workspace import Workspace


class HelpGroup(TyperGroup):
    """A command group that, called without a command, shows its help and exits 0.

    Click's ``no_args_is_help`` exits 2 as for a usage error; but asking
    `pressdist` what it can do is no mistake.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=HelpGroup,
    name="pressdist",
    help=(
        "Press releases in several languages: extract, translate with a memory, "
        "check, preview and send.\n\n"
        "\b\nExamples:\n"
        "  pressdist import pm.txt                    # PDF text -> releases/<id>.md\n"
        "  pressdist extract --all                    # .po files for the translators\n"
        "  pressdist status                           # how far each translation is\n"
        "  pressdist check 2019-11-04-isa-foshan      # which languages may be sent\n"
        "  pressdist preview 2019-11-04-isa-foshan    # every language side by side\n"
        "  pressdist send 2019-11-04-isa-foshan --list presse --yes"
    ),
    # Plain help: Typer's Rich formatting alone costs ~180 ms at start-up, more
    # than everything else `pressdist --help` does.
    rich_markup_mode=None,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state: dict[str, Path | None] = {"workspace": None}


def _version(value: bool) -> None:
    if value:
        print(f"pressdist {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: search upward for pressdist.toml).",
            envvar="PRESSDIST_WORKSPACE",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    _state["workspace"] = workspace


def open_workspace() -> Workspace:
    """The workspace the user means: --workspace, or the one around the cwd."""
    # start-up: the workspace module (tomllib, config schema) is not needed for --help.
    from pressdist.workspace import Workspace

    given = _state["workspace"]
    return Workspace.open(given) if given else Workspace.find()


_consoles: dict[str, Console] = {}


def shown(text: str, *, lines: bool = True) -> str:
    """``text`` as it may be printed: no secret, no control character obeyed.

    ``lines`` keeps line breaks and tabs, which only lay text out.
    """
    # start-up: as for Console below (small, but --help needs neither).
    from pressdist.secrets import redact
    from pressdist.text import printable

    return printable(redact(text), lines=lines)


def console(stderr: bool = False) -> Console:
    key = "err" if stderr else "out"
    if key not in _consoles:
        # start-up: rich.console costs ~90 ms; --help prints through Typer alone.
        from rich.console import Console

        class ShownConsole(Console):
            """Every string it renders (printed, a table's cell, a title) ``shown`` first."""

            def render_str(self, text: str, **options: Any) -> Text:
                return super().render_str(shown(text), **options)

        _consoles[key] = ShownConsole(stderr=stderr, highlight=False, emoji=False)
    return _consoles[key]


def print_json(data: Any) -> None:
    """``data`` as JSON on standard output: strings redacted, no raw control character."""
    import json

    from pressdist.text import printable_json

    print(printable_json(json.dumps(_redacted(data), ensure_ascii=False, indent=2)))


def _redacted(data: Any) -> Any:
    from pressdist.secrets import redact

    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redacted(v) for v in data]
    return data


def shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it: short, and typeable."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# What every listing command says on a workspace without releases: an empty
# list is not a mistake, so it is no error either (exit 0).
NO_RELEASES = "No releases yet — `pressdist import FILE` adds one."


def counted(n: int, word: str, plural: str = "") -> str:
    """``1 unit``, ``2 units``; ``plural`` where adding an s is wrong (delivery, entry)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def say_no_releases(*, stderr: bool = False) -> None:
    """Tell the user there is nothing to list (on stderr when stdout carries JSON)."""
    console(stderr=stderr).print(NO_RELEASES, markup=False)


def warn(message: str) -> None:
    from rich.markup import escape  # start-up: as for Console above

    console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}")


def report_error(exc: PressdistError) -> None:
    from rich.markup import escape  # start-up: as for Console above

    err = console(stderr=True)
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}", soft_wrap=True)


def fitted_table(title: str, columns: list[tuple[str, bool, dict]], rows: list[list[str]]):  # type: ignore[no-untyped-def]
    """A table that fits the terminal by leaving out optional columns, never by cutting ids.

    ``columns`` are (header, required, Rich column options). Rich squeezes a
    table that is too wide until addresses and release ids end in "…" or
    stand one letter per line; rather than that, optional columns go, from
    the last one backwards, and a note says where the full record is.
    """
    # start-up: as for Console above.
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    def width(i: int) -> int:
        header, _required, options = columns[i]
        if "min_width" in options:  # a column allowed to wrap needs only this much
            return options["min_width"]
        # Cells are plain or escaped text: their length (as shown) is (at most) their width.
        return max(
            cell_len(line)
            for cell in [header, *(row[i] for row in rows)]
            for line in shown(cell).split("\n")
        )

    widths = [width(i) + 3 for i in range(len(columns))]  # + padding and separator
    keep = list(range(len(columns)))
    for i in reversed(range(len(columns))):
        if sum(widths[k] for k in keep) <= console().width:
            break
        if not columns[i][1]:
            keep.remove(i)
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for i in keep:
        table.add_column(columns[i][0], **columns[i][2])
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    left_out = [columns[i][0] for i in range(len(columns)) if i not in keep]
    return table, left_out
