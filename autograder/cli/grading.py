"""`rnn-course autograde` and `dask-certificates`: grading a class, on this machine or a cluster."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from autograder import limits
from autograder.cli.common import (
    ASSIGNMENT,
    AssignmentOption,
    CourseDirOption,
    DbUrlOption,
    app,
    open_course,
)
from autograder.course.folder import Course
from autograder.grading.autograde import autograde
from autograder.grading.state import read_states
from autograder.sandbox.dask_tls import make_certificates
from autograder.sandbox.engine import Limits
from autograder.terminal import console, reports_errors, say


@app.command("autograde")
@reports_errors
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
    cell_timeout: Annotated[
        float, typer.Option(help="Seconds one cell may run.")
    ] = limits.CELL_SECONDS,
    notebook_timeout: Annotated[
        float, typer.Option(help="Seconds one notebook may run.")
    ] = limits.NOTEBOOK_SECONDS,
    memory_mb: Annotated[
        int, typer.Option(help="Memory limit of one notebook, in MiB.")
    ] = limits.MEMORY_BYTES // limits.MiB,
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
            help="A Dask scheduler (tls://HOST:8786) whose workers run the sandboxes.",
        ),
    ] = None,
    tls_folder: Annotated[
        Path | None,
        typer.Option(
            envvar="RNN_COURSE_DASK_TLS",
            help="The cluster's certificates (from `rnn-course dask-certificates`).",
        ),
    ] = None,
    allow_plain_tcp: Annotated[
        bool,
        typer.Option(
            "--allow-plain-tcp",
            help="Accept a tcp:// scheduler (no encryption, no login): only on a network that "
            "only you can reach.",
        ),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(help="pool (this process; the default) or dask (a local Dask cluster)."),
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(help="With --engine dask: the local cluster's dashboard, on 127.0.0.1."),
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
    limits_now = Limits(
        cell_seconds=cell_timeout,
        notebook_seconds=notebook_timeout,
        memory_bytes=memory_mb * limits.MiB,
        fork_from_template=fork,
    )
    if scheduler and workers:
        say("--workers is not used with --scheduler: the cluster's worker threads grade")
    course = open_course(course_dir, db_url)
    started = dt.datetime.now(dt.UTC)
    try:
        results = autograde(
            course,
            student or None,
            assignment,
            workers=workers,
            limits=limits_now,
            sandboxed=not unsafe_no_sandbox,
            force=force,
            engine=engine,
            scheduler=scheduler,
            dashboard=dashboard,
            tls_folder=tls_folder,
            allow_plain_tcp=allow_plain_tcp,
        )
    except KeyboardInterrupt:
        done = _graded_since(course, assignment, started)
        say(
            f"interrupted: {done} students were graded and recorded in this run; run the same "
            "command again to grade the rest (only who is not done yet is graded)"
        )
        raise typer.Exit(130) from None
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


def _graded_since(course: Course, assignment: str, started: dt.datetime) -> int:
    return sum(
        state.get("graded_at", "") >= started.isoformat()
        for state in read_states(course, assignment).values()
    )


@app.command("dask-certificates")
@reports_errors
def certificates_command(
    out: Annotated[Path, typer.Option(help="A new folder for the certificates (made mode 700).")],
) -> None:
    """Make the certificates of a TLS grading cluster: a CA, scheduler, worker and client."""
    written = make_certificates(out)
    say(f"wrote {len(written)} files into {out}: copy ca.pem, worker.pem and worker-key.pem to")
    say("each worker machine, scheduler.pem and scheduler-key.pem to the scheduler's; keep")
    say("ca-key.pem here. Start them with:")
    say(
        f"  dask scheduler --protocol tls --tls-ca-file {out}/ca.pem "
        f"--tls-cert {out}/scheduler.pem --tls-key {out}/scheduler-key.pem"
    )
    say(
        f"  dask worker tls://SCHEDULER:8786 --tls-ca-file {out}/ca.pem "
        f"--tls-cert {out}/worker.pem --tls-key {out}/worker-key.pem"
    )
    say(f"and grade with: rnn-course autograde --scheduler tls://SCHEDULER:8786 --tls-folder {out}")
