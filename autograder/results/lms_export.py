"""Grades back into the LMS the class came from, in the LMS's own grade-import format.

Keyed by the roster's `lms_id` (the file `rnn-course import-zip` reads; optional columns `name`,
`first_name`, `last_name`, `email`, `sis_user_id`, `sis_login_id` and `section` fill the
LMS's other columns), with each student's total after late penalties, as every other output
counts it (`scores.class_totals`):

* **Canvas** (Grades → Import): the gradebook CSV's columns `Student`, `ID` (the Canvas user
  id: the lms_id), `SIS User ID`, `SIS Login ID`, `Section`, then one column per assignment
  titled `Name (assignment id)` as Canvas's own export titles it, and its `Points Possible` row.
* **Moodle** (Grades → Import → CSV file): the columns of Moodle's CSV grade export,
  `First name`, `Last name`, `ID number` (the lms_id), `Email address` and the grade item
  `Assignment: name (Real)`; map `ID number` to `useridnumber` when importing.

A student with grades but no row in the roster is refused by name, never left out in silence;
a roster row without grades is written with an empty grade (the LMS leaves it unchanged).
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.intake.lms_import import roster_rows
from autograder.results.export import formula_quoted
from autograder.results.output_files import written_together
from autograder.results.scores import StudentTotal, class_totals

FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")


def _names(row: dict[str, str]) -> tuple[str, str]:
    """(first, last) from the roster's first_name/last_name, or split from `name`."""
    first, last = row.get("first_name", ""), row.get("last_name", "")
    if first or last:
        return first, last
    name = row.get("name", "")
    if "," in name:  # "Doe, Jane", as Canvas writes it
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


def _score(total: StudentTotal | None) -> str:
    return "" if total is None else f"{total.total:g}"


def lms_table(
    course: Course, roster: Path, lms: str, title: str | None, assignment: str = ASSIGNMENT
) -> tuple[list[str], list[list[str]], list[str]]:
    """(header, rows, students whose total is not final yet) in the LMS's format."""
    if lms not in FORMATS:
        raise CourseError(f"LMS format {lms!r}: choose one of {', '.join(FORMATS)}")
    people = roster_rows(roster)
    totals = {found.student: found for found in class_totals(course, assignment)}
    listed = {row["student_id"] for row in people}
    missing = sorted(set(totals) - listed)
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise CourseError(
            f"{len(missing)} graded students have no row in the roster {roster}: {shown}; add "
            "their lms_id, or they would be left out of the LMS's grades"
        )
    not_final = sorted(s for s, found in totals.items() if found.status != "ok")
    max_score = next(iter(totals.values())).max_score if totals else 0.0
    rows: list[list[str]] = []
    if lms == "canvas":
        column = title or assignment
        header = [*CANVAS_COLUMNS, column]
        rows.append(["    Points Possible", "", "", "", "", f"{max_score:g}"])
        for row in people:
            first, last = _names(row)
            name = row.get("name") or ", ".join(p for p in (last, first) if p)
            rows.append(
                [
                    name,
                    row["lms_id"],
                    row.get("sis_user_id", ""),
                    row.get("sis_login_id", ""),
                    row.get("section", ""),
                    _score(totals.get(row["student_id"])),
                ]
            )
    else:
        header = [*MOODLE_COLUMNS, f"Assignment: {title or assignment} (Real)"]
        for row in people:
            first, last = _names(row)
            rows.append(
                [
                    first,
                    last,
                    row["lms_id"],
                    row.get("email", ""),
                    _score(totals.get(row["student_id"])),
                ]
            )
    return header, rows, not_final


def export_lms(
    course: Course,
    out: Path,
    roster: Path,
    lms: str,
    title: str | None = None,
    assignment: str = ASSIGNMENT,
) -> tuple[int, list[str]]:
    """Write the LMS's grade-import CSV; (students written, students not final yet)."""
    header, rows, not_final = lms_table(course, roster, lms, title, assignment)
    with written_together({Path(out): "--out"}, course.root) as paths:
        with paths[Path(out).expanduser()].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([[_safe(cell) for cell in row] for row in rows])
    return sum(1 for row in rows if not row[0].startswith("    Points")), not_final


def _safe(text: str) -> str:
    """A roster cell a spreadsheet would run as a formula, quoted (as `export` does)."""
    return text if _number(text) else formula_quoted(text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
