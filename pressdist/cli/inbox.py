"""The `pressdist inbox` command: read what came back and say what it led to.

Thin: pick the source (the ``[inbox]`` mailbox, or a Mailgun gateway's events
with ``--gateway``), call ``inbox.reading``, print one line per mail that
changed something or needs a person, then the table of what was found. Exit
1 when this run met something a person must look at (a forged token, a
report about no delivery), so that cron mails it; 0 otherwise, also when an
earlier run's leftovers are still waiting. Library modules and Rich are
imported inside the command (start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pressdist.cli.shell import app, console, counted, open_workspace, print_json

if TYPE_CHECKING:
    from pressdist.inbox.act import Action
    from pressdist.inbox.reading import InboxReport


@app.command()
def inbox(
    gateway: Annotated[
        str | None,
        typer.Option(
            "--gateway",
            "-g",
            metavar="NAME",
            help="Read this Mailgun gateway's events instead of the [inbox] mailbox.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would happen; change nothing, move nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on standard output.")] = False,
) -> None:
    """Read bounces, complaints and mailed unsubscribes into the journal (safe from cron)."""
    from pressdist.inbox import reading

    ws = open_workspace()
    show = None if as_json else _line
    if gateway:
        report = reading.read_events(ws, gateway, dry_run=dry_run, progress=show)
    else:
        report = reading.read_mailbox(ws, dry_run=dry_run, progress=show)
    if as_json:
        print_json(report.to_dict())
    else:
        _summary(report)
    if report.problems:
        raise typer.Exit(1)


def _line(action: Action) -> None:
    """One line for what changed something or needs a person; quiet for the rest."""
    from rich.markup import escape

    if not (action.changed or action.problem):
        return
    who = f"{action.address}: " if action.address else ""
    finding = action.finding
    subject = finding.subject if len(finding.subject) <= 60 else finding.subject[:59] + "…"
    mail = ", ".join(filter(None, (finding.sender and f"from {finding.sender}", subject)))
    if action.problem:
        about = f" (mail {mail})" if mail else ""
        console().print(f"[yellow]{escape(who + action.text + about)}[/]")
    else:
        console().print(escape(who + action.text))


def _summary(report: InboxReport) -> None:
    from rich.table import Table

    out = console()
    if report.busy:
        out.print("Another `pressdist inbox` is running in this workspace; this one did nothing.")
        return
    counts = report.counts()
    if not report.actions:
        out.print(f"Nothing new in {report.where}.")
    else:
        table = Table(title=f"{'Would find' if report.dry_run else 'Found'} in {report.where}")
        table.add_column("What")
        table.add_column("Mails", justify="right")
        table.add_column("Led to")
        for verdict, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            table.add_row(verdict.value, str(n), _LED_TO[verdict.name])
        out.print(table)
    if report.known:
        waiting = f", {report.waiting} of them still waiting for a person" if report.waiting else ""
        out.print(f"{counted(report.known, 'mail')} read before, not acted on again{waiting}.")
    if report.unreadable:
        out.print(f"{counted(report.unreadable, 'event')} could not be read and were skipped.")
    if report.dry_run:
        out.print("Dry run: nothing was written or moved.")


_LED_TO = {
    "BOUNCED": "delivery marked bounced, address suppressed on every list",
    "SOFT_BOUNCE": "delivery marked soft-bounced; suppressed after the limit in a row",
    "COMPLAINT": "delivery marked complained, address suppressed on every list",
    "UNSUBSCRIBED": "suppressed for the list (or all lists) the request named",
    "NOTHING": "nothing (delay notices, auto-replies)",
    "FOR_A_PERSON": "left in the mailbox for a person",
    "PROBLEM": "left in the mailbox: see the lines above",
}
