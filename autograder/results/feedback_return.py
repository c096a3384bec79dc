"""Feedback back to the students, through nbgrader's exchange, each page to its student only.

nbgrader's feedback exchange names each page after a hash of the notebook's name and the
`submission_secret.txt` that the student's `nbgrader submit` wrote (a 64-byte random secret,
kept in the student's own cache and copied by `collect`). The exchange's feedback folder is
traversable but not listable (711), so a page can be fetched only by someone who holds that
secret: its student. Students who did not submit through the exchange (an LMS import, a
submission the instructor put in) have no secret, and are listed instead.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from autograder.course.exchange import check_exchange
from autograder.course.folder import ASSIGNMENT, COURSE_ID, Course, nbgrader_failure
from autograder.errors import CourseError
from autograder.grading.plan import plan_assignment
from autograder.grading.submission import match_notebooks
from autograder.intake.untrusted import usable_file_name

SECRET = "submission_secret.txt"


@dataclass
class Returned:
    students: list[str] = field(default_factory=list)
    without_exchange: list[str] = field(default_factory=list)  # no secret: not returnable


def return_feedback(course: Course, students: list[str], assignment: str = ASSIGNMENT) -> Returned:
    """Release each student's feedback pages into the exchange (nbgrader's release_feedback)."""
    check_exchange(course)
    if not (course.exchange / COURSE_ID / "inbound").is_dir():
        raise CourseError(
            f"{course.exchange / COURSE_ID} has no inbound folder: the assignment was not "
            "released to this exchange, so no student can fetch feedback from it"
        )
    returned = Returned()
    api = course.api()
    plans = plan_assignment(course, assignment)
    for student in students:
        submitted = course.folder("submitted", student, assignment)
        pages = course.folder("feedback", student, assignment)
        if not (submitted / SECRET).is_file() or not list(pages.glob("*.html")):
            returned.without_exchange.append(student)
            continue
        for name in (SECRET, "timestamp.txt"):
            shutil.copyfile(submitted / name, pages / name)
        # nbgrader's fetch_feedback looks a page up by the name the student's notebook had: a
        # notebook submitted as a copy ("01-gradients-Copy1.ipynb") and graded as
        # 01-gradients.ipynb gets its page under that name too
        found, _ = match_notebooks(submitted, plans)
        for notebook, path in found.items():
            page = pages / f"{notebook}.html"
            if path.stem != notebook and page.is_file() and usable_file_name(f"{path.stem}.html"):
                shutil.copyfile(page, pages / f"{path.stem}.html")
        result = api.release_feedback(assignment, student)
        if not result["success"]:
            raise nbgrader_failure("release_feedback", result)
        returned.students.append(student)
    return returned
