"""Shared fixtures: the project's root, the real SEntFiN file, and the `rnn` assignment."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.cells import answer_sources, replace_sources
from autograder.course import Course
from autograder.release import release
from course_data import DataError, fetch_sentfin

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sentfin_csv() -> Path:
    """The verified data set, found as the course finds it: $SENTFIN_CSV or the download."""
    try:
        return fetch_sentfin()
    except DataError as error:
        pytest.fail(f"the SEntFiN data set is needed by this test: {error}")


# --- the `rnn` assignment --------------------------------------------------------------------

ASSIGNMENT_SOURCE = ROOT / "source_notebooks" / "rnn"


def source_notebooks() -> list[Path]:
    return sorted(ASSIGNMENT_SOURCE.glob("*.ipynb"))


def solution_cells() -> dict[str, tuple[Path, str]]:
    """grade_id → (notebook, source) of every code solution cell of the reference."""
    return {
        grade_id: (path, source)
        for path in source_notebooks()
        for grade_id, source in answer_sources(path).items()
    }


def write_variant(path: Path, target: Path, replace: dict[str, str]) -> Path:
    """A copy of notebook `path` at `target` with the named solution cells' sources replaced."""
    notebook = nbformat.read(path, as_version=4)
    replace_sources(notebook, replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Course:
    """A course directory with the assignment released (and so known to the gradebook)."""
    course = Course.open(tmp_path_factory.mktemp("course"))
    release(course)
    return course
