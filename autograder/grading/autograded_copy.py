"""The instructor's copy of each graded notebook, for nbgrader's formgrader.

Built from the *source* notebook with the student's answers put into its answer cells and what
each cell printed as its output, so the formgrader shows the student's work beside the tests.
Everything taken from the submission is made inert first: printed text is storable (no lone
surrogates or control characters, capped), and written answers are Markdown without raw HTML,
links or images, so nothing a student wrote runs or loads in the instructor's browser.
"""

from __future__ import annotations

import copy

import nbformat

from autograder import limits
from autograder.course.cells import grade_id as grade_id_of
from autograder.course.cells import nbgrader_metadata
from autograder.course.folder import Course
from autograder.grading.jobs import JobCell
from autograder.grading.judge import NotebookResult, TaskResult
from autograder.grading.plan import NotebookPlan
from autograder.text import inert_markdown, storable

NO_ANSWER = "# (no answer in the submission)"


def graded_copy(
    plan: NotebookPlan, cells: list[JobCell], result: NotebookResult, written: dict[str, str]
) -> nbformat.NotebookNode:
    """The source notebook with the student's answers and outputs in it."""
    notebook = copy.deepcopy(plan.source)
    answers = {c.grade_id: c.source for c in cells if c.kind == "answer"}
    outputs = {}
    for index, cell in enumerate(cells):
        if index in result.outputs and cell.kind in ("setup", "answer", "test"):
            outputs[cell.grade_id] = storable(result.outputs[index], limits.CELL_OUTPUT_CHARS)
    for cell in notebook.cells:
        grade_id = grade_id_of(cell)
        if nbgrader_metadata(cell).get("solution"):  # never leave the reference's answer in
            if cell.cell_type == "code":
                found = answers.get(grade_id)
                cell.source = NO_ANSWER if found is None else storable(found, limits.NOTEBOOK_BYTES)
            else:
                cell.source = inert_markdown(written.get(grade_id, ""), limits.NOTEBOOK_BYTES)
        if cell.cell_type == "code" and grade_id in outputs:
            cell.outputs = [nbformat.v4.new_output("stream", text=outputs[grade_id])]
        task = result.tasks.get(grade_id or "")
        if cell.cell_type == "code" and task is not None and task.groups:
            cell.outputs.append(nbformat.v4.new_output("stream", text=_verdict_text(task)))
    return notebook


def _verdict_text(task: TaskResult) -> str:
    """The grader's verdict on a test cell, group by group, for the instructor."""
    lines = [f"[autograder] {task.score:g} of {task.max_score:g} points"]
    for group in task.groups:
        name = group.name or "all checks"
        where = f" at check {group.failed_check}" if group.failed_check else ""
        outcome = "passed" if group.reason == "passed" else f"failed{where}: {group.reason}"
        lines.append(f"  {name} ({group.score:g}/{group.max_score:g}): {outcome}")
    return "\n".join(lines) + "\n"


def write_graded_copies(
    course: Course,
    student: str,
    assignment: str,
    copies: dict[str, nbformat.NotebookNode],
) -> None:
    """autograded/<student>/<assignment>/<notebook>.ipynb, with the submission's time file."""
    target = course.folder("autograded", student, assignment)
    target.mkdir(parents=True, exist_ok=True)
    stamp = course.folder("submitted", student, assignment) / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        (target / "timestamp.txt").write_bytes(stamp.read_bytes()[: limits.SMALL_FILE_BYTES])
    for name, notebook in copies.items():
        nbformat.write(notebook, target / f"{name}.ipynb")
