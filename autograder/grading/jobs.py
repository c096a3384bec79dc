"""The cells a sandbox runs for one notebook: the source's cells with the student's answers in.

The job is built from the *source* notebook: its locked cells as the instructor wrote them, the
student's answer cells (with the helper cells above them) where the source has answer cells,
and each test cell's probe. So edited, deleted, reordered or added cells in a submission change
nothing. Time policy is set here too: the instructor's setup cells (imports) get the notebook's
limit, not a cell's, since on a loaded machine TensorFlow's import alone may take long.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.course.cells import grade_id as grade_id_of
from autograder.course.cells import is_code_answer
from autograder.grading.plan import NotebookPlan
from autograder.grading.submission import Answers
from autograder.sandbox.engine import CellToRun, Job, Limits


@dataclass(frozen=True)
class JobCell:
    kind: str  # setup, helper, answer or test
    grade_id: str | None
    source: str


def job_cells(plan: NotebookPlan, answers: Answers | None) -> list[JobCell]:
    """The cells to run, in the source notebook's order; None means the reference solution."""
    cells = []
    for cell in plan.source.cells:
        if cell.cell_type != "code":
            continue
        grade_id = grade_id_of(cell)
        if grade_id in plan.tasks:
            cells.append(JobCell("test", grade_id, plan.tasks[grade_id].code))
        elif is_code_answer(cell):
            if answers is None:
                cells.append(JobCell("answer", grade_id, cell.source))
            elif grade_id in answers.code:
                *helpers, answer = answers.code[grade_id]
                cells += [JobCell("helper", grade_id, h) for h in helpers]
                cells.append(JobCell("answer", grade_id, answer))
            else:
                missing = f"raise NameError('the answer cell {grade_id} is not in the notebook')"
                cells.append(JobCell("answer", grade_id, missing))
        else:
            cells.append(JobCell("setup", grade_id, cell.source))
    return cells


def sandbox_job(cells: list[JobCell], limits: Limits) -> Job:
    """The cells as a sandbox job; the setup cells with a grade_id (the instructor's locked
    imports) are also what a template may run ahead."""
    setup = tuple(c.source for c in cells if c.kind == "setup" and c.grade_id)
    return Job(
        tuple(
            CellToRun(c.source, limits.notebook_seconds if c.kind == "setup" else None)
            for c in cells
        ),
        setup,
    )
