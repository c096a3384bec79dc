"""`rnn-course formgrade`, `feedback`, `export` and `report`: results out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autograder.cli.common import (
    ASSIGNMENT,
    AssignmentOption,
    CourseDirOption,
    DbUrlOption,
    app,
    open_course,
    stop_on_terminate,
)
from autograder.errors import CourseError
from autograder.results.export import export_csv
from autograder.results.feedback import write_feedback
from autograder.results.feedback_return import return_feedback
from autograder.results.formgrade import (
    FORMGRADER_PORT,
    answers_to_grade,
    formgrader_link,
    start_formgrader,
)
from autograder.results.lms_export import export_lms
from autograder.results.report import write_report
from autograder.terminal import console, fail, reports_errors, say


@app.command("feedback")
@reports_errors
def feedback_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    student: Annotated[
        list[str] | None, typer.Option(help="Only this student (repeatable).")
    ] = None,
    give_back: Annotated[
        bool,
        typer.Option(
            "--return",
            help="Also put each student's pages in the exchange, for that student only.",
        ),
    ] = False,
) -> None:
    """Per-student HTML feedback (no hidden tests, no solutions) in <course-dir>/feedback/."""
    course = open_course(course_dir, db_url)
    pages = write_feedback(course, student or None, assignment)
    say(f"wrote {len(pages)} feedback pages into {Path(course_dir) / 'feedback'}")
    if not give_back:
        return
    students = sorted({page.parent.parent.name for page in pages})
    returned = return_feedback(course, students, assignment)
    say(
        f"returned to {len(returned.students)} students through the exchange "
        f"({course.exchange}); they fetch it with the Assignments tab or "
        f"`nbgrader fetch_feedback {assignment} --course rnn-course`"
    )
    if returned.without_exchange:
        say(
            "  not submitted through the exchange (send their pages another way): "
            + ", ".join(returned.without_exchange)
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@app.command("formgrade")
def formgrade_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = FORMGRADER_PORT,
) -> None:
    """Grade the written answers by hand in nbgrader's formgrader, until Ctrl+C."""
    server = _started_formgrader(course_dir, assignment, db_url, port)
    stop_on_terminate()
    try:
        server.process.wait()
        fail(CourseError(f"the formgrader stopped on its own (log: {server.log})"))
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.stop()


@reports_errors
def _started_formgrader(course_dir: Path, assignment: str, db_url: str | None, port: int):
    course = open_course(course_dir, db_url)
    answers, students = answers_to_grade(course, assignment)
    server = start_formgrader(course, port)
    console.print(
        f"{_count(answers, 'answer')} of {_count(students, 'student')} wait for a score by hand; "
        f"grade them in nbgrader's formgrader (Ctrl+C to stop):\n    {formgrader_link(server)}",
        highlight=False,
        soft_wrap=True,
    )
    return server


@app.command("export")
@reports_errors
def export_command(
    out: Annotated[Path, typer.Option(help="The CSV to write.")],
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    nbgrader_csv: Annotated[
        Path | None, typer.Option(help="Also write nbgrader's own grades export here.")
    ] = None,
    lms: Annotated[
        str | None,
        typer.Option(help="Write the LMS's own grade-import CSV instead: canvas or moodle."),
    ] = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="The roster (student_id, lms_id, …) the LMS's grades are keyed by."),
    ] = None,
    lms_title: Annotated[
        str | None,
        typer.Option(help='The grade column\'s title in the LMS, e.g. "RNN assignment (4711)".'),
    ] = None,
) -> None:
    """One row per student, one column per task (auto score), the total and the maximum; or,
    with --lms, the totals in Canvas's or Moodle's grade-import format."""
    course = open_course(course_dir, db_url)
    if lms is None:
        rows = export_csv(course, out, assignment, nbgrader_csv, roster)
        console.print(f"wrote {rows} students to {out}")
        return
    if roster is None:
        raise CourseError("--lms needs --roster: the LMS's grades are keyed by its lms_id")
    written, not_final = export_lms(course, out, roster, lms, lms_title, assignment)
    console.print(f"wrote {written} students to {out}, in {lms}'s grade-import format")
    if not_final:
        shown = ", ".join(not_final[:10]) + (" …" if len(not_final) > 10 else "")
        console.print(
            f"[yellow]{len(not_final)} of these totals are not final yet[/] ({shown}): see the "
            "status column of `rnn-course export`"
        )


@app.command("report")
@reports_errors
def report_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    out: Annotated[
        Path | None, typer.Option(help="The HTML file (a PNG is written beside).")
    ] = None,
) -> None:
    """A class report: score distribution, per-task results, submissions with problems."""
    path = write_report(open_course(course_dir, db_url), out, assignment)
    console.print(f"report: {path} (figure: {path.with_suffix('.png')})")
