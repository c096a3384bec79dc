"""Due dates and lateness: one set of rules for collect, autograde, feedback and export.

The due date is nbgrader's (the gradebook's `Assignment.duedate`, naive UTC), set by
`rnn-course release --due`. A submission's time is the trusted one in its `timestamp.txt`
(`intake/submitted.py`), and the penalty follows the course's `LatePolicy` (`settings.py`).
Every place that shows or counts lateness calls `lateness()`, so a report cannot disagree with
an export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from nbgrader.api import Gradebook, MissingEntry

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
    """The assignment's due date (aware, UTC) from the gradebook, or None if it has none."""
    with Gradebook(course.db_url) as gradebook:
        try:
            due = gradebook.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return due.replace(tzinfo=dt.UTC) if due else None


def set_due_date(course: Course, assignment: str, due: dt.datetime | None) -> None:
    with Gradebook(course.db_url) as gradebook:
        naive = due.astimezone(dt.UTC).replace(tzinfo=None) if due else None
        gradebook.update_or_create_assignment(assignment, duedate=naive)


@dataclass(frozen=True)
class Lateness:
    submitted_at: dt.datetime | None
    due: dt.datetime | None
    late_seconds: float  # 0 when on time, or when there is no due date or no time
    fraction: float  # share of the score taken (0 to 1)

    @property
    def late_by(self) -> str:
        """'' when on time, else e.g. '1 d 2 h 5 min'."""
        if self.late_seconds <= 0:
            return ""
        minutes = int(-(-self.late_seconds // 60))
        days, minutes = divmod(minutes, 1440)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
        return " ".join(parts + [f"{minutes} min"] * bool(minutes or not parts))

    def penalty(self, score: float) -> float:
        return round(score * self.fraction, 6)


def lateness(
    submitted_at: dt.datetime | None, due: dt.datetime | None, policy: LatePolicy
) -> Lateness:
    if submitted_at is None or due is None:
        return Lateness(submitted_at, due, 0.0, 0.0)
    late = max(0.0, (submitted_at - due).total_seconds())
    return Lateness(submitted_at, due, late, policy.fraction(late))


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
