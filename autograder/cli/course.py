"""`rnn-course release` and `configure`: the class's settings and what it is handed."""

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
)
from autograder.course.deadlines import shown_time
from autograder.course.exchange import check_root
from autograder.course.folder import Course
from autograder.course.release import release_assignment
from autograder.terminal import reports_errors, say


@app.command("release")
@reports_errors
def release_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    zip_to: Annotated[
        Path | None, typer.Option("--zip", help="Also write the student notebooks to this zip.")
    ] = None,
    exchange: Annotated[
        bool, typer.Option(help="Also publish to the course's nbgrader exchange for students.")
    ] = True,
    due: Annotated[
        str | None, typer.Option(help='Due date, "YYYY-MM-DD HH:MM" (kept if not given).')
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of --due (default: the course's, see configure).")
    ] = None,
    allow_past_due: Annotated[
        bool, typer.Option("--allow-past-due", help="Accept a due date that has passed.")
    ] = False,
) -> None:
    """Generate the student version (no solutions, no hidden tests) into <course-dir>/release/."""
    course = Course.open(course_dir, db_url=db_url)
    done = release_assignment(
        course, assignment, due, timezone, allow_past_due, zip_to, publish_to_exchange=exchange
    )
    if done.zip:
        say(f"student zip: {done.zip}")
    if done.exchange:
        say(f"published to nbgrader's exchange: {done.exchange}")
    names = ", ".join(sorted(p.name for p in done.folder.glob("*.ipynb")))
    say(f"released {assignment}: {done.folder} ({names})")
    if done.due:
        zone = timezone or course.settings.timezone
        say(
            f"due {shown_time(done.due, zone)} ({shown_time(done.due, 'UTC')}); "
            f"late policy: {course.settings.late.describe()}"
        )


@app.command("configure")
@reports_errors
def configure_command(
    course_dir: CourseDirOption = Path("course"),
    exchange: Annotated[
        Path | None, typer.Option(help="nbgrader's exchange folder shared with the students.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The class's time zone (IANA name, e.g. Europe/Paris).")
    ] = None,
    counts: Annotated[
        str | None,
        typer.Option(help="Which submission counts: last-on-time (default) or last."),
    ] = None,
    late: Annotated[str | None, typer.Option(help="Late policy: none, percent or cutoff.")] = None,
    late_percent: Annotated[
        float | None, typer.Option(help="percent: points taken per started period, in %.")
    ] = None,
    late_per: Annotated[str | None, typer.Option(help="percent: per day or per hour.")] = None,
    late_cap: Annotated[
        float | None, typer.Option(help="percent: at most this share of the score, in %.")
    ] = None,
    grace_minutes: Annotated[
        float | None, typer.Option(help="Minutes after the due date that still count on time.")
    ] = None,
    site_url: Annotated[
        str | None, typer.Option(help="The course website's address (the notebooks link to it).")
    ] = None,
) -> None:
    """Set this class's settings once (<course-dir>/rnn-course.toml); prints them all."""
    course = Course.open(course_dir)
    settings_now = course.settings.updated(
        exchange=str(exchange.expanduser().resolve()) if exchange else None,
        timezone=timezone,
        counts=counts,
        policy=late,
        percent=late_percent,
        per=late_per,
        cap=late_cap,
        grace_minutes=grace_minutes,
        site_url=site_url,
    )
    if exchange:
        check_root(Path(settings_now.exchange))
    path = settings_now.save(course.root)
    Course.open(course.root)  # nbgrader's config in the folder follows the settings
    say(f"settings of {course.root} ({path}):")
    say(f"  exchange: {settings_now.exchange or course.root / 'exchange'}")
    say(f"  time zone: {settings_now.timezone}; counts: {settings_now.counts}")
    say(f"  late policy: {settings_now.late.describe()}")
    say(f"  website: {settings_now.site_url or 'none yet (--site-url): notebooks name its pages'}")
