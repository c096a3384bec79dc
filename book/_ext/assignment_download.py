"""Put the student version of the graded assignment on the website, made at build time.

The exercises page links to `book/_generated/rnn-student.zip` with MyST's `{download}` role.
This extension makes that zip before the pages are read, by releasing the assignment from
`source_notebooks/` with nbgrader exactly as an instructor would (`rnn-course release`), so the
download can never hold a reference solution or a hidden test: the release refuses to produce
one, and the download always matches the sources.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from autograder.course import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.release import release, student_zip

GENERATED = Path("book") / "_generated"


def make_student_zip(app: Sphinx) -> None:
    target = Path(app.srcdir) / GENERATED / f"{ASSIGNMENT}-student.zip"
    logging.getLogger("autograder.nbgrader").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="rnn-course-release-") as course_dir:
        try:
            released = release(Course.open(course_dir), ASSIGNMENT)
            student_zip(released, target)
        except CourseError as error:
            raise ExtensionError(
                f"cannot make the student version of {ASSIGNMENT!r}: {error}"
            ) from error


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", make_student_zip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
