"""Run wrong answers through the *visible* tests only, as a student running the release would.

A student sees only what the test cells keep after nbgrader strips their hidden tests: this
runs each variant's notebook up to its task's test cell, with that cell cut to its visible
part, and reports whether the student would have seen it fail. One Python process per notebook
(TensorFlow is imported once), a fresh namespace per variant; the code is ours (the reference
and the mutant corpus), so it runs without a sandbox.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course.cells import grade_id as grade_id_of
from autograder.course.cells import nbgrader_metadata
from autograder.grading.probes import probe
from helpers.assignment import source_notebooks

RUNNER = r"""
import json, os, sys, traceback
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
job = json.load(sys.stdin)
results = {}
for variant in job["variants"]:
    namespace = {"__name__": "__main__"}
    outcome = None
    for cell in job["cells"]:
        source = variant["source"] if cell["grade_id"] == variant["grade_id"] else cell["source"]
        try:
            exec(compile(source, cell["grade_id"] or "cell", "exec"), namespace)
        except Exception as error:
            where = "test" if cell["grade_id"] == "test_" + variant["grade_id"] else "before"
            outcome = {"where": where, "error": f"{type(error).__name__}: {error}"[:2000]}
            break
        if cell["grade_id"] == "test_" + variant["grade_id"]:
            break
    results[variant["key"]] = outcome
with open(sys.argv[1], "w") as report:
    json.dump(results, report)
"""


@dataclass(frozen=True)
class Variant:
    key: str
    grade_id: str  # the solution cell it replaces
    source: str


def _visible_cells(notebook: nbformat.NotebookNode) -> list[dict]:
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_metadata(cell)
        source = cell.source
        if meta.get("grade") and not meta.get("solution"):
            source = probe(source, grade_id_of(cell) or "").visible_source
        cells.append({"grade_id": grade_id_of(cell), "source": source})
    return cells


def visible_outcomes(variants: list[Variant]) -> dict[str, dict | None]:
    """key → None if the variant passes its task's visible tests, else where and what failed."""
    results: dict[str, dict | None] = {}
    for path in source_notebooks():
        notebook = nbformat.read(path, as_version=4)
        cells = _visible_cells(notebook)
        ids = {cell["grade_id"] for cell in cells}
        mine = [v.__dict__ for v in variants if v.grade_id in ids]
        if not mine:
            continue
        report = Path(tempfile.mkdtemp()) / "outcomes.json"
        run = subprocess.run(
            [sys.executable, "-c", RUNNER, str(report)],
            input=json.dumps({"cells": cells, "variants": mine}),
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if run.returncode != 0:
            raise AssertionError(f"running the visible tests of {path.name} failed:\n{run.stderr}")
        results |= json.loads(report.read_text())
        shutil.rmtree(report.parent)
    return results


@dataclass(frozen=True)
class Share:
    """How many of a task's mistakes its visible tests show, and which they let through."""

    grade_id: str
    caught: int
    mutants: int
    missed: tuple[str, ...]


def mistakes_caught_by_visible_tests() -> tuple[list[Share], dict[str, dict | None]]:
    """Per task, the share of the mistake corpus the visible tests catch; and the reference's
    own outcomes (each must be None: the reference passes its visible tests)."""
    from assignment_mutants import MUTANTS

    from helpers.assignment import solution_cells

    solutions = solution_cells()
    variants = [
        Variant(f"{m.grade_id}/{m.name}", m.grade_id, m.apply(solutions[m.grade_id][1]))
        for m in MUTANTS
    ]
    variants += [Variant(f"{g}/reference", g, source) for g, (_, source) in solutions.items()]
    outcomes = visible_outcomes(variants)
    shares = []
    for grade_id in solutions:
        mine = [m for m in MUTANTS if m.grade_id == grade_id]
        missed = tuple(m.name for m in mine if outcomes[f"{grade_id}/{m.name}"] is None)
        shares.append(Share(grade_id, len(mine) - len(missed), len(mine), missed))
    reference = {g: outcomes[f"{g}/reference"] for g in solutions}
    return shares, reference
