"""Where a command writes, and where it must not: a bad --out fails in one line before anything
is written, and commands that read a course never create one where a path was mistyped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import rnn_course

from autograder.course.folder import Course

UNWRITABLE = Path("/proc/rnn-course-test/grades.csv")  # no user, root included, can write here


@pytest.fixture
def course(released_course, tmp_path) -> Course:
    course = Course.open(tmp_path / "course")
    (course.root / "release").symlink_to(released_course.root / "release")
    shutil.copyfile(released_course.gradebook, course.gradebook)
    return course


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(rnn_course(*args), capture_output=True, text=True, timeout=120)


def one_line_error(finished: subprocess.CompletedProcess) -> str:
    assert finished.returncode == 1, finished.stderr
    assert "Traceback" not in finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), finished.stderr
    return lines[0]


@pytest.mark.parametrize(
    "target, words",
    [("folder", "is a folder"), ("missing/grades.csv", "does not exist"), (UNWRITABLE, "")],
)
def test_export_to_a_bad_path_is_one_line(course, tmp_path, target, words):
    out = tmp_path / target if isinstance(target, str) else target
    if target == "folder":
        out.mkdir()
    line = one_line_error(run("export", "--course-dir", course.root, "--out", out))
    assert "--out" in line or "cannot write" in line
    assert words in line


def test_an_unwritable_nbgrader_csv_leaves_no_grades_csv_behind(course, tmp_path):
    grades = tmp_path / "grades.csv"
    line = one_line_error(
        run("export", "--course-dir", course.root, "--out", grades, "--nbgrader-csv", tmp_path)
    )
    assert "--nbgrader-csv" in line and "is a folder" in line
    assert not grades.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_good_export_writes_both_files(course, tmp_path):
    finished = run(
        "export",
        "--course-dir",
        course.root,
        "--out",
        tmp_path / "g.csv",
        "--nbgrader-csv",
        tmp_path / "n.csv",
    )
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "g.csv").read_text().startswith("student_id,")
    assert (tmp_path / "n.csv").is_file()


@pytest.mark.parametrize(
    "command",
    [
        ["report"],
        ["export", "--out", "grades.csv"],
        ["feedback"],
        ["formgrade"],
        ["autograde"],
        ["collect"],
    ],
)
def test_reading_commands_never_create_a_course_where_a_path_was_mistyped(tmp_path, command):
    mistyped = tmp_path / "cuorse"
    line = one_line_error(run(*command, "--course-dir", mistyped))
    assert "is not a course folder" in line and "--course-dir" in line
    assert not mistyped.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(run(*command, "--course-dir", empty))
    assert "no gradebook.db" in line
    assert list(empty.iterdir()) == []
