"""Benchmark of the student's experience: run each released notebook with correct answers.

    .venv/bin/python tests/benchmarks/assignment_benchmark.py

Releases the `rnn` assignment into a temporary course, writes the reference solution into each
released notebook's answer cells (the visible tests stay as students get them), runs it top to
bottom in a fresh kernel, and prints wall-clock seconds, the kernel's CPU seconds (the goal: under
60 per notebook) and whether every visible test passed.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from autograder.course.cells import answer_sources, replace_sources
from autograder.course.folder import SOURCE_NOTEBOOKS, Course
from autograder.course.release import release

CPU_GOAL_SECONDS = 60


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_as_student(notebook: nbformat.NotebookNode) -> tuple[float, float, list[str]]:
    """Wall seconds, kernel CPU seconds, and the grade ids of test cells that failed."""
    cpu, wall = children_cpu_seconds(), time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True).execute()
    wall, cpu = time.perf_counter() - wall, children_cpu_seconds() - cpu
    failed = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in notebook.cells
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
    ]
    return wall, cpu, failed


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        released = release(Course.open(folder))
        print(f"{'notebook':<32}{'wall s':>8}{'kernel CPU s':>14}  visible tests")
        worst = 0.0
        for path in sorted(released.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            replace_sources(notebook, answer_sources(SOURCE_NOTEBOOKS / released.name / path.name))
            wall, cpu, failed = run_as_student(notebook)
            worst = max(worst, cpu)
            verdict = "all pass" if not failed else "FAILED: " + ", ".join(failed)
            print(f"{path.name:<32}{wall:>8.1f}{cpu:>14.1f}  {verdict}")
    print(f"\nslowest notebook: {worst:.1f} s of kernel CPU (goal: under {CPU_GOAL_SECONDS} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
