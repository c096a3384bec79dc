"""Benchmark: how much a notebook that spins in many sessions slows an honest one beside it.

    sudo .venv/bin/python tests/benchmarks/fairness_benchmark.py [--spinners 24] [--runs 3]

In one run, on one machine, two sandbox slots (the default pool of a 2-core machine, forked
sandboxes): an honest notebook whose cell needs 2 CPU-seconds runs in one slot, alone and then
beside a notebook that starts `--spinners` processes, each in a session of its own, spinning.
Measured twice: with each slot's control group holding its runs to one CPU (the default, as
root) and without control groups (as an ordinary user has it). Prints the honest notebook's
wall time, median of `--runs`, and its slowdown beside the spinner.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.sandboxes import job  # noqa: E402

from autograder.sandbox import cgroups  # noqa: E402
from autograder.sandbox.engine import Limits  # noqa: E402
from autograder.sandbox.pool import SandboxPool  # noqa: E402

HONEST = "import time\nt = time.process_time()\nwhile time.process_time() - t < 2:\n    pass"
LIMITS = Limits(cell_seconds=120, notebook_seconds=300, processes=256)


def spinner(count: int) -> str:
    return (
        "import subprocess, sys, time\n"
        "spin = 'import os\\nos.setsid()\\nwhile True:\\n    pass'\n"
        f"spinners = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range({count})]\n"
        "time.sleep(30)"
    )


def honest_seconds(pool: SandboxPool, beside: str | None) -> float:
    """The honest notebook's run time, with `beside` running in the other slot (or nothing)."""
    other = pool.submit(job(beside)) if beside else None
    if other is not None:
        time.sleep(3)  # the spinners are up
    run = pool.submit(job(HONEST)).result()
    if other is not None:
        other.result()
    return run.seconds - run.startup_seconds


def measure(spinners: int, runs: int) -> dict[str, float]:
    pool = SandboxPool(2, LIMITS)
    try:
        pool.run(job("pass"))  # templates started
        alone = [honest_seconds(pool, None) for _ in range(runs)]
        beside = [honest_seconds(pool, spinner(spinners)) for _ in range(runs)]
        limited = any(group is not None and group.cpu_limited for group in pool.groups.values())
    finally:
        pool.close()
    return {
        "alone": statistics.median(alone),
        "beside": statistics.median(beside),
        "cpu limited": float(limited),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spinners", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: control groups need it (the comparison is with and without them)")
        return 1
    print(
        f"{dt.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}; {args.spinners} spinners in sessions "
        f"of their own, median of {args.runs}"
    )
    with_groups = measure(args.spinners, args.runs)
    cgroups.ControlGroup.ROOT = Path("/nonexistent")  # as an ordinary user: no groups
    without_groups = measure(args.spinners, args.runs)
    print(f"\n{'slots':<44}{'alone s':>9}{'beside s':>10}{'slowdown':>10}")
    for label, figures in (
        ("control groups, one CPU per run (as root)", with_groups),
        ("no control groups (as an ordinary user)", without_groups),
    ):
        slowdown = figures["beside"] / figures["alone"]
        print(f"{label:<44}{figures['alone']:>9.2f}{figures['beside']:>10.2f}{slowdown:>9.2f}x")
    return 0 if with_groups["cpu limited"] else 1


if __name__ == "__main__":
    sys.exit(main())
