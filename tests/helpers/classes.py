"""Small classes of submissions for the grading tests: the reference and plausible mistakes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assignment_mutants import MUTANTS

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.intake.submitted import submit
from helpers.assignment import solution_cells, write_variant

SUBMITTED_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def make_class(root: Path, work: Path, students: int = 5, when=SUBMITTED_AT) -> Course:
    """`students` students who each submit the from-scratch notebook: s0 the reference, the
    others one mistake each; all at `when`."""
    course = Course.open(root)
    release(course)
    solutions = solution_cells()
    notebook = solutions["rnn_forward"][0]
    chosen = [m for m in MUTANTS if solutions[m.grade_id][0] == notebook][: students - 1]
    submit(course, "s0", [notebook], when=when)
    for number, mutant in enumerate(chosen, start=1):
        source = solutions[mutant.grade_id][1]
        variant = write_variant(
            notebook, work / f"s{number}" / notebook.name, {mutant.grade_id: mutant.apply(source)}
        )
        submit(course, f"s{number}", [variant], when=when)
    return course
