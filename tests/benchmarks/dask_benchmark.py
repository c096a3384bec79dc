"""Benchmark: the Dask engine against the process pool, and what bounds a class of 10,000.

    .venv/bin/python tests/benchmarks/dask_benchmark.py [--students 20] [--workers N]

In one run, on one machine, with the same class and the same number of workers:

* `rnn-course autograde --engine pool` (the default) and `--engine dask` (a LocalCluster in the
  grading process, one Dask worker with a thread and a forked-sandbox slot per `--workers`),
  alternately, cold (the first
  run: the reference solution and the templates start) and then warm three times (`--force`); the
  Dask engine's overhead is its warm median over the pool's (goal: at most 5 %);
* Dask's own cost per task: trivial tasks through the default engine's in-process LocalCluster,
  through worker processes (as a cluster's are) and through a plain thread pool;
* the coordinator's gradebook writes on a real PostgreSQL server (Debian's, started here as in
  the tests): students' grades committed per second, in batches as grading writes them
  (`gradebook_benchmark.py` compares them with the earlier one-student transactions).

Then an estimate for 10,000 students on N workers from the measured cost per notebook, and the
rate of gradebook writes that bounds it however many workers there are.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradebook_benchmark import after, class_grades, rate  # noqa: E402
from grading_benchmark import class_arguments, class_submissions, released_course  # noqa: E402
from postgres_server import start_postgres  # noqa: E402

from autograder.course.folder import Course  # noqa: E402
from autograder.course.release import release  # noqa: E402
from autograder.results.scores import cell_scores  # noqa: E402

GOAL = 0.05  # the Dask engine's overhead over the pool, at most
RNN_COURSE = Path(sys.executable).with_name("rnn-course")
TRIVIAL_TASKS = 400
WRITTEN_STUDENTS = 1000
CLASS = 10_000
WARM_RUNS = 3


def autograde(course: Course, engine: str, workers: int, *extra: str) -> float:
    command = [RNN_COURSE, "autograde", "--course-dir", course.root, "--workers", workers]
    command += ["--engine", engine, *extra]
    started = time.perf_counter()
    subprocess.run(list(map(str, command)), check=True, capture_output=True)
    return time.perf_counter() - started


def nothing(number: int) -> int:
    return number


def seconds_per_task(cluster_options: dict) -> float:
    """Seconds per trivial task through a LocalCluster made with these options."""
    from distributed import Client, LocalCluster

    options = {"memory_limit": 0, "dashboard_address": None, "silence_logs": logging.ERROR}
    with LocalCluster(**options, **cluster_options) as cluster, Client(cluster) as client:
        client.gather(client.map(nothing, range(8), pure=False))  # workers started
        started = time.perf_counter()
        futures = [client.submit(nothing, i, pure=False) for i in range(TRIVIAL_TASKS)]
        client.gather(futures)
        return (time.perf_counter() - started) / TRIVIAL_TASKS


def per_task_overhead(workers: int) -> dict[str, float]:
    """Seconds per trivial task: the default engine's in-process cluster, worker processes (as
    on a cluster's machines) and, for scale, a plain thread pool."""
    costs = {
        "in-process (the default)": seconds_per_task(
            {"n_workers": 1, "threads_per_worker": workers, "processes": False}
        ),
        "worker processes": seconds_per_task(
            {"n_workers": workers, "threads_per_worker": 1, "processes": True}
        ),
    }
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        for future in [pool.submit(nothing, i) for i in range(TRIVIAL_TASKS)]:
            future.result()
        costs["thread pool"] = (time.perf_counter() - started) / TRIVIAL_TASKS
    return costs


def postgres_writes(work: Path) -> tuple[float, int]:
    """Students' grades committed per second into PostgreSQL (first run, batched as grading
    writes them), and grades per student."""
    server = start_postgres(durable=True)
    try:
        course = Course.open(work / "postgres", db_url=server.url())
        release(course)
        everyone = class_grades(course, WRITTEN_STUDENTS)
        grades = len(everyone[0].auto) + len(everyone[0].written)
        return rate(after(course), everyone), grades
    finally:
        server.stop()


def main() -> int:
    args = class_arguments(__doc__.splitlines()[0])
    n = args.workers
    print(
        f"{dt.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        empty = released_course(work / "release-only")
        students = class_submissions(work / "class", args.students, empty.folder("release", "."))
        courses = {e: released_course(work / e, students) for e in ("pool", "dask")}
        notebooks = len(students) * len(students["reference"])
        print(f"{len(students)} students x {len(students['reference'])} notebooks, {n} workers")

        seconds: dict[str, list[float]] = {"pool": [], "dask": []}
        cold = {e: autograde(courses[e], e, n) for e in ("pool", "dask")}
        for _ in range(WARM_RUNS):
            for engine in ("pool", "dask"):
                seconds[engine].append(autograde(courses[engine], engine, n, "--force"))
        same = all(
            cell_scores(courses["pool"], s) == cell_scores(courses["dask"], s) for s in students
        )
        task_costs = per_task_overhead(n)
        writes, grades = postgres_writes(work)

    warm = {e: statistics.median(s) for e, s in seconds.items()}
    overhead = warm["dask"] / warm["pool"] - 1
    print(f"\n{'engine':<42}{'cold s':>8}{f'warm s (median of {WARM_RUNS})':>22}{'s/notebook':>12}")
    for engine in ("pool", "dask"):
        label = f"rnn-course autograde --engine {engine} --workers {n}"
        print(
            f"{label:<42}{cold[engine]:>8.1f}{warm[engine]:>22.1f}{warm[engine] / notebooks:>12.3f}"
        )
    print(
        f"\nDask engine overhead, warm: {overhead:+.1%} "
        f"(cold: {cold['dask'] / cold['pool'] - 1:+.1%}; "
        f"goal at most {GOAL:.0%}); same scores for every student: {same}"
    )
    costs = ", ".join(f"{name} {cost * 1000:.2f} ms" for name, cost in task_costs.items())
    print(f"scheduling cost per task ({TRIVIAL_TASKS} trivial tasks, {n} workers): {costs}")
    print(
        f"PostgreSQL gradebook: {writes:.0f} students' grades committed per second "
        f"({grades} grades each, in batches, {WRITTEN_STUDENTS} students)"
    )

    core_seconds = warm["dask"] * n / notebooks  # a worker's time per notebook
    per_student = core_seconds * len(students["reference"])
    floor = CLASS / writes
    print(f"\n{CLASS:,} students, {per_student:.2f} worker-seconds each (measured, warm):")
    for workers in (n, 16, 64, 256, 1024):
        compute = CLASS * per_student / workers
        bound = "the gradebook's writes" if floor > compute else "the workers"
        total = max(compute, floor)
        print(f"  {workers:>5} workers: about {total / 60:>7.1f} min, bound by {bound}")
    print(
        f"  the coordinator writes {writes:.0f} students/s, so no number of workers grades "
        f"{CLASS:,} in under {floor / 60:.1f} min"
    )
    return 0 if overhead <= GOAL and same else 1


if __name__ == "__main__":
    sys.exit(main())
