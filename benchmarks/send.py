"""Sending benchmark: pressdist `send` against postfix's smtp-source and a plain smtplib loop.

One command, everything in the same run on the same machine, so the ratios are
what counts:

    python benchmarks/send.py                 # 10,000 recipients, memory at 10k/100k
    python benchmarks/send.py --quick         # 2,000 recipients, no memory run

It starts Debian postfix's `smtp-sink` on 127.0.0.1 (a sink that accepts and
discards, fast enough not to be the bottleneck), builds a temporary workspace
(a copy of the example workspace at the repository root, plus a generated list
of recipients in mixed languages), and measures:

1. `smtp-source`, one session, messages the size of our rendered mail: once
   with a new connection per message (its default), once reusing it (`-d`);
2. `pressdist.send` (plan + run: lists read, every mail rendered and
   personalised, the SQLite journal written) through the `smtp` gateway;
3. a plain smtplib loop as a hand-written script would do it: build an
   EmailMessage (text + HTML), connect, send, quit, for every recipient;

and, in child processes, the peak memory (RSS) of a whole `send` to the
maildir gateway for 10,000 and 100,000 recipients.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEASE = "2019-11-04-isa-foshan"
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"

# (language as lists write it, given name, family name, salutation)
_PEOPLE = [
    ("de", "Jürgen", "Müller", "Sehr geehrter Herr Müller"),
    ("de_AT", "Lena", "Gruber", "Liebe Frau Gruber"),
    ("de", "Zoë", "Weiß", ""),
    ("en", "James", "Holloway", "Dear Mr Holloway"),
    ("en-GB", "Aoife", "O'Brien", ""),
    ("en_US", "Maria", "Garcia", "Dear Ms Garcia"),
    ("zh_CN", "芳", "王", "尊敬的王女士"),
    ("zh-Hans", "伟", "李", ""),
    ("zh", "娜", "张", "张娜女士，您好"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    # -u drops root privileges after binding; without root there are none to drop.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([SINK, *user, f"127.0.0.1:{port}", "1000"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink, port
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start")


def make_workspace(root: Path, recipients: int, port: int) -> Path:
    """A copy of the example workspace with a generated list and two gateways."""
    ws = root / "workspace"
    ws.mkdir()
    shutil.copy2(REPO / "pressdist.toml", ws / "pressdist.toml")
    for sub in ("releases", "translations"):
        shutil.copytree(REPO / sub, ws / sub)
    (ws / "recipients").mkdir()
    with (ws / "pressdist.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n[gateways.sink]\n"
            'type = "smtp"\nhost = "127.0.0.1"\n'
            f'port = {port}\nsecurity = "none"\nconnections = 4\n'
        )
    write_list(ws / "recipients" / "bench.csv", recipients)
    return ws


def write_list(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name", "language", "organisation", "salutation"])
        for i in range(count):
            lang, given, family, salutation = _PEOPLE[i % len(_PEOPLE)]
            name = f"{family}{given}" if lang.startswith("zh") else f"{given} {family}"
            out.writerow(
                [f"leser{i}@redaktion{i % 97}.example.org", name, lang, "Presse", salutation]
            )


def measure_smtp_source(port: int, count: int, size: int, reuse: bool) -> float:
    args = [SOURCE, "-s", "1", "-m", str(count), "-l", str(size)]
    args += ["-d"] if reuse else []
    args += ["-f", "presse@example.org", "-t", "leser@example.org", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return count / (time.perf_counter() - started)


def measure_pressdist(ws: Path, gateway: str) -> tuple[float, float, int, object]:
    """(msgs/s of plan+run, msgs/s of run alone, messages sent, report)."""
    from pressdist.sending import delivery
    from pressdist.sending import plan as planning
    from pressdist.workspace import Workspace

    workspace = Workspace.open(ws)
    started = time.perf_counter()
    the_plan = planning.plan(workspace, RELEASE, ["bench"], gateway=gateway, allow_fallback=True)
    planned = time.perf_counter()
    report = delivery.run(the_plan)
    done = time.perf_counter()
    return report.sent / (done - started), report.sent / (done - planned), report.sent, report


def measure_smtplib(port: int, count: int, text: str, html: str, subject: str) -> float:
    started = time.perf_counter()
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = "Landeshauptstadt Mainz <pressestelle@example.org>"
        msg["To"] = f"leser{i}@example.org"
        msg["Subject"] = subject
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(msg)
    return count / (time.perf_counter() - started)


def peak_rss_child(recipients: int) -> tuple[int, float]:
    """Peak RSS (KiB) and msgs/s of a whole send to the maildir gateway, in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child-maildir", str(recipients)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), float(out[1])


def child_maildir(recipients: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pressdist-bench-") as tmp:
        ws = make_workspace(Path(tmp), recipients, 25)
        rate, _, sent, _ = measure_pressdist(ws, "outbox")
        assert sent == recipients, (sent, recipients)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(rss, f"{rate:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--smtplib", type=int, default=1_000, help="messages for the slow loop")
    parser.add_argument("--memory", type=int, default=100_000, help="large maildir run (0: skip)")
    parser.add_argument("--quick", action="store_true", help="2,000 recipients, no memory run")
    parser.add_argument("--child-maildir", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_maildir:
        return child_maildir(args.child_maildir)
    if args.quick:
        args.recipients, args.smtplib, args.memory = 2_000, 300, 0
    for program in (SINK, SOURCE):
        if not Path(program).exists():
            raise SystemExit(f"{program} not found: install Debian's postfix package")

    master = Path("/var/spool/postfix/pid/master.pid")
    if master.exists():
        pid = master.read_text().strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            print(f"note: a postfix master daemon runs (PID {pid}); for quiet figures stop it")
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {os.cpu_count()} cores")
    sink, port = start_sink()
    try:
        with tempfile.TemporaryDirectory(prefix="pressdist-bench-") as tmp:
            ws = make_workspace(Path(tmp), args.recipients, port)
            from pressdist.sending import plan as planning
            from pressdist.workspace import Workspace

            probe = planning.plan(Workspace.open(ws), RELEASE, [], gateway="sink")
            rendered = probe.messages[probe.sendable[0]]
            sample = rendered.personalise(
                sender="pressestelle@example.org",
                to="leser@example.org",
                message_id="probe@example.org",
            )
            size = len(sample)
            print(f"rendered mail: {size} bytes; {args.recipients} recipients")

            src_new = measure_smtp_source(port, args.recipients, size, reuse=False)
            src_reuse = measure_smtp_source(port, args.recipients, size, reuse=True)
            total, run_only, sent, report = measure_pressdist(ws, "sink")
            if sent != args.recipients:
                print(f"WARNING: pressdist sent {sent} of {args.recipients}: {report}")
            loop = measure_smtplib(
                port, args.smtplib, rendered.text, rendered.html, rendered.subject
            )
    finally:
        sink.terminate()
        sink.wait()

    rows = [
        ("smtp-source, 1 session, new connection per message", src_new),
        ("smtp-source, 1 session, one connection (-d)", src_reuse),
        ("pressdist send (render + journal, smtp gateway)", total),
        ("  of which delivery run alone", run_only),
        ("plain smtplib loop (build, connect, send, quit)", loop),
    ]
    print()
    for label, rate in rows:
        print(f"{label:<55} {rate:8.0f} msgs/s")
    print()
    print(f"pressdist / smtp-source (new connection) {total / src_new:6.2f}")
    print(f"pressdist / smtp-source (-d)             {total / src_reuse:6.2f}")
    print(f"pressdist / smtplib loop                 {total / loop:6.1f}x")

    if args.memory:
        print()
        sizes = [10_000, args.memory]
        peaks = [peak_rss_child(n) for n in sizes]
        for n, (rss, rate) in zip(sizes, peaks, strict=True):
            print(
                f"maildir, {n:>7,} recipients: peak RSS {rss / 1024:6.1f} MiB, {rate:5.0f} msgs/s"
            )
        ratio = peaks[1][0] / peaks[0][0]
        print(f"peak RSS for {args.memory // 10_000}x the recipients: {ratio:.2f}x")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
