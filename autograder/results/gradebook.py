"""Writes into nbgrader's gradebook that are the results' own: late penalties per notebook."""

from __future__ import annotations

from nbgrader.api import Gradebook

from autograder.course.deadlines import due_date
from autograder.course.folder import Course
from autograder.results.scores import student_lateness


def record_penalties(course: Course, assignment: str) -> int:
    """Write each graded submission's late penalty into nbgrader's gradebook, per notebook
    (the notebook's score times the policy's share), so nbgrader's own totals and exports
    agree; returns how many submissions are late. Idempotent: run after every autograde."""
    due = due_date(course, assignment)
    late = 0
    with Gradebook(course.db_url) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            found = student_lateness(course, submission.student_id, assignment, due)
            late += found.late_seconds > 0
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = found.penalty(notebook.score) or None
        gradebook.db.commit()
    return late
