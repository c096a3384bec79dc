"""How nbgrader marks a notebook's cells, read in one place: answers, tests, written answers.

Every module that needs a cell's nbgrader role (the plan, a submission's answers, the export's
columns, the feedback, the benchmarks and tests that put answers into notebooks) asks here, so
the metadata's shape is known once. A submitted notebook's cells are hostile JSON: the readers
accept any shape and never raise on one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nbformat


def nbgrader_metadata(cell: object) -> Mapping:
    """A cell's `metadata.nbgrader`, or {} where the cell has none (or a malformed one)."""
    if not isinstance(cell, Mapping):
        return {}
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def grade_id(cell: object) -> str | None:
    found = nbgrader_metadata(cell).get("grade_id")
    return found if isinstance(found, str) else None


def is_code_answer(cell: object) -> bool:
    """A cell the student writes code into (nbgrader's "solution" code cell)."""
    meta = nbgrader_metadata(cell)
    return _kind(cell) == "code" and bool(meta.get("solution"))


def is_written_answer(cell: object) -> bool:
    """A markdown answer graded by hand."""
    meta = nbgrader_metadata(cell)
    return _kind(cell) == "markdown" and bool(meta.get("solution"))


def is_test(cell: object) -> bool:
    """A locked code cell with points: its checks grade an answer."""
    meta = nbgrader_metadata(cell)
    return _kind(cell) == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_graded(cell: object) -> bool:
    """A cell with points: a test cell or a written answer graded by hand."""
    return bool(nbgrader_metadata(cell).get("grade"))


def points(cell: object) -> float:
    found = nbgrader_metadata(cell).get("points", 0)
    return float(found) if isinstance(found, int | float) else 0.0


def _kind(cell: object) -> object:
    return cell.get("cell_type") if isinstance(cell, Mapping) else None


def answer_sources(path: Path) -> dict[str, str]:
    """grade_id → source of every code answer (solution) cell of a notebook."""
    return {
        grade_id(cell) or "": cell.source
        for cell in nbformat.read(path, as_version=4).cells
        if is_code_answer(cell)
    }


def replace_sources(notebook: nbformat.NotebookNode, sources: dict[str, str]) -> None:
    """Put `sources[grade_id]` into each cell of the notebook with that grade_id, in place."""
    for cell in notebook.cells:
        found = grade_id(cell)
        if found in sources:
            cell.source = sources[found]
