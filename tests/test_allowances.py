"""Extensions and late tokens, through the CLI, into every output and nbgrader's gradebook.

One class (due 10:00, 10% per started hour late) graded once: s0 on time, s1 2 h late, s2
3 h 15 min late, s3 30 min late. Then the instructor grants s1 an extension of 3 h (a
submission within it is not late), gives every student 2 one-hour tokens (spent in the order
the late work came in, as many as needed), and the export, the report, the feedback and nbgrader's
own gradebook all say the same. The spending rules themselves are unit-tested below.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import nbformat
import pytest
from helpers.assignment import source_notebooks
from helpers.classes import make_class
from helpers.commands import one_line, run
from nbgrader.api import Gradebook

from autograder.course.allowances import Allowances, parse_duration, spend_tokens
from autograder.course.deadlines import counting_order, student_due
from autograder.course.folder import Course
from autograder.errors import CourseError
from autograder.intake.submitted import submit

DUE = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LIMITS = ["--cell-timeout", "45", "--notebook-timeout", "300"]
SUBMITTED = {
    "s0": DUE - dt.timedelta(minutes=30),
    "s1": DUE + dt.timedelta(hours=2),
    "s2": DUE + dt.timedelta(hours=3, minutes=15),
    "s3": DUE + dt.timedelta(minutes=30),
}


# --- the spending rules ----------------------------------------------------------------------


def test_durations_are_read_as_instructors_type_them():
    assert parse_duration("2d") == parse_duration("48 h") == 172_800
    assert parse_duration("90min") == 5_400 and parse_duration("1.5 days") == 129_600
    for bad in ("", "2", "two days", "-3h", "0h", "400d"):
        with pytest.raises(CourseError, match="duration"):
            parse_duration(bad)


def test_tokens_are_spent_in_submission_order_as_many_as_needed():
    allowances = Allowances(default_tokens=3, token_unit="day")
    day = dt.timedelta(days=1)
    dues = {"b": DUE + 7 * day, "a": DUE, "c": DUE + 14 * day, "d": None}
    submitted = {"a": DUE + 2 * day - dt.timedelta(hours=1), "b": DUE + 9 * day, "c": DUE}
    spent = spend_tokens(allowances, "s", dues, submitted)
    assert {a: s.tokens for a, s in spent.items()} == {"a": 2, "b": 1, "c": 0, "d": 0}
    assert {s.tokens_left for s in spent.values()} == {0}
    # an extension is used before tokens; the policy's grace is not spent
    allowances = Allowances({"a": {"s": 86_400.0}}, default_tokens=3, token_unit="hour")
    spent = spend_tokens(allowances, "s", {"a": DUE}, {"a": DUE + day + dt.timedelta(minutes=10)})
    assert spent["a"].tokens == 1 and spent["a"].extension == 86_400
    spent = spend_tokens(
        allowances, "s", {"a": DUE}, {"a": DUE + day + dt.timedelta(minutes=10)}, 15 * 60
    )
    assert spent["a"].tokens == 0
    # late work on an earlier assignment, handed in after a later one was graded with the
    # tokens, does not take them back
    allowances = Allowances(default_tokens=2, token_unit="day")
    dues = {"a1": DUE, "a2": DUE + 7 * day}
    before = spend_tokens(allowances, "s", dues, {"a2": DUE + 9 * day})
    after = spend_tokens(allowances, "s", dues, {"a1": DUE + 12 * day, "a2": DUE + 9 * day})
    assert before["a2"].tokens == after["a2"].tokens == 2 and after["a1"].tokens == 0
    # a student with their own number of tokens
    allowances = Allowances(tokens={"t": 1}, default_tokens=5, token_unit="day")
    spent = spend_tokens(allowances, "t", {"a": DUE}, {"a": DUE + 3 * day})
    assert (spent["a"].tokens, spent["a"].tokens_left) == (1, 0)


def test_which_submission_counts_follows_the_students_own_due_date():
    allowances = Allowances({"rnn": {"s1": 7_200.0}})
    times = [DUE - dt.timedelta(hours=1), DUE + dt.timedelta(hours=1), DUE + dt.timedelta(hours=3)]
    own = student_due(allowances, "rnn", "s1", DUE)
    assert counting_order(times, lambda t: t, own, "last-on-time")[0] == times[1]
    other = student_due(allowances, "rnn", "s2", DUE)
    assert counting_order(times, lambda t: t, other, "last-on-time")[0] == times[0]


# --- through the CLI -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    course = make_class(tmp_path_factory.mktemp("c") / "course", tmp_path_factory.mktemp("w"), 1)
    run("configure", "--course-dir", course.root, "--late", "percent", "--late-percent", "10",
        "--late-per", "hour", check=True)  # fmt: skip
    run("release", "--course-dir", course.root, "--due", "2026-03-02 10:00", "--allow-past-due",
        "--no-exchange", check=True)  # fmt: skip
    notebook = next(p for p in source_notebooks() if p.stem == "03-rnn-from-scratch")
    for student, when in SUBMITTED.items():
        submit(course, student, [notebook], when=when)
    run("autograde", "--course-dir", course.root, *LIMITS, check=True, timeout=900)
    return Course.existing(course.root)


def export(course: Course, folder: Path) -> dict[str, dict]:
    out = folder / "grades.csv"
    run("export", "--course-dir", course.root, "--out", out, check=True)
    with out.open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
@pytest.mark.xdist_group("allowances")
def test_every_released_notebook_begins_with_its_due_date(course):
    for path in sorted(course.folder("release", ".", "rnn").glob("*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown" and "nbgrader" not in first.metadata
        assert first.source.startswith("**Due 2026-03-02 10:00:00 UTC**"), first.source
        assert "10% per started hour late" in first.source


@pytest.mark.slow
@pytest.mark.xdist_group("allowances")
def test_an_extension_makes_a_submission_within_it_on_time_everywhere(course, tmp_path):
    before = export(course, tmp_path)
    assert before["s1"]["late_by"] == "2 h" and float(before["s1"]["late_penalty"]) > 0
    done = run("extend", "--course-dir", course.root, "--student", "s1", "--by", "3h", check=True)
    assert "s1: rnn due 2026-03-02 13:00:00 UTC (extension 3 h)" in done.stderr
    try:
        rows = export(course, tmp_path)
        s1 = rows["s1"]
        assert (s1["late_by"], s1["late_penalty"], s1["extension"]) == ("", "0", "3 h")
        assert s1["due"] == "2026-03-02 13:00:00 UTC"
        assert float(s1["total"]) == float(s1["score_before_penalty"]) > 0
        assert rows["s2"]["extension"] == "" and rows["s2"]["late_by"] == "3 h 15 min"
        with Gradebook(course.db_url) as gradebook:  # nbgrader's own view agrees
            submission = gradebook.find_submission("rnn", "s1")
            assert submission.extension == dt.timedelta(hours=3)
            assert submission.total_seconds_late == 0 and not submission.late_submission_penalty
        report = tmp_path / "report.html"
        run("report", "--course-dir", course.root, "--out", report, check=True)
        assert "2026-03-02 13:00:00 UTC</td><td>3 h</td>" in report.read_text()
        run("feedback", "--course-dir", course.root, "--student", "s1", check=True)
        page = (course.root / "feedback" / "s1" / "rnn" / "03-rnn-from-scratch.html").read_text()
        assert "on time" in page and "with your extension of\n3 h" in page
        # only s1's page says it: an accommodation is nobody else's business
        run("feedback", "--course-dir", course.root, "--student", "s2", check=True)
        other = (course.root / "feedback" / "s2" / "rnn" / "03-rnn-from-scratch.html").read_text()
        assert "extension" not in other
    finally:
        run("extend", "--course-dir", course.root, "--student", "s1", "--remove", check=True)
    assert export(course, tmp_path)["s1"]["late_by"] == "2 h"


@pytest.mark.slow
@pytest.mark.xdist_group("allowances")
def test_late_tokens_are_spent_automatically_in_submission_order(course, tmp_path):
    # an earlier assignment, where s2 was an hour late and handed in first: its token goes first
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_assignment(
            "quiz", duedate=(DUE - dt.timedelta(days=7)).replace(tzinfo=None)
        )
        gradebook.add_submission(
            "quiz", "s2", timestamp=(DUE - dt.timedelta(days=7, minutes=-50)).replace(tzinfo=None)
        )
    done = run("tokens", "--course-dir", course.root, "--give", "2", "--unit", "hour", check=True)
    assert "2 of one hour each for every student" in done.stderr
    try:
        rows = export(course, tmp_path)
        # s2: 1 token on the quiz, 1 on rnn: 2 h 15 min late, 3 started hours, 30%
        s2 = rows["s2"]
        assert (s2["late_tokens_spent"], s2["late_tokens_left"], s2["late_by"]) == (
            "1", "0", "2 h 15 min")  # fmt: skip
        assert float(s2["late_penalty"]) == pytest.approx(0.3 * float(s2["score_before_penalty"]))
        # s3: 30 min late, one token covers it; s0 on time spends none
        assert (rows["s3"]["late_tokens_spent"], rows["s3"]["late_by"]) == ("1", "")
        assert (rows["s0"]["late_tokens_spent"], rows["s0"]["late_tokens_left"]) == ("0", "2")
        run("feedback", "--course-dir", course.root, "--student", "s3", check=True)
        page = (course.root / "feedback" / "s3" / "rnn" / "03-rnn-from-scratch.html").read_text()
        assert "1 late token spent on it" in page and "Late tokens left for the term:\n1" in page
        # one student's own number
        run("tokens", "--course-dir", course.root, "--give", "0", "--student", "s3", check=True)
        assert export(course, tmp_path)["s3"]["late_by"] == "30 min"
    finally:
        run("tokens", "--course-dir", course.root, "--give", "0", check=True)
        run("tokens", "--course-dir", course.root, "--give", "0", "--student", "s3", check=True)
        with Gradebook(course.db_url) as gradebook:
            gradebook.remove_assignment("quiz")


@pytest.mark.slow
@pytest.mark.xdist_group("allowances")
def test_wrong_allowances_are_refused_in_one_line(course):
    cases = [
        (["extend", "--student", "s1"], "exactly one of --by, --until or --remove"),
        (["extend", "--student", "s1", "--by", "soon"], "write it as e.g. 2d"),
        (["extend", "--student", "../x", "--by", "1d"], "not a usable student id"),
        (["extend", "--student", "s1", "--until", "2026-03-01 10:00"], "is not after"),
        (["tokens", "--give", "-1"], "tokens from 0 to"),
        (["tokens", "--give", "1", "--unit", "week"], "choose hour or day"),
    ]
    for args, message in cases:
        line = one_line(run(*args, "--course-dir", course.root))
        assert message in line, line
