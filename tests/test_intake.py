"""Getting submissions in: an LMS bulk download with a roster, and nbgrader's exchange."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers.commands import rnn_course

from autograder.course.deadlines import set_due_date
from autograder.course.folder import Course
from autograder.errors import CourseError
from autograder.intake.lms_import import import_zip, read_roster


def roster(
    tmp_path: Path, text: str = "student_id,lms_id\nalice,12345\nbob,123\ncarol,777\n"
) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def lms_zip(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 20, 9, 30, 0)), data)
    return path


def test_moodle_folders_and_canvas_files_land_in_nbgrader_layout(course, tmp_path):
    archive = lms_zip(
        tmp_path,
        {
            "Alice Smith_12345_assignsubmission_file_/01-gradients.ipynb": b'{"a": 1}',
            "Alice Smith_12345_assignsubmission_file_/03-rnn-from-scratch.ipynb": b'{"a": 3}',
            "bobjones_123_991_02-sequences-and-models-1.ipynb": b'{"b": 2}',  # Canvas, resubmitted
            "bobjones_123_991_notes.txt": b"not a notebook",
            "Dave Unknown_55555_assignsubmission_file_/01-gradients.ipynb": b"{}",
            "__MACOSX/._junk": b"",
        },
    )
    summary = import_zip(course, archive, roster(tmp_path))
    assert summary.imported == {
        "alice": ["01-gradients.ipynb", "03-rnn-from-scratch.ipynb"],
        "bob": ["02-sequences-and-models.ipynb"],
    }
    alice = course.folder("submitted", "alice")
    assert (alice / "03-rnn-from-scratch.ipynb").read_bytes() == b'{"a": 3}'
    assert (alice / "timestamp.txt").read_text().startswith("2026-11-20 09:30:00")
    skipped = dict(summary.skipped)
    assert skipped["bobjones_123_991_notes.txt"] == "not a notebook"
    assert (
        "no student in the roster"
        in skipped["Dave Unknown_55555_assignsubmission_file_/01-gradients.ipynb"]
    )
    assert not course.folder("submitted", "carol").exists()


def test_an_id_matches_whole_tokens_only(course, tmp_path):
    """bob's lms id 123 must not take the work of a student whose id is 12345."""
    archive = lms_zip(tmp_path, {"x_12345_y/01-gradients.ipynb": b"{}"})
    summary = import_zip(course, archive, roster(tmp_path, "student_id,lms_id\nbob,123\n"))
    assert summary.imported == {} and len(summary.skipped) == 1


def test_a_changed_resubmission_needs_replace_and_an_identical_one_is_a_no_op(course, tmp_path):
    first = lms_zip(tmp_path, {"a_12345_/01-gradients.ipynb": b"{1}"})
    import_zip(course, first, roster(tmp_path))
    assert import_zip(course, first, roster(tmp_path)).unchanged == ["alice"]
    second = lms_zip(tmp_path, {"a_12345_/01-gradients.ipynb": b"{2}"})
    kept = import_zip(course, second, roster(tmp_path))
    assert "use --replace" in kept.skipped[0][1]
    assert (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes() == b"{1}"
    import_zip(course, second, roster(tmp_path), replace=True)
    assert (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes() == b"{2}"


@pytest.mark.parametrize(
    "counts, kept", [("last-on-time", b'{"on": "time"}'), ("last", b'{"late": 1}')]
)
def test_import_zip_keeps_the_copy_the_class_counts_as_collect_does(course, tmp_path, counts, kept):
    """Two copies of one notebook, one made by the due date and a later resubmission: the
    `counts` setting chooses, as it does for collect (by default the on-time one)."""
    course.settings.updated(counts=counts).save(course.root)
    set_due_date(course, "rnn", dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC))
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, data, when in [
            ("alice_12345_01-gradients.ipynb", b'{"on": "time"}', (2026, 11, 20, 11, 0, 0)),
            ("alice_12345_01-gradients-1.ipynb", b'{"late": 1}', (2026, 11, 21, 9, 0, 0)),
        ]:
            bundle.writestr(zipfile.ZipInfo(name, date_time=when), data)
    summary = import_zip(Course.existing(course.root), archive, roster(tmp_path))
    assert summary.imported == {"alice": ["01-gradients.ipynb"]}
    assert (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes() == kept
    (dropped,) = [why for _, why in summary.skipped if "01-gradients.ipynb for alice" in why]
    assert ("does not count" in dropped) == (counts == "last-on-time"), dropped


@pytest.mark.parametrize(
    "text, message",
    [
        ("id,name\n1,x\n", "needs the columns student_id and lms_id"),
        ("student_id,lms_id\nalice,1\nbob,1\n", "appears twice"),
        # one student on two LMS rows: the second LMS user would get the first's grade
        ("student_id,lms_id\nalice,101\nalice,202\n", "student_id 'alice' appears twice"),
        ("student_id,lms_id\n../etc,1\n", "not a usable student id"),
    ],
)
def test_a_bad_roster_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(CourseError, match=message):
        read_roster(roster(tmp_path, text))


def test_the_command_reports_what_it_did_not_import(course, tmp_path):
    archive = lms_zip(tmp_path, {"a_12345_/01-gradients.ipynb": b"{}", "stray.pdf": b"%PDF"})
    finished = subprocess.run(
        rnn_course(
            "import-zip",
            str(archive),
            "--roster",
            str(roster(tmp_path)),
            "--course-dir",
            str(course.root),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert "imported 1 students" in finished.stderr
    assert "stray.pdf: not a notebook" in finished.stderr
    broken = subprocess.run(
        rnn_course(
            "import-zip",
            str(tmp_path / "roster.csv"),
            "--roster",
            str(roster(tmp_path)),
            "--course-dir",
            str(course.root),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert broken.returncode == 1 and "cannot read" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_nbgrader_exchange_round_trip_release_submit_collect(tmp_path):
    """Students on the same server fetch and submit with nbgrader; the instructor collects."""
    course_dir = tmp_path / "course"
    released = subprocess.run(
        rnn_course("release", "--course-dir", course_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert released.returncode == 0, released.stderr
    assert "published to nbgrader's exchange" in released.stderr
    home = tmp_path / "student"
    home.mkdir()
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    exchange = f"--Exchange.root={course_dir / 'exchange'}"
    for step in (["fetch_assignment", "rnn"], ["submit", "rnn"]):
        finished = subprocess.run(
            [nbgrader, *step, "--course", "rnn-course", exchange],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert finished.returncode == 0, finished.stderr
    collected = subprocess.run(
        rnn_course("collect", "--course-dir", course_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    submitted = list((course_dir / "submitted").glob("*/rnn"))
    assert len(submitted) == 1
    names = sorted(p.name for p in submitted[0].glob("*.ipynb"))
    assert names == sorted(p.name for p in (course_dir / "release" / "rnn").glob("*.ipynb"))
    assert (submitted[0] / "timestamp.txt").is_file()
