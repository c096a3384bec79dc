"""Every write into nbgrader's gradebook that grading makes: grades in batches, and penalties.

The gradebook is nbgrader's own (SQLite in the course folder, or PostgreSQL), so its
formgrader, feedback and export keep working. Grading writes it in batches: the grades of many
students in one transaction, with the rows they need found in a few queries rather than one
query per grade. So recording keeps up with the workers on a large class (the benchmark prints
students per second), and a kill leaves each batch's students all recorded or none; the
resume state of a student is written only after their batch is committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from nbgrader.api import (
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    new_uuid,
)
from sqlalchemy import insert, update

from autograder.course.deadlines import class_lateness
from autograder.course.folder import Course
from autograder.errors import CourseError


@dataclass(frozen=True)
class StudentGrades:
    """One student's grades from one grading run."""

    student: str
    submitted_at: dt.datetime | None  # of the submission these grades are for
    auto: dict[tuple[str, str], float]  # (notebook, test cell grade_id) → points
    written: tuple[tuple[str, str], ...]  # (notebook, grade_id) of written answers


def record_grades(course: Course, assignment: str, batch: Sequence[StudentGrades]) -> None:
    """All of a batch's grades in one transaction. Scores set by hand in the formgrader stay
    (nbgrader's `manual_score` wins over `auto_score`); a written answer waits for one."""
    if not batch:
        return
    by_student = {grades.student: grades for grades in batch}
    names = list(by_student)
    with Gradebook(course.db_url) as gradebook:
        db = gradebook.db
        try:
            row = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"{assignment!r} is not in the gradebook yet: run `rnn-course release` first"
            ) from None
        known = {sid for (sid,) in db.query(Student.id).filter(Student.id.in_(names))}
        if missing := [name for name in names if name not in known]:
            db.execute(insert(Student), [{"id": name} for name in missing])
        submitted = dict(
            db.query(SubmittedAssignment.student_id, SubmittedAssignment.id).filter(
                SubmittedAssignment.assignment_id == row.id,
                SubmittedAssignment.student_id.in_(names),
            )
        )
        if new := [name for name in names if name not in submitted]:
            submitted |= _new_submissions(db, row, new)
        db.execute(
            update(SubmittedAssignment),
            [
                {"id": submitted[name], "timestamp": _naive_utc(by_student[name].submitted_at)}
                for name in names
            ],
        )
        changes = []
        for grade_id, student, notebook, cell, manual in _grades(db, row.id, names):
            grades = by_student[student]
            if (notebook, cell) in grades.auto:
                score = grades.auto[(notebook, cell)]
                changes.append({"id": grade_id, "auto_score": score, "needs_manual_grade": False})
            elif (notebook, cell) in grades.written:
                waiting = manual is None
                changes.append({"id": grade_id, "auto_score": None, "needs_manual_grade": waiting})
        if changes:
            db.execute(update(Grade), changes)
        db.commit()


def _naive_utc(when: dt.datetime | None) -> dt.datetime | None:
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when else None


def _new_submissions(db, assignment, students: list[str]) -> dict[str, str]:
    """Submissions mirroring the assignment's structure, as nbgrader's `add_submission` makes
    them (notebooks, a grade per graded cell, a comment per answer cell), inserted in bulk;
    student → submission id."""
    structure = [
        (
            notebook.id,
            [cell.id for cell in notebook.grade_cells],
            [cell.id for cell in notebook.solution_cells],
            [cell.id for cell in notebook.task_cells],
        )
        for notebook in assignment.notebooks
    ]
    made: dict[str, str] = {}
    rows: dict[type, list[dict]] = {SubmittedAssignment: [], SubmittedNotebook: [], Grade: []}
    rows[Comment] = []
    for student in students:
        made[student] = submission = new_uuid()
        rows[SubmittedAssignment].append(
            {"id": submission, "assignment_id": assignment.id, "student_id": student}
        )
        for notebook, graded, answers, tasks in structure:
            submitted = new_uuid()
            rows[SubmittedNotebook].append(
                {"id": submitted, "assignment_id": submission, "notebook_id": notebook}
            )
            rows[Grade] += [
                {"id": new_uuid(), "notebook_id": submitted, "cell_id": cell}
                for cell in graded + tasks
            ]
            rows[Comment] += [
                {"id": new_uuid(), "notebook_id": submitted, "cell_id": cell}
                for cell in answers + tasks
            ]
    for table, values in rows.items():  # parents first
        if values:
            db.execute(insert(table), values)
    return made


def _grades(db, assignment_id: str, students: list[str]):
    """(grade id, student, notebook name, cell name, manual score) of the students'
    submissions, in one query."""
    return (
        db.query(
            Grade.id,
            SubmittedAssignment.student_id,
            Notebook.name,
            BaseCell.name,
            Grade.manual_score,
        )
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Grade.cell_id == BaseCell.id)
        .filter(
            SubmittedAssignment.assignment_id == assignment_id,
            SubmittedAssignment.student_id.in_(students),
        )
        .all()
    )


def record_penalties(course: Course, assignment: str) -> int:
    """Write each graded submission's late penalty into nbgrader's gradebook, per notebook (its
    score times the policy's share, from the graded submission's time, the student's extension
    and the late tokens it spends), and the time the allowances add as nbgrader's `extension`,
    so nbgrader's own totals and exports agree with ours; returns how many submissions are
    late. Idempotent: every command that shows totals runs it first, so a policy, an allowance
    or a score changed since grading is never shown with a stale penalty."""
    late = 0
    with Gradebook(course.db_url) as gradebook:
        found = class_lateness(course, gradebook, assignment)
        if not found:
            return 0
        for submission in gradebook.assignment_submissions(assignment):
            lateness = found.get(submission.student_id)
            if lateness is None:
                continue
            late += lateness.late_seconds > 0
            moved = lateness.spent.seconds
            submission.extension = dt.timedelta(seconds=moved) if moved else None
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = lateness.penalty(notebook.score) or None
        gradebook.db.commit()
    return late


def assignment_names(course: Course) -> list[str]:
    """The names of the assignments in the gradebook."""
    with Gradebook(course.db_url) as gradebook:
        return [row.name for row in gradebook.assignments]
