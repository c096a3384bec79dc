"""The `rnn-course` command: a thin layer that parses arguments and calls the workflow modules.

Every expected failure is a `CourseError` (or a `DataError` from the data loaders), printed as
one line with its fix (`terminal.reports_errors`); `--debug` shows the traceback instead. The
commands are grouped by pipeline stage: `site`, `course` (configure, release), `allowances`
(extend, tokens), `intake` (collect, import-zip), `grading` (autograde, dask-certificates) and
`results` (formgrade, feedback, export, report); `hub` is the class hub's own
(`autograder/hub/command.py`).
"""

from autograder.cli import (  # noqa: F401 - the commands
    allowances,
    course,
    grading,
    intake,
    results,
    site,
)
from autograder.cli.common import app

__all__ = ["app"]
