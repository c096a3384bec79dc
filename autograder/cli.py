"""The `rnn-course` command: a thin layer that parses arguments and calls the workflow modules.

Every expected failure is a `CourseError` (or a `DataError` from the data loaders), printed as
one line with its fix; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from course_data import DataError

from . import site
from .autograde import autograde
from .course import ASSIGNMENT, Course
from .errors import CourseError
from .release import release, student_zip

app = typer.Typer(
    help="The RNN course: build and serve the website; release, grade and report assignments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
site_app = typer.Typer(help="The course website (Jupyter Book).", no_args_is_help=True)
app.add_typer(site_app, name="site")

console = Console(stderr=True)
state = {"debug": False}


@app.callback()
def main(
    debug: Annotated[bool, typer.Option(help="Show tracebacks and debug logging.")] = False,
) -> None:
    state["debug"] = debug
    # our own progress at INFO; other libraries (nbgrader logs every file it copies) only
    # when something goes wrong, unless debugging
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
    )
    for ours in ("autograder", "course_data"):
        logging.getLogger(ours).setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("autograder.nbgrader").setLevel(logging.DEBUG if debug else logging.WARNING)


def fail(error: Exception) -> None:
    """Print one line and exit 1 (or re-raise under --debug)."""
    if state["debug"]:
        raise error
    console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


OutputOption = Annotated[
    Path | None,
    typer.Option(help="Folder for `_build/` (default: the project root)."),
]


@site_app.command("build")
def site_build(output: OutputOption = None) -> None:
    """Execute every page (cached) and build the HTML site; any warning fails the build."""
    try:
        html = site.build_site(output=output)
    except (CourseError, DataError) as error:
        fail(error)
    console.print(f"built: {html / 'index.html'}")


@site_app.command("serve")
def site_serve(
    output: OutputOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    build: Annotated[bool, typer.Option(help="Build (cached) before serving.")] = True,
) -> None:
    """Build the site (unless --no-build) and serve it until Ctrl+C."""
    try:
        html = (
            site.build_site(output=output) if build else (output or site.ROOT) / "_build" / "html"
        )
        server = site.serve_site(html, host, port)
    except (CourseError, DataError) as error:
        fail(error)
    console.print(f"serving {html} at http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()


CourseDirOption = Annotated[
    Path,
    typer.Option(
        "--course-dir",
        envvar="RNN_COURSE_DIR",
        help="The class's grading folder (submissions, feedback, gradebook.db); never inside git.",
    ),
]
AssignmentOption = Annotated[
    str, typer.Option(help="Assignment name (a folder of source_notebooks/).")
]


@app.command("release")
def release_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    zip_to: Annotated[
        Path | None, typer.Option("--zip", help="Also write the student notebooks to this zip.")
    ] = None,
) -> None:
    """Generate the student version (no solutions, no hidden tests) into <course-dir>/release/."""
    try:
        course = Course.open(course_dir)
        released = release(course, assignment)
        if zip_to:
            console.print(f"student zip: {student_zip(released, zip_to)}")
    except CourseError as error:
        fail(error)
    names = ", ".join(sorted(p.name for p in released.glob("*.ipynb")))
    console.print(f"released {assignment}: {released} ({names})")


@app.command("autograde")
def autograde_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    student: Annotated[
        list[str] | None, typer.Option(help="Grade only this student (repeatable); default: all.")
    ] = None,
) -> None:
    """Run every submission in <course-dir>/submitted/ with the hidden tests, into the gradebook."""
    try:
        outcomes = autograde(Course.open(course_dir), student or None, assignment)
    except CourseError as error:
        fail(error)
    failed = {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}
    console.print(f"autograded {len(outcomes) - len(failed)} of {len(outcomes)} submissions")
    if failed:
        raise typer.Exit(1)
