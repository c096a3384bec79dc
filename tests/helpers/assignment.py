"""The `rnn` assignment's sources, and notebooks with answers put in, for tests to submit."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course.cells import answer_sources, replace_sources
from helpers.commands import ROOT

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
