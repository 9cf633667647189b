"""Commands for the suppression list: suppress add, suppress list, suppress remove.

Thin: parse the address and the reason a person gives, call
``audience.suppression``, say what changed. Library modules and Rich's parts
are imported inside the commands (start-up: `pressdist --help` imports none of
them).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from pressdist.cli.shell import (
    HelpGroup,
    app,
    console,
    fitted_table,
    open_workspace,
    print_json,
)

if TYPE_CHECKING:
    pass

suppress_app = typer.Typer(
    cls=HelpGroup,
    help="Who gets no mail: the suppression list (suppressed.csv), by hash of the address.",
    no_args_is_help=True,
)
app.add_typer(suppress_app, name="suppress")

_BY = typer.Option(
    "--by",
    metavar="NAME",
    help="Who decided, recorded as the source (default: your login name).",
)


def _person(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


@suppress_app.command("add")
def suppress_add(
    address: Annotated[str, typer.Argument(help="The address to send nothing to.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            metavar="TEXT",
            help="Why, in your words (recorded); unsubscribed, bounced or complained "
            "are recorded as that reason, anything else as manual.",
        ),
    ],
    list_: Annotated[
        str | None,
        typer.Option("--list", "-l", metavar="NAME", help="Only for this list (default: all)."),
    ] = None,
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Suppress an address: no list sends to it again until `suppress remove`."""
    from rich.markup import escape

    from pressdist.audience import suppression

    ws = open_workspace()
    kind, note = suppression.reason_of(reason)
    added = suppression.add(
        ws, address, list_name=list_, reason=kind, source=_person(by), note=note
    )
    found = suppression.load(ws).lookup(address, list_)
    if added or found is None:  # None: brought back by someone else meanwhile
        where = suppression.scope_words(list_)
        console().print(escape(f"Suppressed {address.strip()} for {where} ({kind})."))
    else:
        console().print(
            escape(
                f"{address.strip()} is already suppressed for {found.scope_words} "
                f"({found.reason} since {found.when:%Y-%m-%d}); nothing changed."
            )
        )


@suppress_app.command("remove")
def suppress_remove(
    address: Annotated[str, typer.Argument(help="The address to bring back.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            metavar="TEXT",
            help="How they consented again, and when (recorded; required).",
        ),
    ],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Bring an address back to every list; the earlier record and this reason stay."""
    from rich.markup import escape

    from pressdist.audience import suppression

    ws = open_workspace()
    if suppression.remove(ws, address, reason=reason, source=_person(by)):
        console().print(escape(f"{address.strip()} gets mail again; the reason is recorded."))
    else:
        console().print(escape(f"{address.strip()} is not suppressed; nothing changed."))


@suppress_app.command("list")
def suppress_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on standard output.")] = False,
    history: Annotated[
        bool, typer.Option("--all", help="Every row, brought-back ones and their reasons too.")
    ] = False,
) -> None:
    """Who is suppressed, for which lists, why, since when, and on whose word."""
    from rich.markup import escape

    from pressdist.audience import suppression

    ws = open_workspace()
    held = suppression.load(ws)
    rows = list(held.rows) if history else held.active()
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        console().print("Nobody is suppressed.")
        return
    table, left_out = fitted_table(
        f"Suppressed ({escape(suppression.FILE_NAME)})",
        [
            ("Address", True, {"no_wrap": True}),
            ("Lists", True, {"no_wrap": True}),
            ("Reason", True, {"no_wrap": True}),
            ("Since (UTC)", True, {"no_wrap": True}),
            ("Source", False, {"overflow": "fold"}),
            ("Note", False, {"overflow": "fold", "min_width": 12}),
        ],
        [
            [
                escape(r.address or f"(erased) {r.hash[:12]}…"),
                "all" if r.scope == suppression.ALL_LISTS else escape(r.scope),
                r.reason,
                f"{r.when:%Y-%m-%d %H:%M}",
                escape(r.source),
                escape(r.note),
            ]
            for r in rows
        ],
    )
    table.caption = f"{len(held)} addresses suppressed"
    console().print(table)
    if left_out:
        console().print(f"[dim]Left out to fit the terminal: {', '.join(left_out)} (--json).[/]")
