"""What the instructor's terminal shows: one line per error, names as text, never markup.

Shared by `rnn-course` (cli.py) and `python -m autograder.hub` (hub/command.py). An expected
failure is a `CourseError` (or a `DataError` from the data loaders): `reports_errors` turns it
into one line with its fix and exit status 1, or the traceback under `--debug`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from autograder.errors import CourseError
from course_data import DataError

console = Console(stderr=True)
settings = {"debug": False}
Command = TypeVar("Command", bound=Callable[..., Any])


def error_line(message: object) -> None:
    """One `error: …` line; the message may hold a student's file name: text, never markup."""
    console.print(Text("error: ", style="bold red") + Text(str(message)), soft_wrap=True)


def fail(error: Exception | str) -> None:
    """Print one line and exit 1 (or re-raise under --debug)."""
    if settings["debug"] and isinstance(error, Exception):
        raise error
    error_line(error)
    raise typer.Exit(1)


def say(text: str) -> None:
    """A line of output that may hold names a student chose: no markup, no highlighting."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def reports_errors(command: Command) -> Command:
    """A command whose expected failures are one line each (the command's body is the call)."""

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (CourseError, DataError) as error:
            fail(error)

    return checked  # type: ignore[return-value]
