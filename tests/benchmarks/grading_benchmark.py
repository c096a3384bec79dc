"""Benchmark: grade the same class with stock `nbgrader autograde` and with `rnn-course autograde`.

    .venv/bin/python tests/benchmarks/grading_benchmark.py [--students 20]

Builds a class of full submissions (the reference, the untouched release and, for the others,
the reference with one plausible mistake from tests/assignment_mutants.py), releases the
assignment into two course folders, and grades the class in each: serially with nbgrader's own
autograde, then with the sandboxed grader at its defaults (bubblewrap on, one worker per core).
The sandboxed grader's first run also runs the reference solution once (its records are cached
per assignment version), so it is timed cold (with that run) and warm (a forced regrade).
Prints both times, the throughput ratios (goal: at least 1.8 on 2 cores) and checks that both
graders gave the same scores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assignment_mutants import MUTANTS  # noqa: E402

from autograder import sandbox  # noqa: E402
from autograder.autograde import autograde  # noqa: E402
from autograder.cells import answer_sources, replace_sources  # noqa: E402
from autograder.course import SOURCE_NOTEBOOKS, Course  # noqa: E402
from autograder.grading import grade_class, job_cells, plan_assignment  # noqa: E402
from autograder.release import release  # noqa: E402
from autograder.scores import cell_scores  # noqa: E402
from autograder.submissions import submit  # noqa: E402

GOAL = 1.8


def class_submissions(folder: Path, size: int, released: Path) -> dict[str, list[Path]]:
    """student → notebooks: reference, untouched, then one mutant each."""
    sources = sorted((SOURCE_NOTEBOOKS / "rnn").glob("*.ipynb"))
    answers = {p.name: answer_sources(p) for p in sources}
    students = {"reference": sources, "untouched": sorted(released.glob("*.ipynb"))}
    for mutant in MUTANTS[: max(0, size - 2)]:
        name = f"mutant-{mutant.grade_id}-{mutant.name}".replace("_", "-")
        notebooks = []
        for path in sources:
            if mutant.grade_id in answers[path.name]:
                notebook = nbformat.read(path, as_version=4)
                source = answers[path.name][mutant.grade_id]
                replace_sources(notebook, {mutant.grade_id: mutant.apply(source)})
                target = folder / name / path.name
                target.parent.mkdir(parents=True)
                nbformat.write(notebook, target)
                notebooks.append(target)
            else:
                notebooks.append(path)
        students[name] = notebooks
    return dict(list(students.items())[:size])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        stock, ours = Course.open(work / "stock"), Course.open(work / "ours")
        released = release(stock)
        release(ours)
        students = class_submissions(work / "class", args.students, released)
        for name, notebooks in students.items():
            submit(stock, name, notebooks)
            submit(ours, name, notebooks)
        print(
            f"{len(students)} students x {len(students['reference'])} notebooks, "
            f"{os.cpu_count()} cores"
        )

        started = time.perf_counter()
        outcomes = autograde(stock, list(students))
        stock_seconds = time.perf_counter() - started
        assert set(outcomes.values()) == {"ok"}, outcomes

        started = time.perf_counter()
        grade_class(ours, list(students))
        cold = time.perf_counter() - started
        started = time.perf_counter()
        grade_class(ours, list(students), force=True)
        warm = time.perf_counter() - started
        agree = same_scores(stock, ours, list(students))
        time_breakdown(ours)

    print(f"\n{'grader':<46}{'seconds':>9}{'s/student':>11}{'speed-up':>10}")
    rows = [
        ("nbgrader autograde (serial, no sandbox)", stock_seconds),
        ("rnn-course autograde (sandbox, cold)", cold),
        ("rnn-course autograde (sandbox, warm)", warm),
    ]
    for label, seconds in rows:
        print(
            f"{label:<46}{seconds:>9.1f}{seconds / len(students):>11.2f}"
            f"{stock_seconds / seconds:>9.2f}x"
        )
    print(f"\ngoal: at least {GOAL}x the stock throughput (cold: {stock_seconds / cold:.2f}x)")
    print(f"both graders gave the same auto scores to every student: {agree}")
    return 0 if stock_seconds / cold >= GOAL and agree else 1


def time_breakdown(course: Course) -> None:
    """Where a sandboxed notebook's time goes: start-up, imports, answers, tests."""
    print(
        f"\n{'one sandboxed run of the reference':<36}{'start-up':>9}{'TF/Keras':>9}"
        f"{'answers':>9}{'tests':>9}{'total':>9}"
    )
    for plan in plan_assignment(course):
        cells = job_cells(plan, None)
        run = sandbox.run([{"source": c.source} for c in cells], sandbox.Limits())
        spent = {"imports": 0.0, "answer": 0.0, "test": 0.0}
        for event in run.events:
            if event.get("event") != "end":
                continue
            cell = cells[event["cell"]]
            heavy = cell.kind == "setup" and ("keras" in cell.source or "tensorflow" in cell.source)
            kind = "imports" if heavy else ("test" if cell.kind == "test" else "answer")
            spent[kind] += event["seconds"]
        startup = run.seconds - sum(spent.values())
        print(
            f"{plan.name:<36}{startup:>9.1f}{spent['imports']:>9.1f}{spent['answer']:>9.1f}"
            f"{spent['test']:>9.1f}{run.seconds:>9.1f}"
        )


def same_scores(a: Course, b: Course, students: list[str]) -> bool:
    return all(
        {k: s.score for k, s in cell_scores(a, name).items() if s.auto}
        == {k: s.score for k, s in cell_scores(b, name).items() if s.auto}
        for name in students
    )


if __name__ == "__main__":
    sys.exit(main())
