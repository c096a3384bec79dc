"""The assignment as grading sees it, read from the trusted *source* notebooks only.

For each notebook: its test cells (tasks) with their points and probes, the grade_ids of its
code answers and of its written answers. Nothing of a submission is read here: a submission
contributes answers, never tests, points or structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course.cells import nbgrader_metadata
from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.grading.probes import Check, Group, probe
from autograder.text import identifiers

# exception names a student's run may report that are worth showing (beside the built-in ones
# and the assignment's own identifiers): what NumPy, TensorFlow and the standard library raise
# for common mistakes, and the sandbox's own time limit. A fixed list: nothing a student computes
LIBRARY_EXCEPTIONS = frozenset(
    {
        "AxisError",
        "CellTimeout",
        "InvalidArgumentError",
        "JSONDecodeError",
        "LinAlgError",
        "ResourceExhaustedError",
        "URLError",
    }
)


@dataclass(frozen=True)
class Task:
    """A test cell: its points, its probe, and the groups its points are split into."""

    grade_id: str
    notebook: str
    points: float
    answer: str | None  # the grade_id of the answer cell it tests (test_<answer>), if any
    code: str
    checks: tuple[Check, ...]
    groups: tuple[Group, ...] = ()  # each with its points, which add up to `points`


def _groups(found: tuple[Group, ...], points: float, name: str) -> tuple[Group, ...]:
    """The probe's groups with their points; a cell without markers is one group of all."""
    if len(found) == 1 and found[0].points is None:
        return (Group(None, points),)
    total = sum(g.points or 0.0 for g in found)
    if abs(total - points) > 1e-9:
        raise CourseError(
            f"{name}: its groups are worth {total:g} points in all, but the cell {points:g}; "
            "make the groups' points add up to the cell's"
        )
    return found


@dataclass(frozen=True)
class NotebookPlan:
    name: str  # without .ipynb
    source: nbformat.NotebookNode
    tasks: dict[str, Task]
    answers: tuple[str, ...]  # grade_ids of the code answer cells
    written: tuple[str, ...]  # grade_ids of the manually graded markdown answers
    # exception names feedback may show: the ones the visible, locked cells name
    known_names: frozenset[str] = frozenset()


def plan_notebook(path: Path) -> NotebookPlan:
    """One source notebook's plan; CourseError if a test cell cannot be graded."""
    notebook = nbformat.read(path, as_version=4)
    tasks, answers, written = {}, [], []
    visible = []
    for cell in notebook.cells:
        meta = nbgrader_metadata(cell)
        grade_id = meta.get("grade_id")
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            name = f"{path.name}: {grade_id}"
            found = probe(cell.source, name)
            answer = grade_id.removeprefix("test_")
            points = float(meta.get("points", 0))
            tasks[grade_id] = Task(
                grade_id=grade_id,
                notebook=path.stem,
                points=points,
                answer=answer if answer != grade_id else None,
                code=found.code,
                checks=found.checks,
                groups=_groups(found.groups, points, name),
            )
            visible.append(found.visible_source)
        elif cell.cell_type == "code" and meta.get("solution"):
            answers.append(grade_id)
        elif cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
            written.append(grade_id)
        elif cell.cell_type == "code":
            visible.append(cell.source)
    known = identifiers("\n".join(visible)) | LIBRARY_EXCEPTIONS
    return NotebookPlan(
        path.stem, notebook, tasks, tuple(answers), tuple(written), frozenset(known)
    )


def plan_assignment(course: Course, assignment: str = ASSIGNMENT) -> list[NotebookPlan]:
    folder = course.folder("source", ".", assignment)
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise CourseError(f"no source notebooks of {assignment!r} in {folder}")
    return [plan_notebook(path) for path in paths]
