"""`python -m autograder.hub` (or `rnn-course hub`): set the class hub up and check it.

`check` asks, from any account, what the hub asks before it starts (the instructor-only
material out of students' reach, private homes, TLS and subdomains, the exchange) and, with
`--hub-url`, whether the hub answers; one line per problem, with its fix. `student-environment`
and `exchange` (as root) make what the hub needs (autograder/hub/setup.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from autograder.errors import CourseError
from autograder.hub.checks import hub_version, startup_problems
from autograder.hub.settings import HubSettings
from autograder.hub.setup import exchange, student_environment
from autograder.terminal import console, error_line, reports_errors, say

hub_app = typer.Typer(
    help="The class's JupyterHub (autograder/hub/).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@hub_app.callback()
def main() -> None:
    """Commands for the class's JupyterHub."""


@hub_app.command("check")
def check_command(
    hub_url: Annotated[
        str | None,
        typer.Option(envvar="RNN_HUB_URL", help="Also ask the hub running at this address."),
    ] = None,
) -> None:
    """Check the hub's set-up (as the hub does before it starts) and, if asked, the hub."""
    settings = HubSettings.from_environment()
    problems = startup_problems(settings, as_root=os.geteuid() == 0)
    version = None
    if hub_url:
        try:
            version = hub_version(hub_url)
        except CourseError as problem:
            problems.append(str(problem))
    for problem in problems:
        error_line(problem)
    if problems:
        raise typer.Exit(1)
    console.print(
        f"the hub's set-up is safe to start: {settings.url}, exchange {settings.exchange}"
        + (f"; JupyterHub {version} answers at {hub_url}" if version else ""),
        highlight=False,
        soft_wrap=True,
    )
    if "hidepid" not in Path("/proc/mounts").read_text():
        say(
            "note: /proc is mounted without hidepid, so students see each other's processes "
            "(`ps`); see the README for the one-line fstab change"
        )


@hub_app.command("student-environment")
@reports_errors
def student_environment_command(
    python: Annotated[
        str | None,
        typer.Option(help="The Python 3.11 to make it from (readable by every user)."),
    ] = None,
) -> None:
    """Make the students' environment (RNN_HUB_STUDENT_ENV): the course's packages, no code."""
    settings = HubSettings.from_environment()
    singleuser = student_environment(settings, python)
    say(f"students' servers run {singleuser}")


@hub_app.command("exchange")
@reports_errors
def exchange_command(
    instructor: Annotated[str, typer.Option(help="The instructor's Unix user: owns the course.")],
    image: Annotated[
        Path | None,
        typer.Option(help="Put the exchange on a file system of its own, in this image file."),
    ] = None,
    size: Annotated[str, typer.Option(help="Its size (truncate's units: 20G).")] = "10G",
) -> None:
    """Set the exchange up (as root) before students could claim its folders."""
    settings = HubSettings.from_environment()
    for line in exchange(settings, instructor, image, size if image else None):
        say(f"keep it mounted across reboots, in /etc/fstab:\n    {line}")
    say(f"the exchange {settings.exchange} is ready for {instructor}'s course")
