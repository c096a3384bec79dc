"""What every `rnn-course` command shares: the app, its start-up, and the common options."""

from __future__ import annotations

import faulthandler
import logging
import signal
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.logging import RichHandler
from sqlalchemy.exc import SAWarning

from autograder.course.folder import ASSIGNMENT, Course
from autograder.hub.command import hub_app
from autograder.terminal import console, settings

app = typer.Typer(
    help="The RNN course: build and serve the website; release, grade and report assignments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
site_app = typer.Typer(help="The course website (Jupyter Book).", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(hub_app, name="hub")  # `rnn-course hub check`: the class's JupyterHub


@app.callback()
def main(
    debug: Annotated[bool, typer.Option(help="Show tracebacks and debug logging.")] = False,
) -> None:
    settings["debug"] = debug
    # `kill -USR1 PID` prints where every thread of a command that seems stuck is
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if not debug:  # nbgrader's gradebook warns of its own session use; nothing to act on
        warnings.filterwarnings("ignore", "Object of type <Submitted", SAWarning)
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


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_terminate() -> None:
    """In a command that serves until stopped: `kill PID` (SIGTERM) stops it as Ctrl+C does,
    so that the Jupyter server it started is stopped too, not left running without it."""
    signal.signal(signal.SIGTERM, _interrupted)


OutputOption = Annotated[
    Path | None,
    typer.Option(help="Folder for `_build/` (default: the project root)."),
]


SiteUrlOption = Annotated[
    str | None,
    typer.Option(
        help="Where the site will be published (https://…): the PDF, page downloads and "
        "student notebooks link there. Default: course_site_url in _config.yml, else none."
    ),
]

PdfOption = Annotated[
    bool, typer.Option(help="Also print the whole chapter to rnn-chapter.pdf (needs Chromium).")
]


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
DbUrlOption = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        envvar="RNN_COURSE_DB_URL",
        help="Gradebook as an SQLAlchemy URL (default: SQLite <course-dir>/gradebook.db).",
    ),
]


def open_course(course_dir: Path, db_url: str | None = None) -> Course:
    """A course folder `release` made: every command but `release` refuses to create one."""
    return Course.existing(course_dir, db_url=db_url)


__all__ = ["ASSIGNMENT", "AssignmentOption", "CourseDirOption", "DbUrlOption", "app", "site_app"]
