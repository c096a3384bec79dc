"""Grading a whole class, attackers included: sandboxed, parallel, into nbgrader's gradebook.

One class run (module fixture) grades two honest students and the adversarial corpus
(tests/adversarial_submissions.py) together, so the tests below also show that no attack
disturbs anyone else's grading.
"""

from __future__ import annotations

import csv
import html
import json
import sqlite3
from pathlib import Path

import nbformat
import pytest
from adversarial_submissions import ATTACKS, EARNED, NOTEBOOK, Attack
from helpers.assignment import solution_cells, source_notebooks

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.grading.autograde import autograde
from autograder.grading.state import read_states
from autograder.intake.submitted import submit
from autograder.results.export import columns, export_csv
from autograder.results.feedback import write_feedback
from autograder.results.report import write_report
from autograder.results.scores import cell_scores
from autograder.sandbox.engine import Limits

# what follows `default_rng(20263)` in the next task's hidden tests: the smuggler's loot
HIDDEN_SOURCE = "_grads = [_rng.normal(size=(4, 3))"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("class")]

# generous enough for TensorFlow's import on a loaded 2-core CI machine, short for the attacks
LIMITS = Limits(cell_seconds=45, notebook_seconds=300)
NOTEBOOK_TASKS = set(EARNED)
UNUSABLE = "José Ñ+rnn"


def attack_notebook(attack: Attack, release_path: Path, target: Path) -> Path:
    notebook = json.loads(release_path.read_text())
    answers = {"jacobian_norms": solution_cells()["jacobian_norms"][1]}
    if attack.answer is not None:
        answers["clip_by_global_norm"] = attack.answer
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    if attack.edit:
        attack.edit(notebook)
    data = json.dumps(notebook, indent=1).encode()
    if attack.raw:
        data = attack.raw(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def student(attack: Attack) -> str:
    return f"attack-{attack.name}".replace("_", "-")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course.open(tmp_path_factory.mktemp("class"))
    released = release(course)
    folder = tmp_path_factory.mktemp("submissions")
    submit(course, "honest-reference", source_notebooks())
    honest = Attack("honest_partial", answer=None)
    submit(
        course,
        "honest-partial",
        [
            attack_notebook(
                honest, released / f"{NOTEBOOK}.ipynb", folder / "p" / f"{NOTEBOOK}.ipynb"
            )
        ],
    )
    for attack in ATTACKS:
        path = folder / attack.name / f"{NOTEBOOK}.ipynb"
        submit(
            course, student(attack), [attack_notebook(attack, released / f"{NOTEBOOK}.ipynb", path)]
        )
    # a folder no usable student id names (put there by hand, or by an older tool)
    unusable = course.root / "submitted" / UNUSABLE / "rnn"
    unusable.mkdir(parents=True)
    (unusable / f"{NOTEBOOK}.ipynb").write_bytes(source_notebooks()[0].read_bytes())
    before = snapshot(course)
    results = autograde(course, workers=2, limits=LIMITS)
    assert snapshot(course) == before, "grading changed a submitted file"
    return course, results


def snapshot(course: Course) -> dict[str, bytes]:
    folder = course.root / "submitted"
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def auto_scores(course: Course, name: str) -> dict[str, float]:
    return {k: s.score for k, s in cell_scores(course, name).items() if s.auto}


def test_a_folder_with_an_unusable_student_id_is_left_out_and_the_class_is_graded(graded):
    course, results = graded
    assert UNUSABLE not in results and "honest-reference" in results
    assert not (course.root / "autograded" / UNUSABLE).exists()
    assert len(results) == len(ATTACKS) + 2


def test_the_corpus_has_at_least_twenty_attacks():
    assert len(ATTACKS) >= 20 and len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_no_attack_earns_a_point_it_did_not_deserve(graded, attack):
    course, _ = graded
    scores = auto_scores(course, student(attack))
    for task in NOTEBOOK_TASKS:
        assert scores[task] <= attack.deserved[task], f"{attack.name} earned {task}"
    assert sum(scores.values()) <= sum(attack.deserved.values())


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.reported], ids=lambda a: a.name)
def test_every_attack_is_reported(graded, attack):
    course, results = graded
    state = read_states(course)[student(attack)]
    result = state["notebooks"][NOTEBOOK]
    reported = " | ".join(
        [state["status"], *state["notes"], *result["errors"].values()]
        + [t["reason"] for t in result["tasks"].values()]
    )
    assert attack.reported in reported
    assert results[student(attack)].status == state["status"]


def test_honest_students_get_exactly_their_points(graded):
    course, results = graded
    reference = cell_scores(course, "honest-reference")
    assert all(s.score == s.max_score for s in reference.values() if s.auto)
    assert results["honest-reference"].status == "ok"
    partial = auto_scores(course, "honest-partial")
    assert {k: partial[k] for k in NOTEBOOK_TASKS} == EARNED
    assert all(v == 0 for k, v in partial.items() if k not in NOTEBOOK_TASKS)


def test_the_gradebook_is_intact_with_one_row_per_student_and_graded_cell(graded):
    course, _ = graded
    with sqlite3.connect(course.gradebook) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        duplicates = db.execute(
            "SELECT notebook_id, cell_id, COUNT(*) FROM grade GROUP BY notebook_id, cell_id "
            "HAVING COUNT(*) > 1"
        ).fetchall()
        assert duplicates == []
        students = db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM grade").fetchone()[0]
    assert students == len(ATTACKS) + 2
    assert rows == students * len(columns(course))


def test_export_has_one_column_per_grade_id_matching_the_gradebook(graded, tmp_path):
    course, _ = graded
    out = tmp_path / "grades.csv"
    assert export_csv(course, out, nbgrader_csv=tmp_path / "nbgrader.csv") == len(ATTACKS) + 2
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    cols = columns(course)
    assert list(rows[0]) == [
        "student_id",
        *(c.name for c in cols),
        "score_before_penalty",
        "late_penalty",
        "total",
        "max_score",
        "submitted_at",
        "due",
        "extension",
        "late_tokens_spent",
        "late_tokens_left",
        "late_by",
        "status",
        "intake_note",
    ]
    assert {c.name for c in cols if c.auto} == set(solution_cells())
    for row in rows:
        scores = cell_scores(course, row["student_id"])
        for col in cols:
            value = scores[col.grade_id].score
            assert row[col.name] == ("" if value is None else f"{value:g}")
        assert float(row["total"]) == sum(s.score or 0 for s in scores.values())
        assert float(row["max_score"]) == 24
    assert (tmp_path / "nbgrader.csv").read_text().startswith("assignment,duedate")


def hidden_test_lines() -> set[str]:
    lines = set()
    for path in source_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN")[0]
                lines |= {line.strip() for line in hidden.splitlines() if len(line.strip()) > 15}
    return lines


def solution_lines(exclude: set[str]) -> set[str]:
    lines = set()
    for grade_id, (_, source) in solution_cells().items():
        if grade_id in exclude:
            continue
        for block in source.split("### BEGIN SOLUTION")[1:]:
            body = block.split("### END SOLUTION")[0]
            lines |= {line.strip() for line in body.splitlines() if len(line.strip()) > 15}
    return lines


def test_feedback_shows_failures_but_no_hidden_test_and_no_solution(graded):
    course, _ = graded
    pages = write_feedback(course)
    assert len(pages) == 3 * (len(ATTACKS) + 2)  # missing and unreadable notebooks too
    # (a line the hidden tests share with a solution, like `with tf.GradientTape() as tape:`,
    # may appear as a student's own code)
    every_solution = "\n".join(source for _, source in solution_cells().values())
    hidden = {line for line in hidden_test_lines() if line not in every_solution}
    # students' own code may hold their answer to jacobian_norms; nobody submitted the rest
    own = solution_cells()["jacobian_norms"][1]
    solutions = {line for line in solution_lines(exclude={"jacobian_norms"}) if line not in own}
    assert hidden and solutions
    for page in pages:
        text = html.unescape(page.read_text())
        assert "BEGIN HIDDEN TESTS" not in text
        assert not [line for line in hidden if line in text], page
        if "honest-reference" not in str(page):
            assert not [line for line in solutions if line in text], page
    page = course.folder("feedback", "attack-patch-numpy-comparisons") / f"{NOTEBOOK}.html"
    text = page.read_text()
    assert "hidden check" in text or "visible check" in text
    assert "clip_by_global_norm" in text and "passed" in text  # jacobian_norms passed


def test_the_report_shows_the_class_and_the_problem_submissions(graded, tmp_path):
    course, _ = graded
    report = write_report(course, tmp_path / "report.html")
    html = report.read_text()
    assert report.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("attack-segfault", "attack-infinite-loop", "attack-invalid-json"):
        assert name in html
    assert "honest-reference</td>" not in html  # no problem to report
    assert "jacobian_norms" in html and "data:image/png;base64," in html


def test_regrading_gives_identical_scores(graded):
    course, _ = graded
    names = ["honest-reference", "honest-partial"]
    before = {name: auto_scores(course, name) for name in names}
    unchanged = autograde(course, names, workers=2, limits=LIMITS)
    assert all(r.skipped for r in unchanged.values()), "unchanged submissions are not regraded"
    regraded = autograde(course, names, workers=2, limits=LIMITS, force=True)
    assert not any(r.skipped for r in regraded.values())
    assert {name: auto_scores(course, name) for name in names} == before


def test_submissions_are_never_modified(graded):
    course, _ = graded
    for path in source_notebooks():
        submitted = course.folder("submitted", "honest-reference") / path.name
        assert submitted.read_bytes() == path.read_bytes()


def named(name: str) -> str:
    return student(next(a for a in ATTACKS if a.name == name))


def test_nothing_a_run_computes_carries_hidden_tests_out(graded):
    """An exception named with hidden test source found in the runner's memory: its name is
    shown as a fixed word, in the grading record and on the feedback page (what the cells
    printed, tracebacks included, stays in the instructor's graded copy)."""
    course, _ = graded
    smuggler = named("smuggle_hidden_tests_in_an_exception_name")
    record = json.dumps(read_states(course)[smuggler])
    pages = write_feedback(course, [smuggler])
    assert "an exception" in record
    for text in [record, *(html.unescape(page.read_text()) for page in pages)]:
        assert HIDDEN_SOURCE not in text


def test_lone_surrogates_are_stored_and_shown_as_replacement_characters(graded):
    course, _ = graded
    for name in ("lone_surrogates_printed", "lone_surrogate_in_a_written_answer"):
        state = read_states(course)[named(name)]
        assert "copy could not be written" not in state["status"], state["status"]
        graded_copy = course.folder("autograded", named(name)) / f"{NOTEBOOK}.ipynb"
        nbformat.read(graded_copy, as_version=4)  # a valid UTF-8 notebook
        (page,) = [p for p in write_feedback(course, [named(name)]) if NOTEBOOK in p.name]
        assert "\ufffd" in page.read_text(encoding="utf-8") or name.endswith("printed")


def test_a_flood_of_forged_output_is_stopped_not_kept(graded):
    course, _ = graded
    state = read_states(course)[named("flood_of_forged_output")]
    assert "reported too much" in state["status"]
    graded_copy = course.folder("autograded", named("flood_of_forged_output"))
    assert sum(p.stat().st_size for p in graded_copy.iterdir()) < 2 * 1024**2
