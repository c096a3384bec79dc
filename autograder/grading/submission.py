"""A submitted notebook, read as hostile JSON: only its answers are taken, never its tests.

A submission may be invalid JSON, not UTF-8, not a notebook, huge, or a notebook with edited,
deleted, reordered or duplicated cells and forged metadata. `read_submission` takes from it the
answer cells (found by grade_id, with any helper cells the student put directly above them) and
the written answers, and nothing else; anything it cannot read is one line (CourseError) that
becomes that notebook's result. A notebook saved under another name is recognised by the answer
cells it holds (`match_notebooks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder import limits
from autograder.course.cells import grade_id, is_code_answer, is_written_answer
from autograder.errors import CourseError
from autograder.grading.plan import NotebookPlan


@dataclass
class Answers:
    """What a submitted notebook contributes: answer code (with helper cells) and written text."""

    code: dict[str, list[str]] = field(default_factory=dict)  # grade_id → helpers + answer
    written: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_submission(path: Path) -> Answers:
    """The answers in a submitted notebook; CourseError (one line) if it cannot be read."""
    size = path.stat().st_size
    if size > limits.NOTEBOOK_BYTES:
        raise CourseError(f"{path.name} is {size / limits.MiB:.0f} MB, more than the limit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CourseError(f"{path.name} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:120]
        raise CourseError(f"{path.name} is not valid JSON ({reason})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        found = data.get("nbformat") if isinstance(data, dict) else None
        found = found if isinstance(found, int | float | str | None) else type(found).__name__
        raise CourseError(f"{path.name} is not an nbformat 4 notebook (nbformat: {found!r:.40})")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise CourseError(f"{path.name} has no list of cells")
    answers, helpers = Answers(), []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        found = grade_id(cell)
        if not found:
            if cell.get("cell_type") == "code" and source.strip():
                helpers.append(source)  # the student's own cell: kept if it precedes an answer
            continue
        if is_code_answer(cell):
            if found in answers.code:
                answers.notes.append(f"answer cell {found} appears twice; the first is graded")
            else:
                answers.code[found] = [*helpers, source]
        elif is_written_answer(cell):
            answers.written.setdefault(found, source)
        helpers = []
    return answers


def match_notebooks(folder: Path, plans: list[NotebookPlan]) -> tuple[dict[str, Path], list[str]]:
    """Submitted file for each notebook; a misnamed file is matched by the answers it holds."""
    files = {p.name: p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()}
    found, notes = {}, []
    for plan in plans:
        if f"{plan.name}.ipynb" in files:
            found[plan.name] = files.pop(f"{plan.name}.ipynb")
    for plan in plans:
        if plan.name in found:
            continue
        for name, path in sorted(files.items()):
            try:
                held = set(read_submission(path).code)
            except CourseError:
                continue
            if held & set(plan.answers):
                found[plan.name] = files.pop(name)
                notes.append(f"{name} graded as {plan.name}.ipynb")
                break
    return found, notes
