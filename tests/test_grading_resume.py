"""An autograde killed with `kill -9` mid-class can be rerun and ends as if never interrupted."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from helpers.classes import make_class
from helpers.commands import rnn_course

from autograder.course.folder import Course
from autograder.grading.autograde import autograde
from autograder.grading.state import STATE_FILE
from autograder.results.export import export_csv
from autograder.sandbox.engine import Limits

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resume")]

LIMITS = Limits(cell_seconds=45, notebook_seconds=300)
NOTEBOOK = "03-rnn-from-scratch"
STUDENTS = 5


def rows(course: Course, out: Path) -> list[dict]:
    export_csv(course, out)
    with out.open() as handle:
        return list(csv.DictReader(handle))


def test_a_killed_class_run_resumes_to_the_uninterrupted_result(tmp_path):
    baseline = make_class(tmp_path / "baseline", tmp_path / "work")
    autograde(baseline, workers=2, limits=LIMITS)
    expected = rows(baseline, tmp_path / "baseline.csv")

    course = make_class(tmp_path / "killed", tmp_path / "work")
    # the reference solution's records are cached per assignment version: reuse them
    shutil.copytree(baseline.root / "autograder", course.root / "autograder")
    command = rnn_course(
        "autograde",
        "--course-dir",
        course.root,
        "--workers",
        2,
        "--cell-timeout",
        LIMITS.cell_seconds,
        "--notebook-timeout",
        LIMITS.notebook_seconds,
    )
    first = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    states = course.root / "autograded"
    deadline = time.monotonic() + 600
    while len(list(states.glob(f"*/rnn/{STATE_FILE}"))) < 1:
        assert first.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the grader and every sandbox it started
    first.wait()
    done = len(list(states.glob(f"*/rnn/{STATE_FILE}")))
    assert 1 <= done < STUDENTS, "killed in the middle of the class"

    second = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr
    assert f"({done} unchanged since the last run)" in second.stdout + second.stderr

    assert rows(course, tmp_path / "resumed.csv") == expected
    with sqlite3.connect(course.gradebook) as db:
        per_cell = db.execute(
            "SELECT COUNT(*) FROM grade GROUP BY notebook_id, cell_id HAVING COUNT(*) > 1"
        ).fetchall()
        assert per_cell == []
        assert db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone() == (STUDENTS,)
