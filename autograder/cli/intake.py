"""`rnn-course collect` and `import-zip`: submissions in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autograder.cli.common import ASSIGNMENT, AssignmentOption, CourseDirOption, app, open_course
from autograder.course.exchange import check_exchange
from autograder.intake.collect import collect
from autograder.intake.lms_import import import_zip
from autograder.terminal import reports_errors, say


@app.command("import-zip")
@reports_errors
def import_zip_command(
    archive: Annotated[Path, typer.Argument(help="The LMS's bulk download (a zip).")],
    roster: Annotated[Path, typer.Option(help="CSV with columns student_id and lms_id.")],
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    replace: Annotated[
        bool, typer.Option(help="Replace a student's earlier, different submission.")
    ] = False,
) -> None:
    """Import an LMS bulk download into <course-dir>/submitted/<student>/<assignment>/."""
    summary = import_zip(open_course(course_dir), archive, roster, assignment, replace)
    say(
        f"imported {len(summary.imported)} students, {len(summary.unchanged)} unchanged, "
        f"{len(summary.skipped)} entries not imported"
    )
    folders = sum(why == "a folder entry" for _, why in summary.skipped)
    for name, why in summary.skipped:
        if why != "a folder entry":
            say(f"  not imported: {name}: {why}")
    if folders:
        say(f"  ({folders} folder entries hold the files above)")


@app.command("collect")
@reports_errors
def collect_command(
    course_dir: CourseDirOption = Path("course"), assignment: AssignmentOption = ASSIGNMENT
) -> None:
    """Collect submissions from nbgrader's exchange (students ran `nbgrader submit`)."""
    course = open_course(course_dir)
    check_exchange(course)
    summary = collect(course, assignment)
    say(
        f"collected {assignment} from {course.exchange}: {len(summary.collected)} new or "
        f"changed, {len(summary.unchanged)} unchanged, {len(summary.skipped)} entries skipped, "
        f"{len(summary.superseded)} earlier submissions that do not count"
    )
    for name, why in summary.skipped:
        say(f"  skipped: {name}: {why}")
    for note in summary.notes:
        say(f"  {note}")
