"""Grades that every output states the same way, and says when they are not final.

One class graded once, late work included; then what used to make the outputs disagree or go
stale without a word: the late policy changed after grading, a score set by hand, a newer
submission collected but not graded yet, written answers still waiting for a score. After each,
`export`'s CSV, nbgrader's own CSV (`--nbgrader-csv`) and the report agree, student by student,
and the status column says what is not final.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from helpers.assignment import source_notebooks
from helpers.classes import make_class
from helpers.commands import one_line, run
from nbgrader.api import Gradebook

from autograder.course.folder import Course
from autograder.intake.submitted import submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consistency")]

LIMITS = ["--cell-timeout", "45", "--notebook-timeout", "300"]
DUE = "2026-03-02 10:00"
ON_TIME = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 3, 2, 12, 15, tzinfo=dt.UTC)  # 2 h 15 min late: 3 started hours


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    """s0 (the reference) and s1, s2 (one mistake each) on time; s3 the reference, late."""
    course = make_class(tmp_path_factory.mktemp("c") / "course", tmp_path_factory.mktemp("w"), 3)
    run("configure", "--course-dir", course.root, "--late", "percent", "--late-percent", "10",
        "--late-per", "hour", check=True)  # fmt: skip
    run("release", "--course-dir", course.root, "--due", DUE, "--allow-past-due",
        "--no-exchange", check=True)  # fmt: skip
    notebook = next(p for p in source_notebooks() if p.stem == "03-rnn-from-scratch")
    submit(course, "s3", [notebook], when=LATE)
    run("autograde", "--course-dir", course.root, *LIMITS, check=True, timeout=900)
    return Course.existing(course.root)


def outputs(course: Course, folder: Path) -> tuple[dict, dict, str]:
    """(our CSV's rows, nbgrader's CSV's rows, the report's HTML), written now."""
    ours, theirs, report = folder / "grades.csv", folder / "nbgrader.csv", folder / "r.html"
    run("export", "--course-dir", course.root, "--out", ours, "--nbgrader-csv", theirs,
        check=True)  # fmt: skip
    run("report", "--course-dir", course.root, "--out", report, check=True)
    with ours.open() as a, theirs.open() as b:
        mine = {row["student_id"]: row for row in csv.DictReader(a)}
        stock = {row["student_id"]: row for row in csv.DictReader(b)}
    return mine, stock, report.read_text()


def assert_they_agree(course: Course, folder: Path) -> dict:
    mine, stock, report = outputs(course, folder)
    assert set(mine) <= set(stock)
    for student, row in mine.items():
        theirs = stock[student]
        assert float(row["score_before_penalty"]) == pytest.approx(float(theirs["raw_score"]))
        assert float(row["late_penalty"]) == pytest.approx(float(theirs["late_submission_penalty"]))
        assert float(row["total"]) == pytest.approx(float(theirs["score"]), abs=1e-5)
    mean = sum(float(row["total"]) for row in mine.values()) / len(mine)
    shown = re.search(r"mean ([\d.]+) of", report)
    assert shown and float(shown.group(1)) == pytest.approx(mean, abs=0.05)
    return mine


def test_a_late_submission_loses_its_penalty_in_every_output(course, tmp_path):
    rows = assert_they_agree(course, tmp_path)
    late = rows["s3"]
    assert late["late_by"] == "2 h 15 min"
    assert float(late["late_penalty"]) == pytest.approx(0.3 * float(late["score_before_penalty"]))
    assert float(rows["s0"]["late_penalty"]) == 0


def test_a_policy_changed_after_grading_reaches_every_output(course, tmp_path):
    run("configure", "--course-dir", course.root, "--late", "cutoff", check=True)
    try:
        rows = assert_they_agree(Course.existing(course.root), tmp_path)
        assert float(rows["s3"]["total"]) == 0 and float(rows["s0"]["total"]) > 0
    finally:
        run("configure", "--course-dir", course.root, "--late", "percent", check=True)


def test_a_score_set_by_hand_reaches_every_output(course, tmp_path):
    with Gradebook(course.db_url) as gradebook:  # as the formgrader saves it
        for grade_id in ("ex1_written", "ex3_written", "ex2_written", "ex4_written"):
            for notebook in ("01-gradients", "02-sequences-and-models"):
                try:
                    grade = gradebook.find_grade(grade_id, notebook, "rnn", "s3")
                except Exception:  # noqa: BLE001 - the written answer is in the other notebook
                    continue
                grade.manual_score = 0.7
        gradebook.db.commit()
    rows = assert_they_agree(course, tmp_path)
    assert "awaiting hand grading" not in rows["s3"]["status"]
    assert "awaiting hand grading (4 written answers)" in rows["s0"]["status"]


def test_a_newer_submission_not_graded_yet_is_said_and_the_graded_time_kept(course, tmp_path):
    before = outputs(course, tmp_path)[0]["s1"]
    submit(course, "s1", source_notebooks(), when=LATE)  # collected, not graded
    after = assert_they_agree(course, tmp_path)["s1"]
    assert "regrade needed" in after["status"]
    assert after["submitted_at"] == before["submitted_at"]
    assert after["total"] == before["total"]
    _, _, report = outputs(course, tmp_path)
    assert "s1" in report and "regrade needed" in report


# --- partial credit and grades back to the LMS -------------------------------------------------


def test_a_partly_right_answer_earns_its_groups_in_every_output_and_its_feedback(course, tmp_path):
    # s1's forward pass uses W_hh transposed: one step right, the recurrence wrong
    with Gradebook(course.db_url) as gradebook:
        grade = gradebook.find_grade("test_rnn_forward", "03-rnn-from-scratch", "rnn", "s1")
        assert (grade.auto_score, grade.max_score) == (1.0, 2.0)
    rows = assert_they_agree(course, tmp_path)
    assert float(rows["s1"]["rnn_forward"]) == 1.0
    run("feedback", "--course-dir", course.root, "--student", "s1", check=True)
    page = (course.root / "feedback" / "s1" / "rnn" / "03-rnn-from-scratch.html").read_text()
    assert "1 of 2 groups of checks passed" in page
    assert "passed: <b>one step</b> (1\nof 1 point)" in page
    failed = re.search(r"failed: <b>the recurrence</b> \(0\nof 1 point\): ([^<]+)</li>", page)
    assert failed, page
    assert "visible check 3 (H_all of a 3-step sequence) failed: 6 of 6 values differ" in (
        failed.group(1)
    )


ROSTER = """student_id,lms_id,name,email,section
s0,1001,"Doe, Jane",jane@example.edu,A
s1,1002,Max Mustermann,max@example.edu,A
s2,1003,=HYPERLINK(\"http://x\"),x@example.edu,B
s3,1004,Li Wei,li@example.edu,B
s9,1009,Not Graded,nobody@example.edu,B
"""


def lms_csv(course: Course, folder: Path, lms: str, roster: Path, *extra: str) -> list[list[str]]:
    out = folder / f"{lms}.csv"
    run("export", "--course-dir", course.root, "--out", out, "--lms", lms, "--roster", roster,
        *extra, check=True)  # fmt: skip
    with out.open(newline="") as handle:
        return list(csv.reader(handle))


def test_grades_go_back_to_canvas_and_moodle_in_their_own_import_formats(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    ours = assert_they_agree(course, tmp_path)
    totals = {s: row["total"] for s, row in ours.items()}
    # Canvas: its gradebook CSV's columns, the "Points Possible" row, keyed by the Canvas ID
    canvas = lms_csv(course, tmp_path, "canvas", roster, "--lms-title", "RNN (4711)")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN (4711)"]
    assert canvas[1][0].strip() == "Points Possible" and float(canvas[1][5]) > 0
    by_id = {row[1]: row for row in canvas[2:]}
    assert by_id["1001"] == ["Doe, Jane", "1001", "", "", "A", totals["s0"]]
    assert by_id["1002"][0] == "Max Mustermann" and by_id["1002"][5] == totals["s1"]
    assert by_id["1003"][0].startswith("'=")  # a roster cell is never a formula
    assert by_id["1009"][5] == ""  # on the roster, not graded: left for the LMS to keep
    # Moodle: the columns of its CSV grade export, keyed by ID number (map it to useridnumber)
    moodle = lms_csv(course, tmp_path, "moodle", roster)
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address",
                         "Assignment: rnn (Real)"]  # fmt: skip
    by_id = {row[2]: row for row in moodle[1:]}
    assert by_id["1001"] == ["Jane", "Doe", "1001", "jane@example.edu", totals["s0"]]
    assert by_id["1004"][:2] == ["Li", "Wei"] and by_id["1004"][4] == totals["s3"]
    # our own CSV, with the roster: lms_id and name beside the student id
    ours_out = tmp_path / "ours.csv"
    run("export", "--course-dir", course.root, "--out", ours_out, "--roster", roster, check=True)
    with ours_out.open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert (rows["s1"]["lms_id"], rows["s1"]["name"]) == ("1002", "Max Mustermann")


def test_a_graded_student_missing_from_the_roster_is_named_not_left_out(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(ROSTER.splitlines()[:3]) + "\n")  # s0 and s1 only
    finished = run("export", "--course-dir", course.root, "--out", tmp_path / "c.csv",
                   "--lms", "canvas", "--roster", roster)  # fmt: skip
    line = one_line(finished)
    assert "2 graded students have no row in the roster" in line and "s2, s3" in line
    assert not (tmp_path / "c.csv").exists()
    for args, message in [
        (["--lms", "canvas"], "--lms needs --roster"),
        (["--lms", "blackboard", "--roster", roster], "choose one of canvas, moodle"),
    ]:
        line = one_line(run("export", "--course-dir", course.root, "--out", tmp_path / "x.csv",
                            *args))  # fmt: skip
        assert message in line, line
