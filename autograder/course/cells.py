"""Reading and rewriting an nbgrader notebook's answer cells by their grade_id.

The benchmarks and the tests both put known answers (the reference, or a deliberately wrong
one) into notebooks; this is the one place that knows how nbgrader marks those cells.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def answer_sources(path: Path) -> dict[str, str]:
    """grade_id → source of every code answer (solution) cell of a notebook."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
    }


def replace_sources(notebook: nbformat.NotebookNode, sources: dict[str, str]) -> None:
    """Put `sources[grade_id]` into each cell of the notebook with that grade_id, in place."""
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
