"""`rnn-course extend` and `tokens`: more time for one student, late tokens for the class."""

from __future__ import annotations

import datetime as dt
import json
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
)
from autograder.course.allowances import Allowances, parse_duration, shown_duration
from autograder.course.deadlines import due_date, parse_due, shown_time
from autograder.course.gradebook import assignment_names, record_penalties
from autograder.course.student_dates import student_dates
from autograder.errors import CourseError
from autograder.intake.submitted import check_student_id
from autograder.terminal import reports_errors, say

StudentsOption = Annotated[
    list[str], typer.Option("--student", help="A student id (repeat for several students).")
]


@app.command("extend")
@reports_errors
def extend_command(
    student: StudentsOption,
    by: Annotated[
        str | None, typer.Option("--by", help='How much later: e.g. "2d", "36h" or "90min".')
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="The student's own due date, \"YYYY-MM-DD HH:MM\" (the class's zone)."),
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take the extension back.")] = False,
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
) -> None:
    """Give students more time on one assignment (an accommodation, seen only by them)."""
    course = open_course(course_dir, db_url)
    students = [check_student_id(s) for s in student]
    if sum([by is not None, until is not None, remove]) != 1:
        raise CourseError("give exactly one of --by, --until or --remove")
    due = due_date(course, assignment)
    if due is None:
        raise CourseError(f"{assignment} has no due date: release it with --due first")
    seconds: float | None = None
    if by is not None:
        seconds = parse_duration(by)
    elif until is not None:
        seconds = (parse_due(until, course.settings.timezone) - due).total_seconds()
        if seconds <= 0:
            when = shown_time(due, course.settings.timezone)
            raise CourseError(f"{until} is not after the class's due date, {when}")
    allowances = Allowances.load(course.root).extended(assignment, students, seconds)
    allowances.save(course.root)
    record_penalties(course, assignment)  # nbgrader's gradebook follows at once
    zone = course.settings.timezone
    for name in students:
        if seconds is None:
            say(f"{name}: no extension of {assignment}; due {shown_time(due, zone)}")
        else:
            own = shown_time(due + dt.timedelta(seconds=seconds), zone)
            say(f"{name}: {assignment} due {own} (extension {shown_duration(seconds)})")


@app.command("tokens")
@reports_errors
def tokens_command(
    give: Annotated[int, typer.Option("--give", help="How many tokens each student has.")],
    unit: Annotated[
        str | None, typer.Option(help="What one token is worth: hour or day (default: day).")
    ] = None,
    student: Annotated[
        list[str] | None,
        typer.Option("--student", help="Only these students (default: every student)."),
    ] = None,
    course_dir: CourseDirOption = Path("course"),
    db_url: DbUrlOption = None,
) -> None:
    """Give late tokens: hours or days of late work each student may use over the term.

    Tokens are spent automatically, in the order of the assignments' due dates, as many as a
    late submission needs; the late policy applies only to lateness they do not cover."""
    course = open_course(course_dir, db_url)
    students = [check_student_id(s) for s in student or []]
    allowances = Allowances.load(course.root).with_tokens(give, unit, students)
    allowances.save(course.root)
    for assignment in assignment_names(course):  # tokens count over every assignment
        record_penalties(course, assignment)
    who = ", ".join(students) if students else "every student without their own number"
    say(f"late tokens: {give} of one {allowances.token_unit} each for {who}")


@app.command("dates")
@reports_errors
def dates_command(
    student: Annotated[str, typer.Option("--student", help="The student's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="As JSON (what the hub reads).")] = False,
    course_dir: CourseDirOption = Path("course"),
    db_url: DbUrlOption = None,
) -> None:
    """One student's due dates, extensions and late tokens, as their Assignments panel shows
    them on the class hub."""
    course = open_course(course_dir, db_url)
    dates = student_dates(course, check_student_id(student))
    if as_json:
        print(json.dumps(dates))
        return
    zone = course.settings.timezone
    for item in dates["assignments"]:
        own = dt.datetime.fromisoformat(item["own_due"]) if item["own_due"] else None
        extension = f" (extension {item['extension']})" if item["extension"] else ""
        say(f"{item['name']}: due {shown_time(own, zone) or 'no due date'}{extension}")
    tokens = dates["tokens"]
    say(f"late tokens: {tokens['left']} of {tokens['given']} left ({tokens['unit']}s)")
