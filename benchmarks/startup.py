"""Start-up time of the installed `stance` script: help and usage errors must answer well under a second.

    python benchmarks/startup.py [--runs 7]

Prints the median and slowest wall-clock time of each command over several runs (the first run, with a cold
file cache, included), next to `python -c pass` as the floor any Python command pays.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STANCE = Path(sys.executable).parent / "stance"
COMMANDS = (
    ["--help"],
    ["report", "--help"],
    ["status", "--help"],
    ["report", "--frq", "week"],  # a usage error
    ["bogus"],
)
TARGET_SECONDS = 1.0


def timed(command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        rows += [("stance " + " ".join(c), [str(STANCE), *c]) for c in COMMANDS]
        print(f"{'command':<32} {'median s':>9} {'slowest s':>10}   target < {TARGET_SECONDS:.1f} s")
        for label, command in rows:
            times = [timed(command, folder) for _ in range(args.runs)]
            print(f"{label:<32} {statistics.median(times):9.3f} {max(times):10.3f}")


if __name__ == "__main__":
    main()
