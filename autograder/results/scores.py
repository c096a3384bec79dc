"""Scores as nbgrader's gradebook holds them, per student and per graded cell."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from autograder.course.deadlines import Lateness, lateness
from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.intake.submitted import submission_time


@dataclass(frozen=True)
class CellScore:
    notebook: str
    grade_id: str
    score: float | None  # None: not graded yet (a written answer awaiting the instructor)
    max_score: float
    auto: bool  # graded by tests (True) or by hand (False)


def graded_score(grade) -> float | None:
    """A grade's score as nbgrader counts it, or None for a written answer not graded yet.

    An instructor's score from the formgrader replaces the tests' score, and extra credit is
    added; exports, feedback and reports must agree with the formgrader, so all read this.
    """
    if grade.cell.cell_type != "code" and grade.manual_score is None:
        return None
    return grade.score


def cell_scores(course: Course, student: str, assignment: str = ASSIGNMENT) -> dict[str, CellScore]:
    """grade_id → score of every graded cell of one student's autograded submission."""
    with Gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry as error:
            raise CourseError(f"no graded submission of {assignment!r} by {student!r}") from error
        scores = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                auto = grade.cell.cell_type == "code"
                scores[grade.name] = CellScore(
                    notebook=notebook.name,
                    grade_id=grade.name,
                    score=graded_score(grade),
                    max_score=grade.max_score,
                    auto=auto,
                )
        return scores


def student_lateness(
    course: Course, student: str, assignment: str, due: dt.datetime | None
) -> Lateness:
    """The lateness of a student's current submission (from its trusted timestamp.txt)."""
    folder = course.folder("submitted", student, assignment)
    return lateness(submission_time(folder), due, course.settings.late)
