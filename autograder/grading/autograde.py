"""`autograde` as one call: the grading lock, the engine, the class graded, penalties recorded.

The command line and the tests call this, so what the tests grade is what instructors run:
the same default engine (`limits.ENGINE`), the same checks of the engine's options, the same
lock, and the late penalties written into the gradebook after every run.
"""

from __future__ import annotations

from pathlib import Path

from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.gradebook import record_penalties
from autograder.course.lock import grading_lock
from autograder.grading.run import StudentResult, grade_class
from autograder.sandbox.choice import make_engine
from autograder.sandbox.engine import Limits


def autograde(
    course: Course,
    students: list[str] | None = None,
    assignment: str = ASSIGNMENT,
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    sandboxed: bool = True,
    force: bool = False,
    notebooks: list[str] | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    dashboard: bool = False,
    tls_folder: Path | None = None,
    allow_plain_tcp: bool = False,
) -> dict[str, StudentResult]:
    """Grade every submission (or the named students'); each student's result."""
    with grading_lock(course, students or None):
        runner = make_engine(
            engine,
            workers=workers,
            limits=limits,
            sandboxed=sandboxed,
            scheduler=scheduler,
            dashboard=dashboard,
            tls_folder=tls_folder,
            allow_plain_tcp=allow_plain_tcp,
        )
        try:
            results = grade_class(course, runner, students, assignment, force, notebooks)
        finally:
            runner.close()
        record_penalties(course, assignment)
    return results
