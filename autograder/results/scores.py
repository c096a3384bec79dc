"""A student's scores and total, computed in one place that every output reads.

The CSV export, nbgrader's own CSV, the report and the feedback pages must never disagree, so
they all read `class_totals`: it first writes the late penalties into nbgrader's gradebook
from the graded submission's time and the course's current policy (`record_penalties`), then
reads each score as nbgrader counts it (a score set by hand replaces the tests' score, extra
credit is added), the penalty nbgrader holds, and the total as nbgrader's export computes it
(`max(0, raw - penalty)`). A row also says when it must not be taken as final: a newer
submission waits for grading (`regrade needed`), or written answers wait for a score by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.api import Gradebook, MissingEntry

from autograder.course.deadlines import Lateness, class_lateness, gradebook_time, lateness
from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.gradebook import record_penalties
from autograder.errors import CourseError
from autograder.grading.state import read_states, submission_digest

REGRADE_NEEDED = "regrade needed: a newer submission is not graded yet"
NOT_GRADED = "not graded by rnn-course"


@dataclass(frozen=True)
class CellScore:
    notebook: str
    grade_id: str
    score: float | None  # None: not graded yet (a written answer awaiting the instructor)
    max_score: float
    auto: bool  # graded by tests (True) or by hand (False)


@dataclass(frozen=True)
class StudentTotal:
    student: str
    cells: dict[str, CellScore]  # grade_id → score
    before_penalty: float  # nbgrader's raw score
    penalty: float  # nbgrader's late_submission_penalty (the course's policy)
    max_score: float
    lateness: Lateness  # of the graded submission
    problems: str  # "ok", or the grading problems (could not be graded, a newer submission)
    awaiting: int  # written answers still waiting for a score by hand
    intake_note: str | None  # of the graded submission
    notebook_penalties: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """The score after the late penalty, as nbgrader's export computes it."""
        return max(0.0, self.before_penalty - self.penalty)

    @property
    def status(self) -> str:
        """ "ok", or why this row is not final: its problems, written answers waiting."""
        parts = [] if self.problems == "ok" else [self.problems]
        if self.awaiting:
            parts.append(f"awaiting hand grading ({self.awaiting} written answers)")
        return "; ".join(parts) or "ok"


def graded_score(grade) -> float | None:
    """A grade's score as nbgrader counts it, or None for a written answer not graded yet.

    An instructor's score from the formgrader replaces the tests' score, and extra credit is
    added; exports, feedback and reports must agree with the formgrader, so all read this.
    """
    if grade.cell.cell_type != "code" and grade.manual_score is None:
        return None
    return grade.score


def _cells(submission) -> dict[str, CellScore]:
    return {
        grade.name: CellScore(
            notebook=notebook.name,
            grade_id=grade.name,
            score=graded_score(grade),
            max_score=grade.max_score,
            auto=grade.cell.cell_type == "code",
        )
        for notebook in submission.notebooks
        for grade in notebook.grades
    }


def cell_scores(course: Course, student: str, assignment: str = ASSIGNMENT) -> dict[str, CellScore]:
    """grade_id → score of every graded cell of one student's autograded submission."""
    with Gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry as error:
            raise CourseError(f"no graded submission of {assignment!r} by {student!r}") from error
        return _cells(submission)


def status_of(course: Course, student: str, state: dict, assignment: str) -> str:
    """The grading problems of a student's row: what grading reported, and a newer submission
    than the graded one ("ok" if none)."""
    if not state:
        return NOT_GRADED
    problems = [] if state.get("status", "ok") == "ok" else [str(state["status"])]
    folder = course.folder("submitted", student, assignment)
    try:
        current = submission_digest(folder) if folder.is_dir() else None
    except OSError:
        current = None
    if current != state.get("submission"):
        problems.append(REGRADE_NEEDED)
    return "; ".join(problems) or "ok"


def class_totals(course: Course, assignment: str = ASSIGNMENT) -> list[StudentTotal]:
    """Every graded student's total, penalties brought up to date first (see the module)."""
    record_penalties(course, assignment)
    states = read_states(course, assignment)
    totals = []
    with Gradebook(course.db_url) as gradebook:
        try:
            row = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment!r} is not in the gradebook: release it first") from None
        due = gradebook_time(row.duedate)
        late = class_lateness(course, gradebook, assignment)
        for submission in sorted(
            gradebook.assignment_submissions(assignment), key=lambda s: s.student_id
        ):
            student = submission.student_id
            state = states.get(student, {})
            cells = _cells(submission)
            when = gradebook_time(submission.timestamp)
            waiting = sum(1 for c in cells.values() if not c.auto and c.score is None)
            totals.append(
                StudentTotal(
                    student=student,
                    cells=cells,
                    before_penalty=float(submission.score),
                    penalty=float(submission.late_submission_penalty or 0.0),
                    max_score=float(row.max_score),
                    lateness=late.get(student) or lateness(when, due, course.settings.late),
                    problems=status_of(course, student, state, assignment),
                    awaiting=waiting,
                    intake_note=state.get("intake_note"),
                    notebook_penalties={
                        n.name: float(n.late_submission_penalty or 0.0)
                        for n in submission.notebooks
                    },
                )
            )
    return totals
