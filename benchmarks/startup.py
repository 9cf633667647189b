"""Start-up: `pressdist --help` against a bare three-command Typer app's `--help`.

Run: python benchmarks/startup.py [--runs N]
Both are started as fresh processes by the same interpreter, interleaved, and
the median wall time of each is printed with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''
import typer

app = typer.Typer()


@app.command()
def one(name: str) -> None:
    """First command."""


@app.command()
def two(count: int = 1) -> None:
    """Second command."""


@app.command()
def three(flag: bool = False) -> None:
    """Third command."""


app()
'''


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        commands = {
            "bare typer app --help": [sys.executable, str(bare), "--help"],
            "pressdist --help": [sys.executable, "-m", "pressdist", "--help"],
        }
        for cmd in commands.values():  # warm the file cache
            _time(cmd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(_time(cmd))
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    for name, ms in medians.items():
        print(f"{name:28} {ms:7.1f} ms (median of {args.runs})")
    ratio = medians["pressdist --help"] / medians["bare typer app --help"]
    print(f"ratio pressdist / bare typer: {ratio:.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
