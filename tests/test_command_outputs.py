"""Where a command writes, and where it must not: a bad --out fails in one line before anything
is written, and commands that read a course never create one where a path was mistyped."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from helpers.commands import one_line, run

UNWRITABLE = Path("/proc/rnn-course-test/grades.csv")  # no user, root included, can write here


@pytest.mark.parametrize(
    "target, words",
    [("folder", "is a folder"), ("missing/grades.csv", "does not exist"), (UNWRITABLE, "")],
)
def test_export_to_a_bad_path_is_one_line(course, tmp_path, target, words):
    out = tmp_path / target if isinstance(target, str) else target
    if target == "folder":
        out.mkdir()
    line = one_line(run("export", "--course-dir", course.root, "--out", out))
    assert "--out" in line or "cannot write" in line
    assert words in line


def test_an_unwritable_nbgrader_csv_leaves_no_grades_csv_behind(course, tmp_path):
    grades = tmp_path / "grades.csv"
    line = one_line(
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
    line = one_line(run(*command, "--course-dir", mistyped))
    assert "is not a course folder" in line and "--course-dir" in line
    assert not mistyped.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line(run(*command, "--course-dir", empty))
    assert "no gradebook.db" in line
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("kind", ["device", "fifo", "symlink", "socket"])
def test_an_output_that_is_not_a_regular_file_is_refused_not_replaced(course, tmp_path, kind):
    """`--out /dev/full` (run as root) once replaced the device node with a CSV; a FIFO would
    block the writer, a link would write where it points."""
    if kind == "device":
        target = Path("/dev/full")
    else:
        target = tmp_path / kind
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "symlink":
            (tmp_path / "elsewhere.csv").write_text("keep me")
            target.symlink_to(tmp_path / "elsewhere.csv")
        else:
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(str(target))
    before = target.lstat()
    line = one_line(run("export", "--course-dir", course.root, "--out", target))
    assert "--out" in line and ("symbolic link" in line or "not a regular file" in line)
    after = target.lstat()
    assert (after.st_ino, after.st_mode, after.st_rdev) == (
        before.st_ino,
        before.st_mode,
        before.st_rdev,
    )
    if kind == "symlink":
        assert (tmp_path / "elsewhere.csv").read_text() == "keep me"


def test_the_report_never_writes_over_its_own_figure(course, tmp_path):
    line = one_line(run("report", "--course-dir", course.root, "--out", tmp_path / "r.png"))
    assert "figure" in line and "r.html" in line
    assert not (tmp_path / "r.png").exists()


@pytest.mark.parametrize("name", ["gradebook.db", "rnn-course.toml", "submitted/grades.csv"])
def test_an_output_never_replaces_the_courses_own_files(course, name):
    target = course.root / name
    target.parent.mkdir(exist_ok=True)
    before = target.read_bytes() if target.exists() else None
    line = one_line(run("export", "--course-dir", course.root, "--out", target))
    assert "course's own files" in line
    assert (target.read_bytes() if target.exists() else None) == before
