"""Benchmark of the website: build times and the chapter's headline numbers.

    .venv/bin/python tests/benchmarks/book_benchmark.py [--output DIR]

Prints the seconds of a clean build (every page executed, every model trained) and of an
unchanged rebuild that re-reads every page (all from the execution cache), then the numbers a
reader sees: forecast MAE against the naive forecast and the noise floor, and each sentiment
model's accuracy and macro-F1. A script, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.site import ROOT, build_command, read_page_table
from course_data import fetch_sentfin


def timed_build(output: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        build_command(output, "--quiet", *extra),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="build folder (default: a temporary one)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="rnn-course-bench-"))
    shutil.rmtree(output / "_build", ignore_errors=True)
    fetch_sentfin()

    print("building the book from a clean state (trains every model; minutes)...", flush=True)
    try:
        clean = timed_build(output)
        cached = timed_build(output, "--all")
    except subprocess.CalledProcessError:
        print(
            "the build failed; `rnn-course site build` shows which page and cell", file=sys.stderr
        )
        return 1
    html = output / "_build" / "html" / "book"

    print(f"\n{'clean build':<34}{clean:>9.1f} s")
    print(f"{'unchanged rebuild (--all, cached)':<34}{cached:>9.1f} s")

    mae = read_page_table(html / "05-forecasting.html", "validation MAE")["validation MAE"]
    naive, floor = mae["naive (last value)"], mae["noise floor σ·√(2/π)"]
    print("\nforecast, validation MAE     MAE   vs naive   vs floor")
    for name, value in mae.items():
        print(f"  {name:<26}{value:>7.3f}{value / naive:>10.3f}{value / floor:>10.3f}")

    scores = read_page_table(html / "06-financial-sentiment.html", "bidirectional SimpleRNN")
    print("\nsentiment, held-out test set               accuracy  macro-F1")
    for name, row in scores.iterrows():
        print(f"  {name:<40}{row['accuracy']:>9.3f}{row['macro-F1']:>10.3f}")
    if not args.output:
        shutil.rmtree(output, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
