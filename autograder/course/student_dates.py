"""One student's dates, as the class hub shows them in their Assignments panel.

For each released assignment: the class's due date, the student's own (with their extension),
the late policy; and the student's late tokens: given, left, and what one is worth. Made by
`rnn-course dates --student NAME --json`, which the hub runs as the course's instructor when it
starts that student's server (`hub/dates.py`): only the student's own allowances leave the
instructor's folder, and only to them.
"""

from __future__ import annotations

import datetime as dt

from nbgrader.api import Assignment, Gradebook, SubmittedAssignment

from autograder.course.allowances import Allowances, shown_duration, spend_tokens
from autograder.course.deadlines import gradebook_time, student_due
from autograder.course.folder import Course


def _iso(when: dt.datetime | None) -> str | None:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if when else None


def student_dates(course: Course, student: str) -> dict:
    """The student's dates, as JSON-able data (times in ISO 8601, UTC)."""
    allowances = Allowances.load(course.root)
    settings = course.settings
    with Gradebook(course.db_url) as gradebook:
        dues = {
            name: gradebook_time(due)
            for name, due in gradebook.db.query(Assignment.name, Assignment.duedate)
        }
        submitted = {
            name: gradebook_time(when)
            for name, when in gradebook.db.query(Assignment.name, SubmittedAssignment.timestamp)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .filter(SubmittedAssignment.student_id == student)
        }
    spent = spend_tokens(allowances, student, dues, submitted, 60 * settings.late.grace_minutes)
    assignments = []
    for name in sorted(dues, key=lambda a: (dues[a] is None, dues[a] or dt.datetime.min, a)):
        due, extension = dues[name], allowances.extension(name, student)
        own = student_due(allowances, name, student, due)
        assignments.append(
            {
                "name": name,
                "due": _iso(due),
                "own_due": _iso(own),
                "extension": shown_duration(extension) if extension else "",
                "tokens_spent": spent[name].tokens,
            }
        )
    given = allowances.tokens_of(student)
    left = next(iter(spent.values())).tokens_left if spent else given
    return {
        "student": student,
        "timezone": settings.timezone,
        "late_policy": settings.late.describe(),
        "tokens": {"given": given, "left": left, "unit": allowances.token_unit},
        "assignments": assignments,
    }
