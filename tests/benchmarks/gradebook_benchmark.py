"""Benchmark: students' grades written into the gradebook per second, before and after batching.

    .venv/bin/python tests/benchmarks/gradebook_benchmark.py [--students 2000]

In one run, on one machine, into a real PostgreSQL server (Debian's, started here with fsync
on, as a real gradebook runs) and into SQLite, the same students' grades (13 per student: the
`rnn` assignment's tasks and written answers) written two ways:

* **before**: one transaction per student through nbgrader's own API, as grading did until
  the batching (`update_or_create_student`, `add_submission`, `find_grade` per grade, commit);
* **after**: `autograder.course.gradebook.record_grades`, `limits.GRADEBOOK_BATCH` students per
  transaction, each batch's rows found in a few queries.

Both write new submissions (a first grading run) and then the same students again (a regrade).
Goal: at least 200 students per second into PostgreSQL, so 10,000 students cost under a minute
of writing. The two gradebooks are then compared row by row: the same scores for every grade.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbgrader.api import Gradebook, MissingEntry  # noqa: E402
from postgres_server import start_postgres  # noqa: E402

from autograder import limits  # noqa: E402
from autograder.course.folder import Course  # noqa: E402
from autograder.course.gradebook import StudentGrades, record_grades  # noqa: E402
from autograder.course.release import release  # noqa: E402
from autograder.grading.plan import plan_assignment  # noqa: E402

GOAL = 200.0  # students per second into PostgreSQL
WHEN = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def class_grades(course: Course, students: int) -> list[StudentGrades]:
    """Made-up grades for `students` students, over the real assignment's cells."""
    plans = plan_assignment(course)
    tasks = [(p.name, t.grade_id, t.points) for p in plans for t in p.tasks.values()]
    written = tuple((p.name, grade_id) for p in plans for grade_id in p.written)
    return [
        StudentGrades(
            f"student-{number:05d}",
            WHEN,
            {
                (notebook, grade_id): float((number + i) % 2) * points
                for i, (notebook, grade_id, points) in enumerate(tasks)
            },
            written,
        )
        for number in range(students)
    ]


def per_student(course: Course, grades: StudentGrades, assignment: str = "rnn") -> None:
    """The earlier way: one student in one transaction through nbgrader's API."""
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_student(grades.student)
        try:
            submission = gradebook.find_submission(assignment, grades.student)
        except MissingEntry:
            submission = gradebook.add_submission(assignment, grades.student)
        submission.timestamp = grades.submitted_at.replace(tzinfo=None)
        for (notebook, grade_id), score in grades.auto.items():
            grade = gradebook.find_grade(grade_id, notebook, assignment, grades.student)
            grade.auto_score = score
            grade.needs_manual_grade = False
        for notebook, grade_id in grades.written:
            grade = gradebook.find_grade(grade_id, notebook, assignment, grades.student)
            grade.auto_score = None
            grade.needs_manual_grade = grade.manual_score is None
        gradebook.db.commit()


def rate(write, everyone: list[StudentGrades]) -> float:
    started = time.perf_counter()
    write(everyone)
    return len(everyone) / (time.perf_counter() - started)


def before(course: Course):
    def write(everyone: list[StudentGrades]) -> None:
        for grades in everyone:
            per_student(course, grades)

    return write


def after(course: Course):
    def write(everyone: list[StudentGrades]) -> None:
        for start in range(0, len(everyone), limits.GRADEBOOK_BATCH):
            record_grades(course, "rnn", everyone[start : start + limits.GRADEBOOK_BATCH])

    return write


def scores(course: Course) -> dict[tuple, tuple]:
    with Gradebook(course.db_url) as gradebook:
        return {
            (s.student_id, n.name, g.name): (g.auto_score, g.needs_manual_grade)
            for s in gradebook.assignment_submissions("rnn")
            for n in s.notebooks
            for g in n.grades
        }


def measure(make_course, students: int) -> dict[str, float]:
    """Students per second, first run and regrade, before and after, into fresh gradebooks."""
    figures, courses = {}, {}
    for way, writer in (("before", before), ("after", after)):
        course = make_course(way)
        release(course)
        everyone = class_grades(course, students)
        figures[f"{way}, first run"] = rate(writer(course), everyone)
        figures[f"{way}, regrade"] = rate(writer(course), everyone)
        courses[way] = course
    figures["same rows"] = float(scores(courses["before"]) == scores(courses["after"]))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    args = parser.parse_args()
    print(
        f"{dt.date.today()}, {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"{args.students} students, batches of {limits.GRADEBOOK_BATCH}"
    )
    results = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        server = start_postgres(durable=True)
        try:
            databases = iter(range(100))

            def postgres_course(way: str) -> Course:
                name = f"gradebook_{next(databases)}"
                server.psql(f"CREATE DATABASE {name} OWNER instructor")
                return Course.open(work / f"pg-{way}", db_url=server.url(database=name))

            results["PostgreSQL"] = measure(postgres_course, args.students)
        finally:
            server.stop()
        results["SQLite"] = measure(lambda way: Course.open(work / f"sqlite-{way}"), args.students)
    print(f"\n{'gradebook':<12}{'writes':<22}{'students/s':>12}")
    for database, figures in results.items():
        for label, value in figures.items():
            if label != "same rows":
                print(f"{database:<12}{label:<22}{value:>12.1f}")
        print(f"{database:<12}same grades either way: {bool(figures['same rows'])}")
    postgres = results["PostgreSQL"]
    slowest = min(postgres["after, first run"], postgres["after, regrade"])
    speedup = slowest / min(postgres["before, first run"], postgres["before, regrade"])
    print(
        f"\nPostgreSQL, batched: at least {slowest:.0f} students/s ({speedup:.1f}x the earlier "
        f"writes; goal {GOAL:.0f}): 10,000 students in {10_000 / slowest:.0f} s of writing"
    )
    agree = all(bool(r["same rows"]) for r in results.values())
    return 0 if slowest >= GOAL and agree else 1


if __name__ == "__main__":
    sys.exit(main())
