"""Collect: put a student's notebooks where nbgrader expects a submission.

nbgrader grades `submitted/<student>/<assignment>/`, with the submission time in
`timestamp.txt`. Student ids become folder names, so only safe ids are accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from .course import ASSIGNMENT, Course
from .errors import CourseError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


def check_student_id(student: str) -> str:
    if not STUDENT_ID.match(student) or ".." in student:
        raise CourseError(
            f"{student!r} is not a usable student id: use letters, digits, '.', '_' or '-' "
            f"(at most 64, starting with a letter or digit)"
        )
    return student


def submit(
    course: Course,
    student: str,
    notebooks: list[Path],
    assignment: str = ASSIGNMENT,
    when: dt.datetime | None = None,
) -> Path:
    """Replace the student's submission with these notebooks and record when it was made."""
    target = course.folder("submitted", check_student_id(student), assignment)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for notebook in notebooks:
        shutil.copyfile(notebook, target / Path(notebook).name)
    when = when or dt.datetime.now(dt.UTC)
    (target / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT))
    return target
