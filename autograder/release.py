"""Release: the student version of an assignment, with its solutions and hidden tests removed.

nbgrader's `generate_assignment` does the removal; this module then checks its output for any
marker of a solution or hidden test before anything is handed out, because a leaked hidden test
cannot be taken back.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import nbformat

from .course import ASSIGNMENT, Course, nbgrader_failure
from .errors import CourseError

log = logging.getLogger(__name__)

LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def release(course: Course, assignment: str = ASSIGNMENT) -> Path:
    """Generate `release/<assignment>/` from the sources, check it, and return its path."""
    source = course.folder("source", ".", assignment)
    if not sorted(source.glob("*.ipynb")):
        raise CourseError(f"{source}: no notebooks to release; is the assignment name right?")
    log.info("generating the student version of %s from %s", assignment, source)
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise nbgrader_failure("generate_assignment", result)
    released = course.folder("release", ".", assignment)
    leaks = find_leaks(released)
    if leaks:
        for notebook in released.glob("*.ipynb"):
            notebook.unlink()
        raise CourseError(f"the release was deleted because it leaks {leaks[0]}")
    return released


def publish(course: Course, assignment: str = ASSIGNMENT) -> Path:
    """Put the release into the course's nbgrader exchange, for `nbgrader fetch`/`submit`."""
    api = course.api(**{"ExchangeReleaseAssignment.force": True})
    result = api.release_assignment(assignment)
    if not result["success"]:
        raise nbgrader_failure("release_assignment", result)
    return course.root / "exchange"


def find_leaks(folder: Path) -> list[str]:
    """Every solution or hidden-test marker left in a folder's notebooks, as 'file: marker'."""
    leaks = []
    for path in sorted(folder.rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            leaks += [
                f"{path.name}: {marker!r}" for marker in LEAK_MARKERS if marker in cell.source
            ]
    return leaks


def student_zip(released: Path, target: Path) -> Path:
    """A zip of the released notebooks, as students download it (`<assignment>/<notebook>`)."""
    notebooks = sorted(released.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"{released}: nothing released yet; run `rnn-course release` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for notebook in notebooks:
            archive.write(notebook, f"{released.name}/{notebook.name}")
    return target
