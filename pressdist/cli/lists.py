"""Commands for distribution lists: recipients check, show, forget, export.

Thin: open the lists through ``audience.lists``, print what it found, row by
row with file:line, and mark the rows the suppression list holds back.
Library modules and Rich's parts are imported inside the commands (start-up:
`pressdist --help` imports none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pressdist.cli.shell import (
    HelpGroup,
    app,
    console,
    counted,
    fitted_table,
    open_workspace,
    print_json,
    shown_path,
)
from pressdist.diagnostics import NOTE, location

if TYPE_CHECKING:
    from pressdist.audience.lists import Recipient
    from pressdist.audience.suppression import Suppression
    from pressdist.diagnostics import Diagnostic
    from pressdist.workspace import Workspace

recipients_app = typer.Typer(
    cls=HelpGroup,
    help="Check and show distribution lists (recipients/<list>.csv); forget or export a person.",
    no_args_is_help=True,
)
app.add_typer(recipients_app, name="recipients")

_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


def print_problems(problems: list[Diagnostic], *, limit_notes: int = 20) -> None:
    from rich.markup import escape

    err = console(stderr=True)
    notes = 0
    for p in problems:
        if p.level == NOTE:
            notes += 1
            if notes > limit_notes:
                continue
        where = f"{escape(location(shown_path(p.path), p.line))}: " if p.path else ""
        err.print(
            f"{where}[{_STYLE[p.level]}]{p.level}:[/] {escape(p.message)}",
            soft_wrap=True,
        )
    if notes > limit_notes:
        err.print(f"… and {notes - limit_notes} more notes")


@recipients_app.command("check")
def recipients_check(
    lists: Annotated[list[str], typer.Argument(help="List names (recipients/NAME.csv) or files.")],
) -> None:
    """Check lists row by row and count recipients per language; exit 1 on problems."""
    from rich.table import Table

    from pressdist.audience import suppression
    from pressdist.audience.lists import ERROR, WARNING, choose_cached, iter_audience, open_lists

    ws = open_workspace()
    files = open_lists(ws, lists)
    problems: list[Diagnostic] = []
    counts: dict[tuple[str, str, str], int] = {}
    chosen: dict = {}
    total = 0
    held: list[tuple[Recipient, Suppression]] = []
    audience = list(iter_audience(files, problems, suppression.load(ws)))
    for rcpt, found in audience:
        choice = choose_cached(rcpt, ws.config, chosen)
        k = (rcpt.language or "—", choice.language, choice.how)
        counts[k] = counts.get(k, 0) + 1
        total += 1
        if found is not None:
            held.append((rcpt, found))
    print_problems(problems)
    _print_suppressed(held)
    _print_returned(ws, [rcpt for rcpt, _ in audience])
    table = Table(title=f"{total} recipients on {', '.join(f.name for f in files)}")
    table.add_column("Asked for")
    table.add_column("Gets")
    table.add_column("How")
    table.add_column("Recipients", justify="right")
    order = ws.config.all_languages
    for (asked, gets, how), n in sorted(
        counts.items(), key=lambda kv: (order.index(kv[0][1]), -kv[1], kv[0][0])
    ):
        table.add_row(asked, gets, how, str(n))
    console().print(table)
    for f in files:
        if f.encoding.startswith("cp"):
            console().print(f"{shown_path(f.path)}: read as Windows-1252")
    errors = sum(p.level == ERROR for p in problems)
    warnings = sum(p.level == WARNING for p in problems)
    if errors or warnings:
        console(stderr=True).print(
            f"[bold red]{counted(errors, 'error')}[/], [yellow]{counted(warnings, 'warning')}[/]:"
            " fix the rows above"
        )
        raise typer.Exit(1)
    console().print("No problems.")


def _print_suppressed(held: list[tuple[Recipient, Suppression]], *, limit: int = 20) -> None:
    """One line per suppressed row: they stay on the list and get no mail."""
    from rich.markup import escape

    out = console()
    for rcpt, found in sorted(held, key=lambda h: (h[0].list_name, h[0].line))[:limit]:
        out.print(
            f"{escape(location(shown_path(rcpt.path), rcpt.line) if rcpt.path else rcpt.where)}: "
            f"[magenta]suppressed:[/] {escape(rcpt.address)} ({escape(suppressed_because(found))})",
            soft_wrap=True,
        )
    if len(held) > limit:
        out.print(f"… and {len(held) - limit} more suppressed")
    if held:
        out.print(
            f"{counted(len(held), 'recipient')} suppressed: they get no mail "
            "(`pressdist suppress list` shows every suppression)"
        )


def _print_returned(ws: Workspace, recipients: list[Recipient], *, limit: int = 20) -> None:
    """One line per recipient whose mail bounced or drew a complaint (``pressdist inbox``)."""
    from rich.markup import escape

    from pressdist.sending.log import returned

    came_back = returned(ws, sorted({r.key for r in recipients}))
    shown = [r for r in recipients if r.key in came_back]
    out = console()
    for rcpt in shown[:limit]:
        d = came_back[rcpt.key]
        detail = " ".join(f"{d.status_code} {d.diagnostic}".split())[:80]
        out.print(
            f"{escape(location(shown_path(rcpt.path), rcpt.line) if rcpt.path else rcpt.where)}: "
            f"[red]{d.state}:[/] {escape(rcpt.address)} (on {escape(d.release_id)}, "
            f"{(d.returned_at or '')[:10]}{': ' + escape(detail) if detail else ''})",
            soft_wrap=True,
        )
    if len(shown) > limit:
        out.print(f"… and {len(shown) - limit} more whose mail came back")
    if shown:
        out.print(
            f"{counted(len(shown), 'recipient')} whose mail came back "
            "(`pressdist log --bounced` shows every one)"
        )


def suppressed_because(found: Suppression) -> str:
    """``unsubscribed 2024-05-03, all lists``: why and since when, in a few words."""
    return f"{found.reason} {found.when:%Y-%m-%d}, {found.scope_words}"


@recipients_app.command("show")
def recipients_show(
    name: Annotated[str, typer.Argument(help="List name (recipients/NAME.csv) or file.")],
) -> None:
    """Show a list: every recipient once, with the language their mail will be in."""
    from rich.markup import escape

    from pressdist.audience import suppression
    from pressdist.audience.lists import choose_cached, iter_recipients, open_lists

    ws = open_workspace()
    files = open_lists(ws, [name])
    held = suppression.load(ws)
    problems: list[Diagnostic] = []
    chosen: dict = {}
    marked: list[Suppression] = []

    def gets(rcpt: Recipient) -> str:
        found = held.lookup(rcpt.key, rcpt.list_name)
        if found is not None:
            marked.append(found)
            return f"none: {found.reason}"
        return choose_cached(rcpt, ws.config, chosen).language

    # Names and organisations are people's text: "[Online]" is not Rich markup.
    rows = [
        [
            str(rcpt.line),
            escape(rcpt.address),
            escape(rcpt.name),
            rcpt.language or "—",
            escape(gets(rcpt)),
            escape(rcpt.organisation),
        ]
        for rcpt in iter_recipients(files, problems)
    ]
    table, left_out = fitted_table(
        f"{escape(files[0].name)} ({escape(shown_path(files[0].path))})",
        [
            ("Line", True, {"justify": "right", "no_wrap": True}),
            ("E-mail", True, {"no_wrap": True}),
            ("Name", True, {"min_width": 10}),
            ("Language", True, {"no_wrap": True}),
            ("Gets", True, {"no_wrap": True}),
            ("Organisation", False, {"min_width": 12}),
        ],
        rows,
    )
    table.caption = f"{len(rows)} recipients" + (
        f", {len(marked)} of them suppressed (get no mail)" if marked else ""
    )
    console().print(table)
    if left_out:
        console().print(f"[dim]Left out to fit the terminal: {', '.join(left_out)}.[/]")
    print_problems(problems)


@recipients_app.command("forget")
def recipients_forget(
    address: Annotated[str, typer.Argument(help="The person's e-mail address, in any case.")],
) -> None:
    """Erase a person: their rows from every list, their address from the journal (Art. 17).

    Every other byte of each list stays as it was; the journal keeps its
    counts with a hash for the address. Run again, it says nothing is left.
    """
    from rich.markup import escape

    from pressdist.api import forget

    ws = open_workspace()
    done = forget(ws, address)
    out = console()
    for change in done.lists:
        for first, last in change.rows:
            lines = f"{first}" if first == last else f"{first}-{last}"
            out.print(f"{escape(shown_path(change.path))}:{lines}: row removed")
    deliveries = counted(done.journal_rows, "delivery", "deliveries")
    if done.journal_rows:
        out.print(f"journal: {deliveries} kept with the address's hash, the name blanked")
    if not done.changed:
        out.print("Nothing left to forget: no list row and no journal entry names this address.")
    else:
        out.print(
            f"Forgotten: {counted(done.list_rows, 'list row')} removed,"
            f" {counted(done.journal_rows, 'journal delivery', 'journal deliveries')}"
            " pseudonymised."
        )
    if done.mentions:
        err = console(stderr=True)
        for path, line in done.mentions:
            err.print(
                f"{escape(location(shown_path(path), line))}: [yellow]warning:[/] this line still"
                " names the address but is not a readable row; remove it by hand"
            )
        raise typer.Exit(1)


@recipients_app.command("export")
def recipients_export(
    address: Annotated[str, typer.Argument(help="The person's e-mail address, in any case.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on standard output.")] = False,
) -> None:
    """Everything the workspace holds about one person: list rows and deliveries (Art. 15)."""
    from pressdist.api import export_person

    person = export_person(open_workspace(), address)
    if as_json:
        print_json(person.to_dict())
        return
    _print_person(person)


def _print_person(person) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    out = console()
    out.print(f"[bold]{escape(person.address)}[/] (hash {person.hash})")
    if not person.rows:
        out.print("On no list.")
    for row in person.rows:
        out.print(f"{escape(location(shown_path(row.path), row.line))}:")
        for column, value in row.cells.items():
            out.print(f"  {column}: {escape(value)}")
    if not person.deliveries:
        out.print("No deliveries in the journal.")
        return
    rows = [
        [
            d.release_id,
            d.language,
            d.state,
            (d.sent_at or "—")[:19].replace("T", " "),
            d.revision,
            d.created_at[:19].replace("T", " "),
        ]
        for d in person.deliveries
    ]
    table, _ = fitted_table(
        counted(len(person.deliveries), "delivery", "deliveries"),
        [
            ("Release", True, {"no_wrap": True}),
            ("Lang", True, {"no_wrap": True}),
            ("State", True, {"no_wrap": True}),
            ("Sent (UTC)", True, {"min_width": 10}),
            ("Revision", False, {"no_wrap": True}),
            ("Created (UTC)", False, {"min_width": 10}),
        ],
        rows,
    )
    out.print(table)
    if person.suppression:
        out.print(f"Suppression list: {counted(len(person.suppression), 'entry', 'entries')}.")
