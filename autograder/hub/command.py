"""`python -m autograder.hub check`: is the class hub up, and can students submit?

An instructor's question before class, or when students say "it does not load": it asks the
hub's API and looks at nbgrader's exchange, and prints one line per problem with its fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autograder.course.exchange import check_root
from autograder.errors import CourseError
from autograder.hub.checks import hub_version
from autograder.hub.settings import HubSettings
from autograder.terminal import console, error_line

hub_app = typer.Typer(
    help="The class's JupyterHub (autograder/hub/).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
DEFAULTS = HubSettings()  # production; RNN_HUB_URL and RNN_HUB_EXCHANGE override


@hub_app.callback()
def main() -> None:
    """Commands for the class's JupyterHub."""


@hub_app.command("check")
def check_command(
    hub_url: Annotated[
        str, typer.Option(envvar="RNN_HUB_URL", help="The hub's address, as students use it.")
    ] = DEFAULTS.url,
    exchange: Annotated[
        Path, typer.Option(envvar="RNN_HUB_EXCHANGE", help="nbgrader's exchange folder.")
    ] = DEFAULTS.exchange,
) -> None:
    """Check that the hub answers and that students can submit to the exchange."""
    problems, version = [], None
    try:
        version = hub_version(hub_url)
    except CourseError as problem:
        problems.append(str(problem))
    try:
        check_root(exchange)
    except CourseError as problem:
        problems.append(str(problem))
    for problem in problems:
        error_line(problem)
    if problems:
        raise typer.Exit(1)
    console.print(
        f"JupyterHub {version} answers at {hub_url}; students can submit to {exchange}",
        highlight=False,
        soft_wrap=True,
    )
