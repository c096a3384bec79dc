"""Autograding the `rnn` assignment end to end into nbgrader's SQLite gradebook.

With stock `nbgrader autograde` (which instructors may still use) the reference solutions must
earn every automatic point and the untouched release none; with the course's sandboxed grader,
every plausible wrong answer (tests/assignment_mutants.py) must lose points on its own task
only. (Determinism of the sandboxed grader: tests/test_grading_class.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from assignment_mutants import MUTANTS, Mutant
from benchmarks.stock_nbgrader import autograde as stock_autograde
from helpers.assignment import solution_cells, source_notebooks, write_variant

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.grading.autograde import autograde
from autograder.intake.submitted import submit
from autograder.results.scores import cell_scores
from autograder.sandbox.engine import Limits

pytestmark = pytest.mark.slow


def auto_scores(
    course: Course, student: str, notebook: str | None = None
) -> dict[str, tuple[float, float]]:
    """Test-cell scores (of one notebook, if given): grade_id → (score, max_score)."""
    return {
        grade_id: (score.score, score.max_score)
        for grade_id, score in cell_scores(course, student).items()
        if score.auto and notebook in (None, score.notebook)
    }


@pytest.fixture(scope="module")
def graded_course(released_course) -> Course:
    """The reference and the untouched release, each submitted and autograded once."""
    submit(released_course, "reference", source_notebooks())
    submit(
        released_course, "untouched", sorted(released_course.folder("release", ".").glob("*.ipynb"))
    )
    outcomes = stock_autograde(released_course, ["reference", "untouched"])
    assert outcomes == {"reference": "ok", "untouched": "ok"}
    return released_course


@pytest.mark.xdist_group("grading")
def test_the_reference_solutions_earn_every_automatic_point(graded_course):
    scores = auto_scores(graded_course, "reference")
    assert len(scores) == 9
    assert {grade_id: score for grade_id, (score, _) in scores.items()} == {
        grade_id: maximum for grade_id, (_, maximum) in scores.items()
    }


@pytest.mark.xdist_group("grading")
def test_the_untouched_release_earns_no_automatic_point(graded_course):
    scores = auto_scores(graded_course, "untouched")
    assert len(scores) == 9
    assert all(score == 0 for score, _ in scores.values())


# --- mutation tests --------------------------------------------------------------------------

SOLUTIONS = solution_cells()


def notebook_of(mutant: Mutant) -> Path:
    return SOLUTIONS[mutant.grade_id][0]


def student_of(mutant: Mutant) -> str:
    return f"mutant-{mutant.grade_id}-{mutant.name}".replace("_", "-")[:64]  # a usable id


@pytest.fixture(scope="module")
def graded_mutants(tmp_path_factory) -> Course:
    """Every mutant as a student submitting its one notebook, graded in one sandboxed class run."""
    course = Course.open(tmp_path_factory.mktemp("mutants"))
    release(course)
    folder = tmp_path_factory.mktemp("variants")
    for mutant in MUTANTS:
        source = SOLUTIONS[mutant.grade_id][1]
        variant = write_variant(
            notebook_of(mutant),
            folder / student_of(mutant) / notebook_of(mutant).name,
            {mutant.grade_id: mutant.apply(source)},
        )
        submit(course, student_of(mutant), [variant])
    autograde(course, workers=2, limits=Limits(cell_seconds=45, notebook_seconds=300))
    return course


@pytest.mark.parametrize(
    "mutant",
    [pytest.param(m, marks=pytest.mark.xdist_group("mutants")) for m in MUTANTS],
    ids=lambda m: f"{m.grade_id}-{m.name}",
)
def test_a_wrong_answer_loses_points_on_its_own_task_only(mutant, graded_mutants):
    course = graded_mutants
    # only the mutated notebook is submitted; every other task of that notebook keeps full marks
    scores = auto_scores(course, student_of(mutant), notebook_of(mutant).stem)
    in_notebook = {g for g, (path, _) in SOLUTIONS.items() if path == notebook_of(mutant)}
    assert set(scores) == {f"test_{g}" for g in in_notebook}
    task = f"test_{mutant.grade_id}"
    score, maximum = scores[task]
    assert score < maximum, f"{mutant.name} keeps all {maximum} points of {task}"
    for other, (other_score, other_max) in scores.items():
        if other != task:
            assert other_score == other_max, f"{mutant.name} also costs points on {other}"
