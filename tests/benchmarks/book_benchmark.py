"""Benchmark of the website: build times and the chapter's headline numbers.

    .venv/bin/python tests/benchmarks/book_benchmark.py [--output DIR]

Prints the seconds of a clean build (every page executed, every model trained; goal: under 10
minutes on 2 cores), each page's execution time, the chapter's PDF, and an unchanged rebuild
that re-reads every page (all from the execution cache), then the numbers a reader sees:
forecast MAE against the baselines and the noise floor, and each sentiment model's macro-F1
over its seeds. A script, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.site.build import ROOT, build_command, read_page_table, site_url, toc_pages
from autograder.site.chapter_pdf import PDF_NAME, print_pdf
from course_data import fetch_sentfin

GOAL_SECONDS = 600
EXECUTED = re.compile(r"book/(\S+)\.md: Executed notebook in ([\d.]+) seconds")


def timed_build(output: Path, *extra: str) -> tuple[float, dict[str, float]]:
    """Seconds of a build, and of each page it executed."""
    start = time.perf_counter()
    finished = subprocess.run(
        build_command(output, *extra), cwd=ROOT, check=True, capture_output=True, text=True
    )
    pages = {name: float(s) for name, s in EXECUTED.findall(finished.stdout + finished.stderr)}
    return time.perf_counter() - start, pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="build folder (default: a temporary one)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="rnn-course-bench-"))
    shutil.rmtree(output / "_build", ignore_errors=True)
    fetch_sentfin()

    print("building the book from a clean state (trains every model; minutes)...", flush=True)
    try:
        clean, pages = timed_build(output)
        started = time.perf_counter()
        html_root = output / "_build" / "html"
        print_pdf(html_root, toc_pages(), html_root / PDF_NAME, site_url())
        pdf = time.perf_counter() - started
        cached, _ = timed_build(output, "--all")
    except subprocess.CalledProcessError:
        print(
            "the build failed; `rnn-course site build` shows which page and cell", file=sys.stderr
        )
        return 1
    html = output / "_build" / "html" / "book"

    verdict = "within" if clean + pdf < GOAL_SECONDS else "OVER"
    print(f"\n{'clean build':<34}{clean:>9.1f} s")
    for name, seconds in sorted(pages.items()):
        print(f"  {'executing ' + name:<32}{seconds:>9.1f} s")
    print(f"{'the chapter as a PDF':<34}{pdf:>9.1f} s")
    print(f"{'clean build with the PDF':<34}{clean + pdf:>9.1f} s ({verdict} the 10-minute goal)")
    print(f"{'unchanged rebuild (--all, cached)':<34}{cached:>9.1f} s")

    mae = read_page_table(html / "05-forecasting.html", "validation MAE")["validation MAE"]
    naive, floor = mae["naive (last value)"], mae["noise floor σ·√(2/π)"]
    print("\nforecast, validation MAE          MAE   vs naive   vs floor")
    for name, value in mae.items():
        print(f"  {name:<31}{value:>7.3f}{value / naive:>10.3f}{value / floor:>10.3f}")

    scores = read_page_table(html / "06-financial-sentiment.html", "bidirectional SimpleRNN")
    print("\nsentiment, held-out test set            macro-F1 mean    sd   runs")
    for name, row in scores.iterrows():
        print(
            f"  {name:<38}{row['macro-F1 mean']:>9.3f}{row['spread (sd)']:>9.3f}"
            f"{int(row['runs']):>6}"
        )
    if not args.output:
        shutil.rmtree(output, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
