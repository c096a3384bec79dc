"""Stock nbgrader autograde, serial and unsandboxed: the baseline the course's grader is measured
against (tests/benchmarks/grading_benchmark.py) and a check that the notebooks also work for
instructors who grade with nbgrader alone.

nbgrader restores the locked cells (tests included) from the gradebook, executes the notebook
with the instructor's rights and records each test cell's score. `rnn-course autograde` uses
`grading.py` instead: sandboxed, parallel, and judged outside the student's kernel.
"""

from __future__ import annotations

import logging

from tqdm import tqdm

from autograder.course.folder import ASSIGNMENT, Course, nbgrader_failure
from autograder.errors import CourseError
from autograder.intake.submitted import check_student_id, submitted_students

log = logging.getLogger(__name__)


def autograde(
    course: Course,
    students: list[str] | None = None,
    assignment: str = ASSIGNMENT,
    notebook: str = "*",
) -> dict[str, str]:
    """Grade each student's submission (all, by default); returns student → 'ok' or the error.

    `notebook` restricts grading to one notebook of the assignment (its name without .ipynb).
    A failure of one student's grading is reported, not raised, so one broken submission does
    not stop the class's grading.
    """
    students = [check_student_id(s) for s in students or submitted_students(course, assignment)[0]]
    if not students:
        raise CourseError(f"no submissions of {assignment!r} in {course.root / 'submitted'}")
    api = course.api(**{"CourseDirectory.notebook_id": notebook})
    outcomes = {}
    for student in tqdm(
        students, desc=f"autograding {assignment}", unit="student", disable=len(students) < 2
    ):
        result = api.autograde(assignment, student, force=True, create=True)
        outcomes[student] = (
            "ok" if result["success"] else str(nbgrader_failure("autograde", result))
        )
        if not result["success"]:
            log.error("%s: %s", student, outcomes[student])
    return outcomes
