"""Benchmark: grade the same class with stock `nbgrader autograde` and with `rnn-course autograde`.

    .venv/bin/python tests/benchmarks/grading_benchmark.py [--students 20] [--workers N]

Builds a class of full submissions (the reference, the untouched release and, for the others,
the reference with one plausible mistake from tests/assignment_mutants.py) and grades it, in one
run, with:

* stock nbgrader as N parallel processes (N = cores by default), each on its own copy of the
  course with its own gradebook and a share of the students, as nbgrader's issue #174 suggests
  for parallel grading: the fair comparison, and the headline;
* `rnn-course autograde --workers N`, whose workers fork each notebook's sandbox from a
  pre-imported template (autograder/sandbox/template.py);
* each of them twice, cold (the first run; ours also runs the reference solution once and
  starts its templates) and warm (a second run; ours with --force);
* stock nbgrader serially, the figure earlier versions of this benchmark compared with;
* the grader with a fresh sandbox per notebook (`Limits(fork_from_template=False)`), whose scores
  the template grader must reproduce for every student.

Then where one notebook's time goes, forked from a template and in a sandbox of its own, and
what a template costs to start. Goal: at least 4x the fair stock throughput (3x to call it
done), with identical scores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assignment_mutants import MUTANTS  # noqa: E402
from helpers.sandboxes import raw_events  # noqa: E402
from stock_nbgrader import autograde as stock_autograde  # noqa: E402

from autograder.course.cells import answer_sources, replace_sources  # noqa: E402
from autograder.course.folder import SOURCE_NOTEBOOKS, Course  # noqa: E402
from autograder.course.release import release  # noqa: E402
from autograder.grading.autograde import autograde  # noqa: E402
from autograder.grading.jobs import job_cells, sandbox_job  # noqa: E402
from autograder.grading.plan import plan_assignment  # noqa: E402
from autograder.intake.submitted import submit  # noqa: E402
from autograder.results.scores import cell_scores  # noqa: E402
from autograder.sandbox import bubblewrap as sandbox  # noqa: E402
from autograder.sandbox import template as sandbox_template  # noqa: E402
from autograder.sandbox.engine import Job, Limits  # noqa: E402

GOAL, DONE = 4.0, 3.0  # times the fair stock throughput
RNN_COURSE = Path(sys.executable).with_name("rnn-course")
STOCK_PROCESS = (
    "import json, sys\n"
    f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
    "from stock_nbgrader import autograde\n"
    "from autograder.course.folder import Course\n"
    "print(json.dumps(autograde(Course.open(sys.argv[1]), sys.argv[2:])))\n"
)


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


def released_course(root: Path, students: dict[str, list[Path]] | None = None) -> Course:
    course = Course.open(root)
    release(course)
    for name, notebooks in (students or {}).items():
        submit(course, name, notebooks)
    return course


def timed(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def stock_in_parallel(shares: list[tuple[Course, list[str]]]) -> None:
    """Stock nbgrader, one process per course copy, all at once; every student must be 'ok'."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STOCK_PROCESS, str(course.root), *names],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for course, names in shares
    ]
    for process in processes:
        out, _ = process.communicate()
        outcomes = json.loads(out.strip().splitlines()[-1])
        assert process.returncode == 0 and set(outcomes.values()) == {"ok"}, outcomes


def ours(course: Course, workers: int, *extra: str) -> None:
    command = [RNN_COURSE, "autograde", "--course-dir", course.root, "--workers", workers, *extra]
    subprocess.run(list(map(str, command)), check=True, capture_output=True)


def class_arguments(description: str) -> argparse.Namespace:
    """--students and --workers, as both grading benchmarks take them; quiet libraries."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    logging.basicConfig(level=logging.ERROR)
    return parser.parse_args()


def main() -> int:
    args = class_arguments(__doc__.splitlines()[0])
    n = args.workers
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        serial = released_course(work / "stock")
        students = class_submissions(work / "class", args.students, serial.folder("release", "."))
        names = list(students)
        for name, notebooks in students.items():
            submit(serial, name, notebooks)
        shares = [
            (
                released_course(work / f"stock-{i}", {s: students[s] for s in names[i::n]}),
                names[i::n],
            )
            for i in range(n)
        ]
        forked = released_course(work / "ours", students)
        per_notebook = released_course(work / "per-notebook", students)
        print(
            f"{len(students)} students x {len(students['reference'])} notebooks, "
            f"{os.cpu_count()} cores, {n} workers / stock processes"
        )

        seconds = {}
        seconds["stock-cold"] = timed(stock_in_parallel, shares)
        seconds["ours-cold"] = timed(ours, forked, n)
        seconds["stock-warm"] = timed(stock_in_parallel, shares)
        seconds["ours-warm"] = timed(ours, forked, n, "--force")
        seconds["serial"] = timed(stock_autograde, serial, names)
        seconds["per-notebook"] = timed(
            autograde,
            per_notebook,
            names,
            workers=n,
            limits=Limits(fork_from_template=False),
        )

        scores = {name: auto_scores(forked, name) for name in names}
        same_as_per_notebook = all(auto_scores(per_notebook, s) == scores[s] for s in names)
        same_as_serial_stock = all(auto_scores(serial, s) == scores[s] for s in names)
        same_as_parallel_stock = all(
            auto_scores(course, s) == scores[s] for course, share in shares for s in share
        )
        time_breakdown(forked)

    print(f"\n{'grader':<58}{'seconds':>9}{'s/student':>11}{'vs fair':>9}{'vs serial':>11}")
    rows = [
        (f"nbgrader autograde, {n} processes, cold (fair)", "stock-cold", "stock-cold"),
        (f"nbgrader autograde, {n} processes, warm (fair)", "stock-warm", "stock-warm"),
        (f"rnn-course autograde --workers {n}, cold", "ours-cold", "stock-cold"),
        (f"rnn-course autograde --workers {n} --force, warm", "ours-warm", "stock-warm"),
        ("nbgrader autograde, serial, no sandbox", "serial", "stock-cold"),
        (f"rnn-course, a sandbox per notebook, {n} workers, cold", "per-notebook", "stock-cold"),
    ]
    for label, key, fair in rows:
        print(
            f"{label:<58}{seconds[key]:>9.1f}{seconds[key] / len(students):>11.2f}"
            f"{seconds[fair] / seconds[key]:>8.2f}x{seconds['serial'] / seconds[key]:>10.2f}x"
        )
    cold = seconds["stock-cold"] / seconds["ours-cold"]
    warm = seconds["stock-warm"] / seconds["ours-warm"]
    print(
        f"\nfair throughput, rnn-course over {n} stock nbgrader processes: {cold:.2f}x cold, "
        f"{warm:.2f}x warm (goal {GOAL}x, done at {DONE}x)"
    )
    print(f"same auto scores as the per-notebook grader, every student: {same_as_per_notebook}")
    print(
        f"same auto scores as stock nbgrader, serial and parallel: {same_as_serial_stock}, "
        f"{same_as_parallel_stock}"
    )
    agree = same_as_per_notebook and same_as_serial_stock and same_as_parallel_stock
    return 0 if min(cold, warm) >= DONE and agree else 1


def auto_scores(course: Course, student: str) -> dict[str, float]:
    return {k: s.score for k, s in cell_scores(course, student).items() if s.auto}


def time_breakdown(course: Course) -> None:
    """Where one notebook's time goes, forked from a warm template and in a sandbox of its
    own (the reference solution, alone on the machine), and what a template costs to start."""
    plans = plan_assignment(course)
    template = sandbox_template.Template(0)
    limits = Limits()
    jobs = {}
    for plan in plans:
        cells = job_cells(plan, None)
        jobs[plan.name] = (cells, sandbox_job(cells, limits))
    try:
        started = time.perf_counter()
        template.run(Job(()), limits)
        print(
            f"\na template: {template.start_seconds:.2f} s to start (bubblewrap, Python, "
            f"IPython, NumPy), ",
            end="",
        )
        for _, job in jobs.values():
            template.run(Job((), job.setup), limits)
        print(
            f"{template.warm_seconds:.2f} s to import the setup cells' modules "
            f"({time.perf_counter() - started:.2f} s in all)"
        )
        print(
            f"\n{'one run of the reference':<40}{'start':>8}{'setup':>8}{'answers':>9}"
            f"{'tests':>8}{'exit':>8}{'total':>8}"
        )
        for name, (cells, job) in jobs.items():
            for engine in ("forked", "per-notebook"):
                if engine == "forked":
                    run = template.run(job, limits)
                else:
                    run = sandbox.run(job, limits)
                spent = {"setup": 0.0, "answer": 0.0, "test": 0.0}
                for event in raw_events(run):
                    if event.get("event") == "end":
                        kind = cells[event["cell"]].kind
                        spent[kind if kind in spent else "answer"] += event["seconds"]
                rest = run.seconds - run.startup_seconds - sum(spent.values())
                print(
                    f"{name + ' (' + engine + ')':<40}{run.startup_seconds:>8.2f}"
                    f"{spent['setup']:>8.2f}{spent['answer']:>9.2f}{spent['test']:>8.2f}"
                    f"{rest:>8.2f}{run.seconds:>8.2f}"
                )
    finally:
        template.close()


if __name__ == "__main__":
    sys.exit(main())
