"""The `rnn-course` command: a thin layer that parses arguments and calls the workflow modules.

Every expected failure is a `CourseError` (or a `DataError` from the data loaders), printed as
one line with its fix; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import datetime as dt
import faulthandler
import logging
import signal
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text
from sqlalchemy.exc import SAWarning

from autograder.course.deadlines import (
    due_date,
    parse_due,
    set_due_date,
    shown_time,
)
from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.release import publish, release, student_zip
from autograder.errors import CourseError
from autograder.grading.run import grade_class, read_states
from autograder.hub.command import hub_app
from autograder.intake.collect import collect
from autograder.intake.exchange import check_exchange, check_root
from autograder.intake.lms_import import import_zip
from autograder.results.export import export_csv
from autograder.results.feedback import write_feedback
from autograder.results.feedback_return import return_feedback
from autograder.results.formgrade import (
    FORMGRADER_PORT,
    answers_to_grade,
    formgrader_link,
    start_formgrader,
)
from autograder.results.gradebook import record_penalties
from autograder.results.report import write_report
from autograder.sandbox.bubblewrap import Limits
from autograder.site import build as site
from course_data import DataError

app = typer.Typer(
    help="The RNN course: build and serve the website; release, grade and report assignments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
site_app = typer.Typer(help="The course website (Jupyter Book).", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(hub_app, name="hub")  # `rnn-course hub check`: the class's JupyterHub

console = Console(stderr=True)
state = {"debug": False}


@app.callback()
def main(
    debug: Annotated[bool, typer.Option(help="Show tracebacks and debug logging.")] = False,
) -> None:
    state["debug"] = debug
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


def fail(error: Exception) -> None:
    """Print one line and exit 1 (or re-raise under --debug)."""
    if state["debug"]:
        raise error
    # the message may hold a student's file name: shown as text, never as markup
    console.print(Text("error: ", style="bold red") + Text(str(error)), soft_wrap=True)
    raise typer.Exit(1)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_terminate() -> None:
    """In a command that serves until stopped: `kill PID` (SIGTERM) stops it as Ctrl+C does,
    so that the Jupyter server it started is stopped too, not left running without it."""
    signal.signal(signal.SIGTERM, _interrupted)


def say(text: str) -> None:
    """A line of output that may hold names a student chose: no markup, no highlighting."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


OutputOption = Annotated[
    Path | None,
    typer.Option(help="Folder for `_build/` (default: the project root)."),
]


PdfOption = Annotated[
    bool, typer.Option(help="Also print the whole chapter to rnn-chapter.pdf (needs Chromium).")
]


@site_app.command("build")
def site_build(output: OutputOption = None, pdf: PdfOption = True) -> None:
    """Execute every page (cached) and build the HTML site and its PDF; any warning fails it."""
    try:
        html = site.build_site(output=output, pdf=pdf)
    except (CourseError, DataError) as error:
        fail(error)
    console.print(f"built: {html / 'index.html'}")


@site_app.command("serve")
def site_serve(
    output: OutputOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    build: Annotated[bool, typer.Option(help="Build (cached) before serving.")] = True,
    pdf: PdfOption = True,
    live_code: Annotated[
        bool, typer.Option(help="Start a Jupyter server for the pages' Live Code button.")
    ] = True,
    jupyter_port: Annotated[
        int, typer.Option(help="Port of that Jupyter server (on 127.0.0.1).")
    ] = site.JUPYTER_PORT,
) -> None:
    """Build the site (unless --no-build) and serve it, with live code, until Ctrl+C."""
    jupyter = None
    try:
        html = (
            site.build_site(output=output, pdf=pdf)
            if build
            else (output or site.ROOT) / "_build" / "html"
        )
        server = site.serve_site(html, host, port)
        if live_code:
            jupyter = site.start_live_code_server(
                site.site_origins(host, port),
                jupyter_port,
                log=html.parent / "jupyter-server.log",
            )
    except (CourseError, DataError) as error:
        fail(error)
    address = f"http://{host}:{port}/"
    console.print(f"serving {html} at {address}  (Ctrl+C to stop)")
    if jupyter:
        console.print(
            f"live code: a Jupyter server on {jupyter.url}; open the site with its token:\n"
            f"    {site.live_code_link(jupyter, address)}",
            highlight=False,
            soft_wrap=True,
        )
    stop_on_terminate()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
        if jupyter:
            jupyter.stop()


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


@app.command("release")
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
    try:
        course = Course.open(course_dir, db_url=db_url)
        course.check_database()
        zone = timezone or course.settings.timezone
        deadline = parse_due(due, zone) if due else None
        if deadline and deadline < dt.datetime.now(dt.UTC) and not allow_past_due:
            raise CourseError(
                f"the due date {due} ({zone}) has passed; check it, or pass --allow-past-due"
            )
        if exchange:
            check_exchange(course)
        released = release(course, assignment)
        if deadline:
            set_due_date(course, assignment, deadline)
        if zip_to:
            say(f"student zip: {student_zip(released, zip_to)}")
        if exchange:
            say(f"published to nbgrader's exchange: {publish(course, assignment)}")
            check_exchange(course)
        current = due_date(course, assignment)
    except CourseError as error:
        fail(error)
    names = ", ".join(sorted(p.name for p in released.glob("*.ipynb")))
    say(f"released {assignment}: {released} ({names})")
    if current:
        say(
            f"due {shown_time(current, zone)} ({shown_time(current, 'UTC')}); "
            f"late policy: {course.settings.late.describe()}"
        )


@app.command("configure")
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
    try:
        course = Course.open(course_dir)
        settings = course.settings.updated(
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
            check_root(Path(settings.exchange))
        path = settings.save(course.root)
        Course.open(course.root)  # nbgrader's config in the folder follows the settings
    except CourseError as error:
        fail(error)
    say(f"settings of {course.root} ({path}):")
    say(f"  exchange: {settings.exchange or course.root / 'exchange'}")
    say(f"  time zone: {settings.timezone}; counts: {settings.counts}")
    say(f"  late policy: {settings.late.describe()}")
    say(f"  website: {settings.site_url}")


def open_course(course_dir: Path, db_url: str | None = None) -> Course:
    """A course folder `release` made: every command but `release` refuses to create one."""
    return Course.existing(course_dir, db_url=db_url)


@app.command("autograde")
def autograde_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    student: Annotated[
        list[str] | None, typer.Option(help="Grade only this student (repeatable); default: all.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Submissions graded at once (default: the number of cores).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Regrade students already graded with unchanged submissions.")
    ] = False,
    cell_timeout: Annotated[float, typer.Option(help="Seconds one cell may run.")] = 120.0,
    notebook_timeout: Annotated[float, typer.Option(help="Seconds one notebook may run.")] = 600.0,
    memory_mb: Annotated[int, typer.Option(help="Memory limit of one notebook, in MiB.")] = 3072,
    unsafe_no_sandbox: Annotated[
        bool,
        typer.Option(
            "--unsafe-no-sandbox",
            help="Run student code WITHOUT bubblewrap, with your own rights (not recommended).",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            envvar="RNN_COURSE_SCHEDULER",
            help="A Dask scheduler (tcp://HOST:8786) whose workers run the sandboxes.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="dask (a local Dask cluster, or --scheduler's) or pool (this process)."),
    ] = "dask",
    dashboard: Annotated[
        bool,
        typer.Option(help="Start the local Dask cluster's dashboard and print its address."),
    ] = False,
    fork: Annotated[
        bool,
        typer.Option(
            help="Fork each notebook's sandbox from a pre-imported template (fast); --no-fork "
            "starts a fresh sandbox and Python for every notebook (slower, no template)."
        ),
    ] = True,
) -> None:
    """Grade every submission in <course-dir>/submitted/ in a sandbox, into the gradebook."""
    limits = Limits(
        cell_seconds=cell_timeout,
        notebook_seconds=notebook_timeout,
        memory_bytes=memory_mb * 1024**2,
        fork_from_template=fork,
    )
    if scheduler and engine == "pool":
        fail(CourseError("--scheduler grades on a Dask cluster; leave out --engine pool"))
    if scheduler and workers:
        say("--workers is not used with --scheduler: the cluster's worker threads grade")
    try:
        course = open_course(course_dir, db_url)
        results = grade_class(
            course,
            student or None,
            assignment,
            workers=workers,
            limits=limits,
            sandboxed=not unsafe_no_sandbox,
            force=force,
            engine=engine,
            scheduler=scheduler,
            dashboard=dashboard,
        )
        late = record_penalties(course, assignment)
    except CourseError as error:
        fail(error)
    problems = {name: r.status for name, r in results.items() if r.status != "ok"}
    skipped = sum(r.skipped for r in results.values())
    console.print(
        f"graded {len(results) - skipped} submissions ({skipped} unchanged since the last run); "
        f"{len(problems)} with grading problems"
    )
    for name, status in problems.items():
        say(f"  {name}: {status}")
    states = read_states(course, assignment)
    for name, result in results.items():  # what the grader noticed, e.g. a renamed notebook
        if not result.skipped:
            for note in states.get(name, {}).get("notes", []):
                say(f"  {name}: {note}")
    if late:
        say(f"{late} late submissions; penalties by the late policy are in the gradebook")


@app.command("import-zip")
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
    try:
        summary = import_zip(open_course(course_dir), archive, roster, assignment, replace)
    except CourseError as error:
        fail(error)
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
def collect_command(
    course_dir: CourseDirOption = Path("course"), assignment: AssignmentOption = ASSIGNMENT
) -> None:
    """Collect submissions from nbgrader's exchange (students ran `nbgrader submit`)."""
    try:
        course = open_course(course_dir)
        check_exchange(course)
        summary = collect(course, assignment)
    except CourseError as error:
        fail(error)
    say(
        f"collected {assignment} from {course.exchange}: {len(summary.collected)} new or "
        f"changed, {len(summary.unchanged)} unchanged, {len(summary.skipped)} entries skipped, "
        f"{len(summary.superseded)} earlier submissions that do not count"
    )
    for name, why in summary.skipped:
        say(f"  skipped: {name}: {why}")
    for note in summary.notes:
        say(f"  {note}")


@app.command("feedback")
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
    try:
        course = open_course(course_dir, db_url)
        pages = write_feedback(course, student or None, assignment)
        returned = None
        if give_back:
            students = sorted({page.parent.parent.name for page in pages})
            returned = return_feedback(course, students, assignment)
    except CourseError as error:
        fail(error)
    say(f"wrote {len(pages)} feedback pages into {Path(course_dir) / 'feedback'}")
    if returned:
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
    try:
        course = open_course(course_dir, db_url)
        answers, students = answers_to_grade(course, assignment)
        server = start_formgrader(course, port)
    except CourseError as error:
        fail(error)
    console.print(
        f"{_count(answers, 'answer')} of {_count(students, 'student')} wait for a score by hand; "
        f"grade them in nbgrader's formgrader (Ctrl+C to stop):\n    {formgrader_link(server)}",
        highlight=False,
        soft_wrap=True,
    )
    stop_on_terminate()
    try:
        server.process.wait()
        fail(CourseError(f"the formgrader stopped on its own (log: {server.log})"))
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.stop()


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="The CSV to write.")],
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    nbgrader_csv: Annotated[
        Path | None, typer.Option(help="Also write nbgrader's own grades export here.")
    ] = None,
) -> None:
    """One row per student, one column per task (auto score), the total and the maximum."""
    try:
        rows = export_csv(open_course(course_dir, db_url), out, assignment, nbgrader_csv)
    except CourseError as error:
        fail(error)
    console.print(f"wrote {rows} students to {out}")


@app.command("report")
def report_command(
    course_dir: CourseDirOption = Path("course"),
    assignment: AssignmentOption = ASSIGNMENT,
    db_url: DbUrlOption = None,
    out: Annotated[
        Path | None, typer.Option(help="The HTML file (a PNG is written beside).")
    ] = None,
) -> None:
    """A class report: score distribution, per-task results, submissions with problems."""
    try:
        path = write_report(open_course(course_dir, db_url), out, assignment)
    except CourseError as error:
        fail(error)
    console.print(f"report: {path} (figure: {path.with_suffix('.png')})")
