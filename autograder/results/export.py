"""Grades out of the gradebook: one CSV row per student, one column per graded task.

Late work: `submitted_at` is the trusted submission time (in the course's time zone), `late_by`
how long after the due date, `late_penalty` the points the course's late policy takes, and
`total` the score after it (`score_before_penalty` before). `intake_note` says where the
student's claimed time and the observed one disagreed, or which of several submissions counted.

Columns are named by the task's answer grade_id (`jacobian_norms`, not `test_jacobian_norms`)
because that is the fixed interface instructors know; written answers keep their own ids. Scores
are nbgrader's: a score the instructor set in the formgrader replaces the tests' one. A written
answer not graded by hand yet is left empty, not counted as 0, so the instructor sees what is
still to do.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from autograder.course.deadlines import due_date, shown_time
from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.grading.run import plan_assignment, read_states
from autograder.intake.submitted import intake_record
from autograder.results.output_files import written_together
from autograder.results.scores import graded_score, student_lateness


@dataclass(frozen=True)
class Column:
    name: str  # in the CSV
    grade_id: str  # in the gradebook
    notebook: str
    max_score: float
    auto: bool


def columns(course: Course, assignment: str = ASSIGNMENT) -> list[Column]:
    """The graded cells in the order of the notebooks, as CSV columns."""
    found = []
    for plan in plan_assignment(course, assignment):
        for cell in plan.source.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta.get("grade"):
                continue
            grade_id, auto = meta["grade_id"], cell.cell_type == "code"
            name = grade_id.removeprefix("test_") if auto else grade_id
            found.append(Column(name, grade_id, plan.name, float(meta["points"]), auto))
    return found


def grade_table(course: Course, assignment: str = ASSIGNMENT) -> list[dict[str, object]]:
    """One dict per student with a submission in the gradebook: column name → score."""
    cols = columns(course, assignment)
    states = read_states(course, assignment)
    due = due_date(course, assignment)
    rows = []
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment!r} is not in the gradebook: release it first") from None
        for student in sorted(s.id for s in gradebook.students):
            try:
                gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            row: dict[str, object] = {"student_id": student}
            total = 0.0
            for col in cols:
                grade = gradebook.find_grade(col.grade_id, col.notebook, assignment, student)
                row[col.name] = score = graded_score(grade)
                total += score or 0.0
            found = student_lateness(course, student, assignment, due)
            row["score_before_penalty"] = total
            row["late_penalty"] = found.penalty(total)
            row["total"] = total - row["late_penalty"]
            row["max_score"] = sum(c.max_score for c in cols)
            row["submitted_at"] = shown_time(found.submitted_at, course.settings.timezone)
            row["late_by"] = found.late_by
            row["status"] = states.get(student, {}).get("status", "not graded by rnn-course")
            row["intake_note"] = intake_record(course.folder("submitted", student, assignment)).get(
                "note"
            )
            rows.append(row)
    return rows


def export_csv(
    course: Course, out: Path, assignment: str = ASSIGNMENT, nbgrader_csv: Path | None = None
) -> int:
    """Write the grade table (and nbgrader's own export, if asked); returns the row count."""
    rows = grade_table(course, assignment)
    fields = ["student_id", *(c.name for c in columns(course, assignment))]
    fields += ["score_before_penalty", "late_penalty", "total", "max_score"]
    fields += ["submitted_at", "late_by", "status", "intake_note"]
    targets = {Path(out): "--out"} | (
        {Path(nbgrader_csv): "--nbgrader-csv"} if nbgrader_csv else {}
    )
    with written_together(targets) as paths:
        with paths[Path(out).expanduser()].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
        if nbgrader_csv:
            plugin = CsvExportPlugin()
            plugin.to = str(paths[Path(nbgrader_csv).expanduser()])
            with Gradebook(course.db_url) as gradebook:
                plugin.export(gradebook)
    return len(rows)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return value
