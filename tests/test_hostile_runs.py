"""What a submission's run sends back never stops, slows or leaks out of the class's grading,
through `rnn-course autograde` as instructors run it, in both sandbox modes.

The attacks on the trusted side (tests/adversarial_submissions.py): records no parser should
choke on (numbers no float holds, a 2**70-element shape, a line of 200,000 brackets), hidden
test source smuggled out as an exception's name, 240 MB of forged output, lone surrogates
printed and in a written answer, and eight processes (more than the cores) spinning in
sessions of their own. Each is one student of a class with an honest one; the class is graded,
every command after it works, and each attacker's record says what happened. Rerun as `nobody` by
tests/test_unprivileged_grader.py.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest
from adversarial_submissions import ATTACKS, NOTEBOOK
from helpers.assignment import source_notebooks
from helpers.commands import run
from test_grading_class import attack_notebook, student

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.grading.state import read_states
from autograder.intake.submitted import submit

# what follows `default_rng(20263)` in the next task's hidden tests: the smuggler's loot
HIDDEN_SOURCE = "_grads = [_rng.normal(size=(4, 3))"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]

ON_THE_JUDGE = {
    "undecodable_records",
    "smuggle_hidden_tests_in_an_exception_name",
    "flood_of_forged_output",
    "lone_surrogates_printed",
    "lone_surrogate_in_a_written_answer",
    "spin_in_many_sessions",
}
CHOSEN = [a for a in ATTACKS if a.name in ON_THE_JUDGE]
LIMITS = ["--cell-timeout", "45", "--notebook-timeout", "300"]


@pytest.fixture(scope="module", params=["forked", "no-fork"])
def graded(request, tmp_path_factory) -> Course:
    course = Course.open(tmp_path_factory.mktemp(request.param) / "course")
    released = release(course)
    folder = tmp_path_factory.mktemp("answers")
    submit(course, "honest", [p for p in source_notebooks() if p.stem == NOTEBOOK])
    for attack in CHOSEN:
        path = folder / attack.name / f"{NOTEBOOK}.ipynb"
        submit(course, student(attack), [attack_notebook(attack, released / path.name, path)])
    mode = ["--no-fork"] if request.param == "no-fork" else []
    finished = run("autograde", "--course-dir", course.root, *LIMITS, *mode, timeout=1500)
    assert finished.returncode == 0, finished.stderr[-4000:]
    assert "Traceback" not in finished.stderr
    return course


def test_the_corpus_holds_every_attack_on_the_judge():
    assert {a.name for a in CHOSEN} == ON_THE_JUDGE


def test_every_student_is_graded_and_the_honest_one_fully(graded):
    states = read_states(graded)
    assert set(states) == {"honest", *(student(a) for a in CHOSEN)}
    honest = states["honest"]["notebooks"][NOTEBOOK]["tasks"]
    assert all(task["score"] == task["max_score"] for task in honest.values()), honest


@pytest.mark.parametrize("attack", CHOSEN, ids=lambda a: a.name)
def test_each_attack_is_recorded_for_its_student(graded, attack):
    state = read_states(graded)[student(attack)]
    result = state["notebooks"][NOTEBOOK]
    said = " | ".join(
        [
            state["status"],
            *result["errors"].values(),
            *(t["reason"] for t in result["tasks"].values()),
        ]
    )
    assert attack.reported in said, said


def test_every_command_after_grading_works_and_leaks_nothing(graded, tmp_path):
    for command in (
        ["feedback"],
        ["export", "--out", tmp_path / "grades.csv", "--nbgrader-csv", tmp_path / "nb.csv"],
        ["report", "--out", tmp_path / "report.html"],
    ):
        finished = run(*command, "--course-dir", graded.root, timeout=600)
        assert finished.returncode == 0, finished.stderr[-3000:]
    with (tmp_path / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"honest", *(student(a) for a in CHOSEN)}
    pages = list((graded.root / "feedback").rglob("*.html"))
    records = [json.dumps(state) for state in read_states(graded).values()]
    for text in [*(html.unescape(p.read_text()) for p in pages), *records]:
        assert HIDDEN_SOURCE not in text and "BEGIN HIDDEN TESTS" not in text


def test_the_graded_copies_stay_small_and_valid(graded):
    for folder in (graded.root / "autograded").iterdir():
        copies = list(Path(folder, "rnn").glob("*.ipynb"))
        assert sum(p.stat().st_size for p in copies) < 3 * 1024**2, folder.name
        for copy in copies:
            json.loads(copy.read_text(encoding="utf-8"))
