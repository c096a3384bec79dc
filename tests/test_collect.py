"""Collecting from nbgrader's exchange, where every student can write: links, special files,
other students' names, forged times and unusable names are skipped with the reason, and the
class goes on."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers.assignment import source_notebooks
from helpers.commands import rnn_course

from autograder.course.deadlines import set_due_date
from autograder.course.folder import Course
from autograder.intake.collect import collect, inbound_folder
from autograder.intake.submitted import intake_record, submission_time, submitted_students

NOBODY = 65534
as_root = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs a second Unix user (run as root)"),
]


@pytest.fixture
def course(course) -> Course:
    """The test's own course, with an empty inbound folder as nbgrader makes it."""
    inbound = Path(inbound_folder(course))
    inbound.mkdir(parents=True)
    inbound.chmod(0o733)
    return course


def notebook_bytes(text: str = "x") -> bytes:
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "text": text}
    ).encode()


def submission(
    course: Course,
    student: str,
    files: dict[str, bytes] | None = None,
    claimed: str = "2026-11-20 10:00:00.000000 UTC",
    suffix: str = "abc",
) -> Path:
    """A folder in the inbound exchange as `nbgrader submit` writes it."""
    folder = Path(inbound_folder(course)) / f"{student}+rnn+{claimed}+{suffix}"
    folder.mkdir()
    for name, data in (files or {"01-gradients.ipynb": notebook_bytes(student)}).items():
        (folder / name).write_bytes(data)
    (folder / "timestamp.txt").write_text(claimed)
    return folder


def test_a_link_to_the_reference_solution_is_skipped_and_named_and_the_student_gets_nothing(
    course,
):
    reference = source_notebooks()[0]
    folder = Path(inbound_folder(course)) / "mallory+rnn+2026-11-20 10:00:00.000000 UTC+x"
    folder.mkdir()
    (folder / reference.name).symlink_to(reference)
    (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    submission(course, "alice")
    finished = subprocess.run(
        rnn_course("collect", "--course-dir", course.root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert f"{folder.name}/{reference.name}: a symbolic link (never followed)" in finished.stderr
    assert not course.folder("submitted", "mallory").exists()
    assert (course.folder("submitted", "alice") / "01-gradients.ipynb").is_file()
    for copied in (course.root / "submitted").rglob("*.ipynb"):
        assert copied.read_bytes() != reference.read_bytes()


def test_a_fifo_a_device_and_a_sub_folder_are_skipped_without_blocking(course):
    folder = submission(course, "alice")
    os.mkfifo(folder / "02-sequences-and-models.ipynb")
    (folder / "data").mkdir()
    if os.geteuid() == 0:
        os.mknod(folder / "03-rnn-from-scratch.ipynb", 0o600 | 0o020000, os.makedev(1, 3))
    done = threading.Event()
    result = {}

    def run():
        result["summary"] = collect(course)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "collect blocked on a FIFO"
    skipped = dict(result["summary"].skipped)
    assert skipped[f"{folder.name}/02-sequences-and-models.ipynb"] == "a FIFO, not a regular file"
    assert skipped[f"{folder.name}/data"] == "a folder that is not a notebook"
    if os.geteuid() == 0:
        assert "a device" in skipped[f"{folder.name}/03-rnn-from-scratch.ipynb"]
    names = sorted(p.name for p in course.folder("submitted", "alice").iterdir())
    assert names == ["01-gradients.ipynb", "intake.json", "timestamp.txt"]


def test_one_unusable_student_name_is_skipped_and_the_class_is_collected(course):
    submission(course, "José Ñ")
    submission(course, "[bold]x[red]")
    submission(course, "alice")
    summary = collect(course)
    assert set(summary.collected) == {"alice"}
    reasons = dict(summary.skipped)
    assert "not a usable student id" in reasons["José Ñ+rnn+2026-11-20 10:00:00.000000 UTC+abc"]
    assert submitted_students(course) == (["alice"], [])


def test_the_submission_time_is_the_exchange_s_observation_not_the_student_s_claim(course):
    """A timestamp.txt (and folder name) forged to before the deadline does not make a
    submission made now on time."""
    set_due_date(course, "rnn", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    before = dt.datetime.now(dt.UTC)
    submission(course, "alice", claimed="2026-01-01 00:00:00.000000 UTC")
    summary = collect(course)
    when = submission_time(course.folder("submitted", "alice"))
    assert when >= before - dt.timedelta(seconds=2)
    record = intake_record(course.folder("submitted", "alice"))
    assert record["claimed_at"].startswith("2026-01-01 00:00:00")
    assert "the later time counts" in record["note"] and "the later time counts" in summary.notes[0]


def test_by_default_the_last_submission_made_by_the_due_date_counts(course):
    early = submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("early")}, suffix="1")
    set_due_date(course, "rnn", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert early.stat().st_ctime <= dt.datetime.now(dt.UTC).timestamp()
    threading.Event().wait(1.5)  # the next submission is made after the due date
    submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("late")}, suffix="2")
    summary = collect(course)
    collected = course.folder("submitted", "alice") / "01-gradients.ipynb"
    assert json.loads(collected.read_bytes())["text"] == "early"
    assert summary.superseded == [("alice+rnn+2026-11-20 10:00:00.000000 UTC+2", "alice")]
    (course.root / "rnn-course.toml").write_text('counts = "last"\n')
    collect(Course.open(course.root))
    assert json.loads(collected.read_bytes())["text"] == "late"


def test_collecting_twice_changes_nothing_and_a_resubmission_replaces_atomically(course):
    submission(course, "alice", suffix="1")
    assert set(collect(course).collected) == {"alice"}
    again = collect(course)
    assert again.unchanged == ["alice"] and not again.collected
    submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("v2")}, suffix="2")
    assert set(collect(course).collected) == {"alice"}
    folder = course.folder("submitted", "alice")
    assert json.loads((folder / "01-gradients.ipynb").read_bytes())["text"] == "v2"
    assert not [p for p in folder.parent.iterdir() if p.name != "rnn"], "a stage was left"


def test_a_file_name_that_is_not_utf8_is_skipped_not_a_crash(course):
    folder = submission(course, "alice")
    descriptor = os.open(os.fsencode(folder) + b"/\xff\xfe-notes.ipynb", os.O_CREAT | os.O_WRONLY)
    os.close(descriptor)
    summary = collect(course)
    assert (f"{folder.name}/\\xff\\xfe-notes.ipynb", "an unusable file name") in summary.skipped
    assert set(summary.collected) == {"alice"}


@as_root[0]
@as_root[1]
def test_a_folder_that_names_another_student_is_not_collected_for_them(course):
    """On a hub every student has a Unix account: the folder's owner must be the student."""
    forged = submission(course, "alice", suffix="forged")
    os.chown(forged, NOBODY, NOBODY)
    own = submission(course, "nobody", suffix="own")
    os.chown(own, NOBODY, NOBODY)
    summary = collect(course)
    assert set(summary.collected) == {"nobody"}
    assert dict(summary.skipped)[forged.name] == (
        "it names alice but belongs to the Unix user nobody"
    )


@as_root[0]
@as_root[1]
def test_a_hard_link_to_a_file_the_student_does_not_own_is_skipped(course):
    secret = course.root / "solution-copy.ipynb"
    shutil.copyfile(source_notebooks()[0], secret)
    folder = submission(course, "nobody", {"02-sequences-and-models.ipynb": notebook_bytes()})
    os.link(secret, folder / "01-gradients.ipynb")
    for path in [folder, *folder.iterdir()]:
        if path.name != "01-gradients.ipynb":
            os.chown(path, NOBODY, NOBODY)
    summary = collect(course)
    skipped = dict(summary.skipped)
    assert skipped[f"{folder.name}/01-gradients.ipynb"] == (
        "a hard link to a file its submitter does not own"
    )
    assert not (course.folder("submitted", "nobody") / "01-gradients.ipynb").exists()


def test_a_submission_rewritten_while_it_is_collected_is_copied_again_with_its_later_time(
    course, monkeypatch
):
    """The race of the hub attack: the student rewrites their on-time submission after the
    due date, between collect's look at it and its copy. The copy is checked against the look;
    a changed folder is looked at and copied again, and its new time (after the due date)
    counts: post-deadline work never carries the on-time stamp."""
    import autograder.intake.collect as collect_module

    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the due date has just passed
    set_due_date(course, "rnn", due)
    folder = submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("on time")})
    for path in [folder, *folder.iterdir()]:  # made before the due date, as far as ctime goes
        os.utime(path, (due.timestamp() - 600,) * 2)
    rewrites = iter([b"late work"])
    real_copy = collect_module._copy

    def copy_after_a_rewrite(inbound_fd, candidate, new, skipped):
        data = next(rewrites, None)
        if data is not None:  # once: between the look and the copy
            (folder / "01-gradients.ipynb").write_bytes(notebook_bytes(data.decode()))
        return real_copy(inbound_fd, candidate, new, skipped)

    monkeypatch.setattr(collect_module, "_copy", copy_after_a_rewrite)
    summary = collect(course)
    collected = course.folder("submitted", "alice")
    assert set(summary.collected) == {"alice"}
    assert b"late work" in (collected / "01-gradients.ipynb").read_bytes()
    assert submission_time(collected) > due, "late work with the on-time stamp"


def test_a_submission_that_keeps_changing_is_skipped_and_the_previous_one_kept(course, monkeypatch):
    import autograder.intake.collect as collect_module

    folder = submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("first")})
    collect(course)
    before = (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes()
    folder = submission(course, "alice", {"01-gradients.ipynb": notebook_bytes("second")},
                        suffix="def")  # fmt: skip
    real_copy = collect_module._copy
    counter = iter(range(100))

    def copy_while_it_changes(inbound_fd, candidate, new, skipped):
        (folder / "01-gradients.ipynb").write_bytes(notebook_bytes(f"v{next(counter)}"))
        return real_copy(inbound_fd, candidate, new, skipped)

    monkeypatch.setattr(collect_module, "_copy", copy_while_it_changes)
    summary = collect(course)
    after = (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes()
    assert after == before
    assert any("kept changing while it was being collected" in why for _, why in summary.skipped)


def test_a_folder_of_sixty_thousand_files_is_refused_without_being_read(course):
    """Made to slow collect down (the race's other half): refused once past the limit."""
    folder = submission(course, "bob", suffix="slow")
    for number in range(60_000):
        (folder / f"f{number}").touch()
    submission(course, "alice")
    started = dt.datetime.now()
    summary = collect(course)
    assert (dt.datetime.now() - started).total_seconds() < 30
    reasons = dict(summary.skipped)
    assert "more than 1,000 entries" in reasons[folder.name]
    assert "alice" in summary.collected and "bob" not in summary.collected


@as_root[0]
@as_root[1]
def test_a_student_rewriting_their_submission_during_collect_never_gets_an_on_time_stamp(course):
    """As a student would do it: their own process rewrites their submission in a loop, after
    the due date, while the instructor's collect runs."""
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    set_due_date(course, "rnn", due)
    folder = submission(course, "nobody", {"01-gradients.ipynb": notebook_bytes("on time")})
    for path in [folder, *folder.iterdir()]:
        os.utime(path, (due.timestamp() - 600,) * 2)
        os.chown(path, NOBODY, NOBODY)
    rewriter = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable,
         "-c", "import json, sys, time\n"
         "for n in range(400):\n"
         "    open(sys.argv[1], 'w').write(json.dumps({'nbformat': 4, 'cells': [], 'n': n}))\n"
         "    time.sleep(0.005)\n",
         str(folder / "01-gradients.ipynb")],
    )  # fmt: skip
    try:
        summaries = [collect(course) for _ in range(3)]
    finally:
        rewriter.wait(60)
    collected = course.folder("submitted", "nobody")
    if (collected / "01-gradients.ipynb").exists():
        on_time = b"on time" in (collected / "01-gradients.ipynb").read_bytes()
        assert on_time or submission_time(collected) > due
    assert all("Traceback" not in str(s.skipped) for s in summaries)
