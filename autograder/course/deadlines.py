"""Due dates and lateness: one set of rules for collect, autograde, feedback and export.

The due date is nbgrader's (the gradebook's `Assignment.duedate`, naive UTC), set by
`rnn-course release --due`; a student's own extension and late tokens move it for them
(`allowances.py`). A submission's time is the trusted one in its `timestamp.txt`
(`intake/submitted.py`), and the penalty follows the course's `LatePolicy` (`settings.py`) on
what the allowances leave. Every place that shows or counts lateness calls `class_lateness()`
(or `lateness()`), so a report cannot disagree with an export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from nbgrader.api import Assignment, Gradebook, MissingEntry, SubmittedAssignment

from autograder.course.allowances import Allowances, Spent, shown_duration, spend_tokens
from autograder.course.folder import Course
from autograder.course.settings import LatePolicy, zone
from autograder.errors import CourseError

T = TypeVar("T")
DUE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_due(text: str, timezone: str) -> dt.datetime:
    """A due date typed by the instructor ("2026-12-01 23:59") in `timezone`, as aware UTC."""
    for form in DUE_FORMATS:
        try:
            local = dt.datetime.strptime(text.strip(), form)
        except ValueError:
            continue
        return local.replace(tzinfo=zone(timezone)).astimezone(dt.UTC)
    raise CourseError(f"due date {text!r}: write it as YYYY-MM-DD HH:MM (e.g. 2026-12-01 23:59)")


def due_date(course: Course, assignment: str) -> dt.datetime | None:
    """The assignment's due date (aware, UTC) from the gradebook, or None if it has none
    (a course without a gradebook yet has none, and gets no empty one made)."""
    if course.database is None and not course.gradebook.exists():
        return None
    with Gradebook(course.db_url) as gradebook:
        try:
            due = gradebook.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return gradebook_time(due)


def gradebook_time(when: dt.datetime | None) -> dt.datetime | None:
    """A time as nbgrader's gradebook stores it (naive, in UTC), made aware."""
    return when.replace(tzinfo=dt.UTC) if when else None


def set_due_date(course: Course, assignment: str, due: dt.datetime | None) -> None:
    with Gradebook(course.db_url) as gradebook:
        naive = due.astimezone(dt.UTC).replace(tzinfo=None) if due else None
        gradebook.update_or_create_assignment(assignment, duedate=naive)


@dataclass(frozen=True)
class Lateness:
    submitted_at: dt.datetime | None
    due: dt.datetime | None  # the class's due date
    late_seconds: float  # what the policy counts: after the extension and tokens; 0 if on time
    fraction: float  # share of the score taken (0 to 1)
    spent: Spent = Spent()  # the student's extension and the tokens this submission spent

    @property
    def late_by(self) -> str:
        """'' when on time, else e.g. '1 d 2 h 5 min'."""
        return shown_duration(self.late_seconds) if self.late_seconds > 0 else ""

    @property
    def own_due(self) -> dt.datetime | None:
        """The student's due date: the class's, moved by the extension and the tokens spent."""
        return self.due + dt.timedelta(seconds=self.spent.seconds) if self.due else None

    def penalty(self, score: float) -> float:
        return round(score * self.fraction, 6)


def lateness(
    submitted_at: dt.datetime | None,
    due: dt.datetime | None,
    policy: LatePolicy,
    spent: Spent | None = None,
) -> Lateness:
    spent = spent or Spent()
    if submitted_at is None or due is None:
        return Lateness(submitted_at, due, 0.0, 0.0, spent)
    late = max(0.0, (submitted_at - due).total_seconds() - spent.seconds)
    return Lateness(submitted_at, due, late, policy.fraction(late), spent)


def class_lateness(course: Course, gradebook: Gradebook, assignment: str) -> dict[str, Lateness]:
    """Each submitting student's lateness on `assignment`, with their extension and the tokens
    spent in submission order over every assignment they submitted (see `allowances.py`)."""
    allowances = Allowances.load(course.root)
    policy = course.settings.late
    rows = gradebook.db.query(Assignment.name, Assignment.duedate)
    dues = {name: gradebook_time(due) for name, due in rows}
    if assignment not in dues:
        return {}
    tokens = bool(allowances.default_tokens or any(allowances.tokens.values()))
    query = gradebook.db.query(
        Assignment.name, SubmittedAssignment.student_id, SubmittedAssignment.timestamp
    ).join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
    if not tokens:  # then only this assignment matters
        query = query.filter(Assignment.name == assignment)
        dues = {assignment: dues[assignment]}
    submitted: dict[str, dict[str, dt.datetime | None]] = {}
    for name, student, when in query:
        submitted.setdefault(student, {})[name] = gradebook_time(when)
    found = {}
    for student, mine in submitted.items():
        if assignment in mine:
            spent = spend_tokens(allowances, student, dues, mine, 60 * policy.grace_minutes)
            found[student] = lateness(mine[assignment], dues[assignment], policy, spent[assignment])
    return found


def student_due(
    allowances: Allowances, assignment: str, student: str, due: dt.datetime | None
) -> dt.datetime | None:
    """One student's due date before any token: the class's, moved by their extension. Which
    submission counts (`counting_order`) is decided against it."""
    if due is None:
        return None
    return due + dt.timedelta(seconds=allowances.extension(assignment, student))


def shown_time(when: dt.datetime | None, timezone: str) -> str:
    """A time as the class reads it: in the course's zone, to the second, with the zone name."""
    if when is None:
        return ""
    local = when.astimezone(zone(timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


def counting_order(
    items: list[T],
    when: Callable[[T], dt.datetime],
    due: dt.datetime | None,
    counts: str,
    newness: Callable[[T], object] | None = None,
) -> list[T]:
    """A student's submissions (or copies of one notebook) in the order the class's `counts`
    setting prefers them: `last` the newest first; `last-on-time` the newest made by the due
    date first, then the late ones, newest first. `newness` orders them where time alone does
    not (an LMS's resubmission number); by default, their time. Both doors (collect,
    import-zip) use it."""
    newest_first = sorted(items, key=newness or when, reverse=True)
    if counts == "last" or due is None:
        return newest_first
    on_time = [item for item in newest_first if when(item) <= due]
    return on_time + [item for item in newest_first if when(item) > due]
