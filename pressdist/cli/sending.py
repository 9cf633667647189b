"""Commands for sending: send, log, report.

Thin: parse arguments, call ``sending``, print
with Rich. Confirmation, the progress bars and the exit status live here;
deciding who gets what does not.

Library modules and Rich's parts are imported inside the commands: the engine,
its gateways and Rich's tables cost more to import than `pressdist --help`
may take (docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pressdist.cli.lists import print_problems
from pressdist.cli.quality import warn_forgeable_link
from pressdist.cli.shell import (
    app,
    console,
    counted,
    fitted_table,
    open_workspace,
    print_json,
    shown,
    warn,
)
from pressdist.diagnostics import NOTE
from pressdist.errors import PressdistError

if TYPE_CHECKING:
    from pressdist.mail.content import Correction
    from pressdist.sending.journal import Journal
    from pressdist.sending.plan import Plan
    from pressdist.sending.report import Report
    from pressdist.workspace import Workspace

# send -------------------------------------------------------------------------


def _plan_table(plan: Plan):
    from rich.markup import escape
    from rich.table import Table

    from pressdist.languages import Language, is_known

    cfg = plan.workspace.config
    table = Table(
        title=f"{plan.release.id} (revision {plan.revision}) via gateway '{plan.gateway_name}'"
    )
    table.add_column("Language")
    table.add_column("Recipients", justify="right")
    table.add_column("To send", justify="right")
    table.add_column("Already sent", justify="right")
    # Each only when it has something to count: a first send looks as it always did.
    earlier, corrected, held = plan.earlier, plan.corrected, plan.suppressed
    if earlier:
        table.add_column("Earlier revision", justify="right")
    if corrected:
        table.add_column("Correction", justify="right")
    if held:
        table.add_column("Suppressed", justify="right")
    table.add_column("Asked for")
    for lang, line in plan.lines.items():
        asked = ", ".join(f"{code} {n}" for code, n in line.requested.most_common(6))
        if len(line.requested) > 6:
            asked += ", …"
        fallback = sum(line.fallback.values())
        if fallback:
            asked += f" ({fallback} by fallback)"
        table.add_row(
            f"{lang} {Language.parse(lang).own_name}" if is_known(lang) else lang,
            str(line.recipients),
            str(line.to_send),
            str(line.already_sent),
            *([str(line.earlier)] if earlier else []),
            *([str(line.corrections)] if corrected else []),
            *([str(sum(line.suppressed.values()))] if held else []),
            asked,
        )
    table.add_row(
        "total",
        str(plan.total),
        str(plan.to_send),
        str(plan.already_sent),
        *([str(earlier)] if earlier else []),
        *([str(corrected)] if corrected else []),
        *([str(sum(held.values()))] if held else []),
        "",
        style="bold",
    )
    lists = ", ".join(lst.name for lst in plan.lists)
    table.caption = escape(f"lists: {lists} · sender: {cfg.sender}")
    return table


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise PressdistError(
            "confirmation needed, but there is no terminal to ask",
            hint="read the summary above and pass --yes to send without asking",
        )
    if not typer.confirm(shown(question), default=False):
        console().print("Nothing sent.")
        raise typer.Exit(1)


class _Bars:
    """Rich progress: one bar for the whole run, one per language."""

    def __init__(self, totals: dict[str, int]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            """Mails a second since the run began: Rich's own speed is a moving
            window, which for a language sent in bursts reads far above the total."""

            def render(self, task):  # type: ignore[no-untyped-def]
                elapsed = task.elapsed
                if not elapsed or not task.completed:
                    return Text("")
                return Text(f"{task.completed / elapsed:,.0f}/s")

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=console(stderr=True),
            transient=False,
        )
        self.total = self.progress.add_task("all", total=sum(totals.values()))
        self.tasks = {
            lang: self.progress.add_task(f"  {lang}", total=n) for lang, n in totals.items()
        }

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "retry":
            return
        self.progress.advance(self.total)
        task = self.tasks.get(event.language)
        if task is not None:
            self.progress.advance(task)


def _report_table(report: Report):
    from rich.table import Table

    title = "Dry run (nothing handed to the gateway)" if report.dry_run else "Sent"
    if report.test_address:
        title = f"Test copies to {report.test_address}"
    table = Table(title=title)
    table.add_column("Language")
    table.add_column("Would send" if report.dry_run else "Sent", justify="right")
    table.add_column("Failed", justify="right")
    for lang, t in sorted(report.by_language.items()):
        table.add_row(lang, str(t.sent), str(t.failed))
    table.add_row(
        "total",
        str(report.sent),
        str(sum(t.failed for t in report.by_language.values())),
        style="bold",
    )
    return table


def _suppressed(reasons: Counter[str]) -> str:
    """``3 suppressed (2 unsubscribed, 1 bounced)``."""
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items(), key=_by_count))
    return f"{sum(reasons.values())} suppressed ({why})"


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _print_report(report: Report) -> None:
    out = console()
    out.print(_report_table(report))
    if report.suppressed:
        out.print(f"{_suppressed(report.suppressed)}: left out, not handed to the gateway")
    rate = report.sent / report.elapsed if report.elapsed > 0 else 0
    retries = f", {report.retries} retries" if report.retries else ""
    where = f" (run {report.run_id})" if report.run_id else ""
    if report.dry_run:
        out.print(f"Dry run: {report.sent} mails rendered, none handed to the gateway")
        return
    out.print(f"{report.sent} sent in {report.elapsed:.1f} s, {rate:,.0f} mails/s{retries}{where}")


# The options of `send` (named here, so that its signature stays readable).
_Lists = Annotated[
    list[str] | None,
    typer.Option(
        "--list",
        "-l",
        metavar="NAME",
        help="Distribution list recipients/NAME.csv (repeat for several).",
    ),
]
_Gateway = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="A [gateways.NAME] of pressdist.toml (default: [send] gateway).",
    ),
]
_AllowFallback = Annotated[
    bool,
    typer.Option(
        "--allow-fallback",
        help="Readers of a language that is not ready get its fallback language.",
    ),
]
_Resend = Annotated[
    bool,
    typer.Option(
        "--resend", help="Send again to those who already got it (this or an earlier revision)."
    ),
]
_AsCorrection = Annotated[
    bool,
    typer.Option(
        "--correction",
        help="Send those who got an earlier revision this one as a correction, "
        "each in the language they got.",
    ),
]
_Note = Annotated[
    str | None,
    typer.Option(
        "--note", metavar="TEXT", help="With --correction: what was corrected, at the top."
    ),
]
_RetryFailed = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Try again the deliveries that failed permanently, once the cause is fixed.",
    ),
]


def _correction(correction: bool, note: str | None) -> Correction | None:
    """The correction ``--correction`` and ``--note`` ask for, if any."""
    from pressdist.mail.content import Correction

    if note is not None and not correction:
        raise PressdistError(
            "--note is the note of a correction", hint="pass --correction with it, or leave it out"
        )
    return Correction(note or "") if correction else None


@app.command()
def send(
    release_id: Annotated[str, typer.Argument(metavar="ID", help="Release id.")],
    list_: _Lists = None,
    gateway: _Gateway = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Everything but handing mails to the gateway.")
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="Send a test copy of every sendable language to ADDRESS only.",
        ),
    ] = None,
    resend: _Resend = False,
    correction: _AsCorrection = False,
    note: _Note = None,
    retry_failed: _RetryFailed = False,
    allow_fallback: _AllowFallback = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Send a release to distribution lists, each recipient in their language, once.

    Shows who gets which language and asks before anything leaves (--yes skips
    the question). Safe to run again: whoever already got this revision is
    skipped, so after an interruption or a failure the same command finishes
    the job. A changed release goes only to those who never got it; --correction
    sends it to the others as a correction. `pressdist log ID` shows who got what.

    Exit status: 0 every mail accepted, 1 some deliveries failed (or failed
    before and are not retried) or a language is not ready, 2 bad input (list,
    config), 3 the gateway cannot be used or refuses everyone.
    """
    from pressdist.sending import delivery

    fix = _correction(correction, note)
    ws = open_workspace()
    lists = list_ or []
    if not lists and not to:
        raise PressdistError(
            "no list given", hint="name one with --list NAME (or --to ADDRESS for a test copy)"
        )
    if to:
        to = delivery.to_address(to)[0]  # refused before anything is planned or printed
    plan = _plan(
        ws,
        release_id,
        lists,
        gateway=gateway,
        resend=resend,
        allow_fallback=allow_fallback,
        correction=fix,
        retry_failed=retry_failed,
    )
    warn_forgeable_link(ws)
    if to:
        _send_test(plan, to)
        return
    _show_plan(plan)
    if not _anything_to_send(plan):
        return
    if not dry_run and not yes:
        again = f"{counted(plan.again, 'recipient')} will get this release a second time. "
        _confirm(f"{again * bool(plan.again)}Send {plan.to_send} mails via '{plan.gateway_name}'?")
    bars = _Bars({lang: line.to_send for lang, line in plan.lines.items() if line.to_send})
    with bars.progress:
        report = delivery.run(plan, dry_run=dry_run, progress=bars)
    _print_report(report)
    _warn_duplicates(report)
    _exit(report, release_id)


def _plan(ws: Workspace, release_id: str, lists: list[str], **options: Any) -> Plan:
    """The plan, or every problem of the lists printed before the error."""
    from pressdist.sending import plan as planning

    try:
        return planning.plan(ws, release_id, lists, **options)
    except planning.ListProblems as exc:
        print_problems(exc.problems)
        raise


def _send_test(plan: Plan, to: str) -> None:
    from rich.markup import escape

    from pressdist.sending import delivery

    console().print(
        escape(
            f"Test copy of {plan.release.id} (revision {plan.revision}) in "
            f"{', '.join(plan.sendable)} to {to} via gateway '{plan.gateway_name}'; "
            "the journal is not touched."
        )
    )
    report = delivery.send_test(plan, to)
    _print_report(report)
    _exit(report, plan.release.id)


def _show_plan(plan: Plan) -> None:
    """The plan table, with what the lists and the journal say before sending."""
    print_problems([p for p in plan.problems if p.level != NOTE])
    notes = sum(p.level == NOTE for p in plan.problems)
    if notes:
        console().print(f"{notes} notes about the lists; `pressdist recipients check` shows them.")
    console().print(_plan_table(plan))
    if plan.suppressed:
        console().print(
            f"{_suppressed(plan.suppressed)} on the lists get nothing; "
            "`pressdist suppress list` shows who and why."
        )
    if plan.failed_before:
        warn(
            f"{counted(plan.failed_before, 'recipient')} failed permanently in an earlier send "
            "and are skipped; once the cause is fixed, --retry-failed tries them again"
        )
    _show_revisions(plan)
    if plan.in_flight:
        warn(
            f"{plan.in_flight} deliveries were in flight when an earlier send stopped; "
            "they are sent again with the same Message-ID and may arrive twice"
        )


def _show_revisions(plan: Plan) -> None:
    """What the plan does about those who got this release before."""
    from rich.markup import escape

    revisions = ", ".join(sorted(plan.earlier_revisions))
    if plan.passed_over:
        warn(
            f"{counted(plan.passed_over, 'recipient')} got an earlier revision ({revisions}) "
            "of this release and are not sent this one; --correction sends it to them as a "
            "correction, each in the language they got, --resend sends it to them again"
        )
    if plan.corrected:
        console().print(
            escape(
                f"{counted(plan.corrected, 'recipient')} who got an earlier revision "
                f"({revisions}) get this one as a correction, each in the language they got it in."
            )
        )
        if plan.correction is not None and plan.correction.note:
            console().print(
                escape(f"The note at the top of the correction: {plan.correction.note}")
            )
    if plan.again:
        warn(f"{counted(plan.again, 'recipient')} will get this release a second time")


def _anything_to_send(plan: Plan) -> bool:
    if plan.total == 0 and plan.suppressed:
        console().print(
            f"Nothing to send: every recipient of the lists is suppressed "
            f"({_suppressed(plan.suppressed)}); `pressdist suppress list` shows them."
        )
        return False
    if plan.total == 0:
        console().print("The lists have no recipients; nothing to send.")
        return False
    if plan.to_send == 0:
        _nothing_to_send(plan)
        return False
    return True


def _nothing_to_send(plan: Plan) -> None:
    """Why nobody is due; exit 1 when that is because deliveries failed for good."""
    why = [
        f"{n} {what}"
        for n, what in (
            (plan.already_sent, f"already got revision {plan.revision}"),
            (plan.passed_over, "got an earlier revision (--correction)"),
            (plan.failed_before, "failed permanently (--retry-failed)"),
        )
        if n
    ]
    console().print(
        f"Nothing to send: of the {plan.total} recipients, {', '.join(why) or 'none is due'}. "
        "Use --resend to send again."
    )
    failed = plan.failed_before
    if failed:
        console(stderr=True).print(
            f"[bold red]{counted(failed, 'delivery', 'deliveries')} failed permanently[/] and "
            f"{'is' if failed == 1 else 'are'} not tried again: `pressdist log "
            f"{plan.release.id} --failed` shows why; once the cause is fixed, the same "
            "command with --retry-failed sends them"
        )
        raise typer.Exit(1)


def _warn_duplicates(report: Report) -> None:
    duplicates = report.possibly_duplicate
    if duplicates:
        more = f" and {len(duplicates) - 10} more" if len(duplicates) > 10 else ""
        warn(
            f"{len(duplicates)} possibly duplicated (in flight when the earlier "
            f"send stopped): {', '.join(duplicates[:10])}{more}"
        )


def _exit(report: Report, release_id: str) -> None:
    from rich.markup import escape

    from pressdist.errors import GatewayError

    if report.failures:
        table, left_out = fitted_table(
            "Not delivered",
            [
                ("Address", True, {"no_wrap": True}),
                ("Lang", True, {"no_wrap": True}),
                ("State", True, {"no_wrap": True}),
                ("Why", True, {"overflow": "fold", "ratio": 1}),
                ("Tries", False, {"justify": "right", "no_wrap": True}),
            ],
            [
                [escape(f.address), f.language, f.state, escape(f.detail), str(f.attempts)]
                for f in report.failures[:200]
            ],
        )
        console().print(table)
        if left_out:
            console().print(f"[dim]Left out to fit the terminal: {', '.join(left_out)}.[/]")
        if len(report.failures) > 200:
            console().print(
                f"… {len(report.failures) - 200} more: `pressdist log {release_id} --failed`"
            )
    if report.stopped:
        if report.stop_error is not None:
            raise report.stop_error
        raise GatewayError(
            f"sending stopped: {report.stopped}",
            hint="the journal is intact; run the same command again to send the rest",
        )
    if report.failures:
        console(stderr=True).print(
            f"[bold red]{len(report.failures)} deliveries failed[/]; see "
            f"`pressdist log {release_id} --failed`"
        )
        raise typer.Exit(1)


# log --------------------------------------------------------------------------


@app.command()
def log(
    release_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="Release id.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed deliveries.")] = False,
    bounced: Annotated[
        bool,
        typer.Option("--bounced", help="Only deliveries that bounced or drew a complaint."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on standard output.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", metavar="FILE", help="Write the deliveries as CSV.")
    ] = None,
) -> None:
    """Who got what, when, in which language (from the delivery journal)."""
    from pressdist.sending.log import open_log

    journal = open_log(open_workspace(), release_id)
    only = _Only(failed=failed, returned=bounced)
    try:
        if as_json or csv_file:
            _export(journal, release_id, only, as_json=as_json, csv_file=csv_file)
        elif journal is None:
            console().print("Nothing sent yet (no journal in .pressdist/).")
        elif not release_id and not only:
            _runs_table(journal)
        else:
            _deliveries_table(journal, release_id, only)
    finally:
        if journal is not None:
            journal.close()


@app.command()
def report(
    release_id: Annotated[str, typer.Argument(metavar="ID", help="Release id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on standard output.")] = False,
) -> None:
    """What a release achieved: sent, failed, and who said no since, per language."""
    from pressdist.api import report as summarise

    summary = summarise(open_workspace(), release_id)
    if as_json:
        print_json(summary.to_dict())
        return
    if not summary.lines:
        console().print(f"Nothing sent yet for {release_id}.")
        return
    console().print(_summary_table(summary))


def _summary_table(summary):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(title=f"Report of {summary.release_id}")
    table.add_column("Revision", no_wrap=True)
    table.add_column("Language", no_wrap=True)
    columns = ("Sent", "Failed", "Not settled", "Bounced", "Soft bounces", "Complaints")
    for column in (*columns, "Suppressed since", "Unsubscribed since"):
        table.add_column(column, justify="right")
    for line in summary.lines:
        table.add_row(
            line.revision,
            line.language,
            str(line.sent),
            str(line.failed),
            str(line.unsettled),
            str(line.bounced),
            str(line.soft_bounced),
            str(line.complained),
            str(line.suppressed),
            str(line.unsubscribed),
        )
    table.add_row(
        "total",
        "",
        str(summary.sent),
        str(summary.failed),
        str(summary.unsettled),
        str(sum(line.bounced for line in summary.lines)),
        str(sum(line.soft_bounced for line in summary.lines)),
        str(sum(line.complained for line in summary.lines)),
        "",
        "",
        style="bold",
    )
    table.caption = (
        "sent includes what bounced or drew a complaint (`pressdist inbox` reads those); "
        "since: suppressed for that list after the mail went out"
    )
    return table


@dataclass(frozen=True)
class _Only:
    """Which deliveries ``log`` shows: all, the failed ones, the ones that came back."""

    failed: bool = False
    returned: bool = False

    def __bool__(self) -> bool:
        return self.failed or self.returned

    @property
    def words(self) -> str:
        """`` that failed`` and the like, for "No deliveries recorded…"."""
        return " that failed" * self.failed + " that bounced or drew a complaint" * self.returned

    @property
    def title(self) -> str:
        return "Bounced deliveries" if self.returned else "Failed deliveries"


def _export(
    journal: Journal | None,
    release_id: str | None,
    only: _Only,
    *,
    as_json: bool,
    csv_file: Path | None,
) -> None:

    from pressdist.files import atomic_write
    from pressdist.sending.log import deliveries_csv

    rows = (
        [
            d.to_dict()
            for d in journal.deliveries(release_id, failed=only.failed, returned=only.returned)
        ]
        if journal is not None
        else []
    )
    if csv_file:
        # make_folders=False: a typo in the folder makes no folders.
        atomic_write(csv_file, deliveries_csv(rows), make_folders=False)
        if rows:
            console(stderr=True).print(f"{len(rows)} deliveries written to {csv_file}")
        else:
            what = "Nothing sent yet" if journal is None else "No deliveries recorded"
            if journal is not None and release_id:
                what += f" for {release_id}"
            if journal is not None:
                what += only.words
            console(stderr=True).print(
                f"{what}: {csv_file} has the column names only, no deliveries."
            )
    if as_json:
        print_json(rows)


def _runs_table(journal) -> None:  # type: ignore[no-untyped-def]
    from pressdist.sending.journal import DELIVERED

    runs = journal.runs()
    if not runs:
        console().print("Nothing sent yet.")
        return
    counts = journal.counts_per_run()
    rows = []
    for r in runs:
        sent = sum(counts.get((r.id, state), 0) for state in DELIVERED)
        failed = counts.get((r.id, "failed-permanent"), 0) + counts.get(
            (r.id, "failed-transient"), 0
        )
        rows.append(
            [
                str(r.id),
                r.release_id,
                local_time(r.started_at),
                r.status + (f" ({r.note})" if r.note else ""),
                str(sent),
                str(failed),
                r.revision,
                r.gateway,
                r.lists,
            ]
        )
    right = {"justify": "right", "no_wrap": True}
    table, left_out = fitted_table(
        "Sends",
        [
            ("Run", True, right),
            ("Release", True, {"no_wrap": True}),
            ("Started", True, {"no_wrap": True}),
            ("Status", True, {"min_width": 8}),
            ("Sent", True, right),
            ("Failed", True, right),
            ("Revision", False, {"no_wrap": True}),
            ("Gateway", False, {}),
            ("Lists", False, {"overflow": "fold"}),
        ],
        rows,
    )
    console().print(table)
    if left_out:
        console().print(f"[dim]Left out to fit the terminal: {', '.join(left_out)}.[/]")
    console().print("`pressdist log ID` shows every delivery of one release.")


def _deliveries_table(journal, release_id: str | None, only: _Only) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    deliveries = list(journal.deliveries(release_id, failed=only.failed, returned=only.returned))
    if not deliveries:
        console().print(f"No deliveries recorded{only.words}.")
        return
    rows = [
        [
            escape(d.address),
            d.language,
            d.state
            + (" (correction)" if d.correction else "")
            + (" (possibly duplicate)" if d.possibly_duplicate else ""),
            local_time(d.sent_at or d.updated_at),
            str(d.attempts),
            escape(d.list),
            escape(f"{d.status_code} {d.diagnostic}".strip() if d.returned_at else d.last_error),
        ]
        for d in deliveries
    ]
    table, left_out = fitted_table(
        f"Deliveries of {release_id}" if release_id else only.title,
        [
            ("Address", True, {"no_wrap": True}),
            ("Lang", True, {"no_wrap": True}),
            ("State", True, {"min_width": 8}),
            ("When", True, {"no_wrap": True}),
            ("Tries", False, {"justify": "right", "no_wrap": True}),
            ("List", False, {"overflow": "fold"}),
            ("Detail", False, {"overflow": "fold", "min_width": 20}),
        ],
        rows,
    )
    paged(table, len(rows))
    if left_out:
        console().print(
            f"[dim]Left out to fit the terminal: {', '.join(left_out)} "
            "(`--json` and `--csv` have every field).[/]"
        )


def local_time(stamp: str | None) -> str:
    """A journal time (UTC, ISO 8601) as the reader's clock shows it: ``2026-12-01 20:03``."""
    import datetime as dt

    if not stamp:
        return ""
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def paged(table, rows: int) -> None:  # type: ignore[no-untyped-def]
    """Print ``table``, through the pager ($PAGER, else less) when it is longer than the
    terminal and the output is a terminal; a pipe or a file gets it plain."""
    out = console()
    if out.is_terminal and rows + 6 > out.height:
        with out.pager(styles=True):
            out.print(table)
    else:
        out.print(table)
