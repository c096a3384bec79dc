"""Due dates, the late policy and feedback returned through the exchange, on one machine.

(The same loop with real Unix accounts on a JupyterHub is tests/test_hub*.py.)
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.assignment import source_notebooks
from helpers.commands import one_line, run

from autograder.course.deadlines import (
    due_date,
    lateness,
    parse_due,
    set_due_date,
)
from autograder.course.folder import Course
from autograder.course.gradebook import record_penalties
from autograder.course.release import release
from autograder.course.settings import CourseSettings, LatePolicy
from autograder.errors import CourseError
from autograder.grading.autograde import autograde
from autograder.intake.submitted import submit
from autograder.sandbox.engine import Limits

DAY, HOUR = 86_400, 3_600


@pytest.mark.parametrize(
    "policy, late_seconds, taken",
    [
        (LatePolicy("none"), 10 * DAY, 0.0),
        (LatePolicy("percent", percent=10, per="day", cap=50), 0, 0.0),
        (LatePolicy("percent", percent=10, per="day", cap=50), 1, 0.10),  # a started day
        (LatePolicy("percent", percent=10, per="day", cap=50), DAY + 1, 0.20),
        (LatePolicy("percent", percent=10, per="day", cap=50), 9 * DAY, 0.50),  # the cap
        (LatePolicy("percent", percent=5, per="hour", cap=100), 3 * HOUR - 1, 0.15),
        (LatePolicy("cutoff"), 1, 1.0),
        (LatePolicy("cutoff", grace_minutes=10), 9 * 60, 0.0),
        (LatePolicy("cutoff", grace_minutes=10), 11 * 60, 1.0),
    ],
)
def test_the_late_policy_takes_its_share_per_started_period_up_to_its_cap(
    policy, late_seconds, taken
):
    assert policy.fraction(late_seconds) == pytest.approx(taken)


def test_lateness_is_measured_from_the_due_date_and_words_say_how_late():
    due = dt.datetime(2026, 12, 1, 22, 59, tzinfo=dt.UTC)
    found = lateness(
        due + dt.timedelta(days=1, hours=2, minutes=4, seconds=1),
        due,
        LatePolicy("percent", percent=10, per="day", cap=50),
    )
    assert found.late_by == "1 d 2 h 5 min" and found.fraction == pytest.approx(0.2)
    assert found.penalty(10.0) == pytest.approx(2.0)
    assert lateness(due, due, LatePolicy("cutoff")).late_by == ""
    assert lateness(None, due, LatePolicy("cutoff")).fraction == 0.0


def test_a_due_date_is_read_in_the_class_s_time_zone_with_summer_time():
    winter = parse_due("2026-12-01 23:59", "Europe/Paris")
    summer = parse_due("2026-06-01 23:59", "Europe/Paris")
    assert winter == dt.datetime(2026, 12, 1, 22, 59, tzinfo=dt.UTC)
    assert summer == dt.datetime(2026, 6, 1, 21, 59, tzinfo=dt.UTC)
    with pytest.raises(CourseError, match="unknown time zone 'Mars/Olympus'"):
        parse_due("2026-12-01 23:59", "Mars/Olympus")
    with pytest.raises(CourseError, match="YYYY-MM-DD HH:MM"):
        parse_due("1/12/2026", "UTC")


def test_settings_refuse_bad_values_in_one_line_and_round_trip(tmp_path):
    settings = CourseSettings().updated(
        policy="percent", percent=10, cap=50, counts="last", timezone="Europe/Paris"
    )
    settings.save(tmp_path)
    assert CourseSettings.load(tmp_path) == settings
    for bad in ({"counts": "best"}, {"policy": "sometimes"}, {"cap": 150}, {"per": "week"}):
        with pytest.raises(CourseError):
            CourseSettings().updated(**bad)
    (tmp_path / "rnn-course.toml").write_text("speling = 1\n")
    with pytest.raises(CourseError, match="unknown setting speling"):
        CourseSettings.load(tmp_path)


def test_release_with_a_due_date_stores_it_and_refuses_a_past_one_or_an_unknown_zone(tmp_path):
    course_dir = tmp_path / "course"
    finished = run(
        "release",
        "--course-dir",
        course_dir,
        "--due",
        "2099-12-01 23:59",
        "--timezone",
        "Europe/Paris",
        "--no-exchange",
    )
    assert finished.returncode == 0, finished.stderr
    assert "due 2099-12-01 23:59:00 CET (2099-12-01 22:59:00 UTC)" in finished.stderr
    assert due_date(Course.open(course_dir), "rnn") == dt.datetime(
        2099, 12, 1, 22, 59, tzinfo=dt.UTC
    )
    past = one_line(
        run("release", "--course-dir", course_dir, "--due", "2020-01-01 10:00", "--no-exchange")
    )
    assert "has passed" in past and "--allow-past-due" in past
    zone = one_line(
        run(
            "release",
            "--course-dir",
            course_dir,
            "--due",
            "2099-01-01 10:00",
            "--timezone",
            "Mars/Olympus",
            "--no-exchange",
        )
    )
    assert "unknown time zone 'Mars/Olympus'" in zone
    allowed = run(
        "release",
        "--course-dir",
        course_dir,
        "--due",
        "2020-01-01 10:00",
        "--allow-past-due",
        "--no-exchange",
    )
    assert allowed.returncode == 0, allowed.stderr


def test_configure_prints_the_settings_and_refuses_an_exchange_students_cannot_write(tmp_path):
    course_dir = tmp_path / "course"
    finished = run(
        "configure",
        "--course-dir",
        course_dir,
        "--late",
        "percent",
        "--late-percent",
        "10",
        "--late-cap",
        "50",
        "--timezone",
        "Europe/Paris",
    )
    assert finished.returncode == 0, finished.stderr
    assert "10% per started day late, at most 50%" in finished.stderr
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)
    line = one_line(run("configure", "--course-dir", course_dir, "--exchange", closed))
    assert "not writable by every user" in line and f"sudo chmod 1777 {closed}" in line
    line = one_line(run("configure", "--course-dir", course_dir, "--counts", "best"))
    assert "counts 'best'" in line


@pytest.mark.slow
@pytest.mark.xdist_group("late")
def test_a_late_submission_loses_its_policy_s_share_in_export_feedback_and_report(tmp_path):
    """Two students with the same full-marks answers: one on time, one 25 hours late under
    10 % per started day. Only notebook 02 is graded, to keep the test short."""
    course = Course.open(tmp_path / "course")
    CourseSettings().updated(
        policy="percent", percent=10, per="day", cap=50, timezone="Europe/Paris"
    ).save(course.root)
    course = Course.open(course.root)
    release(course)
    due = dt.datetime(2026, 11, 20, 22, 59, tzinfo=dt.UTC)
    set_due_date(course, "rnn", due)
    submit(course, "ontime", source_notebooks(), when=due - dt.timedelta(hours=1))
    submit(course, "late", source_notebooks(), when=due + dt.timedelta(hours=25))
    autograde(
        course,
        workers=2,
        limits=Limits(cell_seconds=60, notebook_seconds=300),
        notebooks=["02-sequences-and-models"],
    )
    assert record_penalties(course, "rnn") == 1
    out = tmp_path / "grades.csv"
    finished = run("export", "--course-dir", course.root, "--out", out)
    assert finished.returncode == 0, finished.stderr
    rows = {row["student_id"]: row for row in csv.DictReader(out.open())}
    on_time, late = rows["ontime"], rows["late"]
    assert on_time["late_by"] == "" and float(on_time["late_penalty"]) == 0
    assert late["late_by"] == "1 d 1 h"
    raw = float(late["score_before_penalty"])
    assert raw == float(on_time["score_before_penalty"]) > 0
    assert float(late["late_penalty"]) == pytest.approx(0.2 * raw)
    assert float(late["total"]) == pytest.approx(0.8 * raw)
    assert late["submitted_at"] == "2026-11-22 00:59:00 CET"
    assert run("feedback", "--course-dir", course.root).returncode == 0
    page = (course.folder("feedback", "late") / "02-sequences-and-models.html").read_text()
    assert "late by\n1 d 1 h" in page and "10% per started day late, at most 50%" in page
    assert run("report", "--course-dir", course.root).returncode == 0
    report = (course.root / "reports" / "rnn-report.html").read_text()
    assert "1 of 2 submissions late" in report and "1 d 1 h" in report


@pytest.mark.slow
@pytest.mark.xdist_group("late")
def test_feedback_returns_through_the_exchange_to_the_student_who_submitted(tmp_path):
    """nbgrader's own student commands on one account: submit, then fetch_feedback finds the
    page `feedback --return` released, and a student who came in by zip is listed instead."""
    course_dir, home = tmp_path / "course", tmp_path / "student"
    home.mkdir()
    assert run("release", "--course-dir", course_dir).returncode == 0
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    student_env = os.environ | {"HOME": str(home), "JUPYTER_DATA_DIR": str(home / "data")}
    exchange = f"--Exchange.root={course_dir / 'exchange'}"
    for step in (["fetch_assignment", "rnn"], ["submit", "rnn"]):
        done = subprocess.run(
            [nbgrader, *step, "--course", "rnn-course", exchange],
            cwd=home,
            env=student_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert run("collect", "--course-dir", course_dir).returncode == 0
    course = Course.open(course_dir)
    student = next(p.name for p in (course_dir / "submitted").iterdir())
    submit(course, "by-zip", source_notebooks())
    autograde(
        course,
        workers=2,
        limits=Limits(cell_seconds=60, notebook_seconds=300),
        notebooks=["02-sequences-and-models"],
    )
    finished = run("feedback", "--course-dir", course_dir, "--return")
    assert finished.returncode == 0, finished.stderr
    assert "returned to 1 students through the exchange" in finished.stderr
    assert "send their pages another way): by-zip" in finished.stderr
    feedback = course_dir / "exchange" / "rnn-course" / "feedback"
    assert oct(feedback.stat().st_mode & 0o777) == "0o711"  # fetchable, not listable
    done = subprocess.run(
        [nbgrader, "fetch_feedback", "rnn", "--course", "rnn-course", exchange],
        cwd=home,
        env=student_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fetched = list((home / "rnn" / "feedback").rglob("02-sequences-and-models.html"))
    assert len(fetched) == 1
    assert f"Student <b>{student}</b>" in fetched[0].read_text()
