"""Grades out of the gradebook: one CSV row per student, one column per graded task.

Late work: `submitted_at` is the trusted submission time (in the course's time zone); `due` the
student's own due date, after their `extension` and the `late_tokens_spent` on this
assignment (`late_tokens_left`: what they have left for the term); `late_by` how long after
that, `late_penalty` the points the course's late policy takes, and `total` the score after it
(`score_before_penalty` before). `intake_note` says where the
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

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from autograder.course.allowances import shown_duration
from autograder.course.cells import grade_id as grade_id_of
from autograder.course.cells import is_graded, points
from autograder.course.deadlines import shown_time
from autograder.course.folder import ASSIGNMENT, Course
from autograder.grading.plan import plan_assignment
from autograder.intake.lms_import import roster_rows
from autograder.results.output_files import written_together
from autograder.results.scores import class_totals


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
            if not is_graded(cell):
                continue
            grade_id, auto = grade_id_of(cell) or "", cell.cell_type == "code"
            name = grade_id.removeprefix("test_") if auto else grade_id
            found.append(Column(name, grade_id, plan.name, points(cell), auto))
    return found


def grade_table(course: Course, assignment: str = ASSIGNMENT) -> list[dict[str, object]]:
    """One dict per student with a submission in the gradebook: column name → score, and the
    totals, time and status of `scores.class_totals` (so every output agrees)."""
    cols = columns(course, assignment)
    rows = []
    for found in class_totals(course, assignment):
        row: dict[str, object] = {"student_id": found.student}
        for col in cols:
            cell = found.cells.get(col.grade_id)
            row[col.name] = cell.score if cell else None
        row["score_before_penalty"] = found.before_penalty
        row["late_penalty"] = found.penalty
        row["total"] = found.total
        row["max_score"] = found.max_score
        row["submitted_at"] = shown_time(found.lateness.submitted_at, course.settings.timezone)
        spent = found.lateness.spent
        row["due"] = shown_time(found.lateness.own_due, course.settings.timezone)
        row["extension"] = shown_duration(spent.extension) if spent.extension else ""
        row["late_tokens_spent"] = spent.tokens
        row["late_tokens_left"] = spent.tokens_left
        row["late_by"] = found.lateness.late_by
        row["status"] = found.status
        row["intake_note"] = found.intake_note
        row["problems"] = found.problems  # not a column: the report's list
        row["awaiting"] = found.awaiting  # not a column: the report's count
        rows.append(row)
    return rows


def export_csv(
    course: Course,
    out: Path,
    assignment: str = ASSIGNMENT,
    nbgrader_csv: Path | None = None,
    roster: Path | None = None,
) -> int:
    """Write the grade table (and nbgrader's own export, if asked); returns the row count.
    With a roster, each row also has the student's `lms_id` and `name` from it."""
    rows = grade_table(course, assignment)
    fields = ["student_id", *(c.name for c in columns(course, assignment))]
    if roster is not None:
        people = {row["student_id"]: row for row in roster_rows(roster)}
        for row in rows:
            person = people.get(str(row["student_id"]), {})
            row["lms_id"], row["name"] = person.get("lms_id", ""), person.get("name", "")
        fields[1:1] = ["lms_id", "name"]
    fields += ["score_before_penalty", "late_penalty", "total", "max_score"]
    fields += ["submitted_at", "due", "extension", "late_tokens_spent", "late_tokens_left"]
    fields += ["late_by", "status", "intake_note"]
    targets = {Path(out): "--out"} | (
        {Path(nbgrader_csv): "--nbgrader-csv"} if nbgrader_csv else {}
    )
    with written_together(targets, course.root) as paths:
        with paths[Path(out).expanduser()].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(row[k]) for k in fields})
        if nbgrader_csv:
            plugin = CsvExportPlugin()
            plugin.to = str(paths[Path(nbgrader_csv).expanduser()])
            with Gradebook(course.db_url) as gradebook:
                plugin.export(gradebook)
    return len(rows)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A CSV cell: numbers as %g, text that a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return formula_quoted(value)
    return value


def formula_quoted(text: str) -> str:
    """Text a spreadsheet would run as a formula, quoted so that it shows as text."""
    return "'" + text if text.startswith(FORMULA_START) else text
