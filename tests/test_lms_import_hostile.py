"""An LMS download as a hostile student (or a broken LMS) makes it: every case found in review
(2026-11-27) imports the rest of the class, keeps a failed student's previous submission byte
for byte, and prints one line per skipped entry, names shown as text."""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers.commands import rnn_course

from autograder import limits
from autograder.course.folder import Course
from autograder.intake.lms_import import import_zip

ROSTER = "student_id,lms_id\nalice,12345\nbob,123\ncarol,777\n"
WHEN = (2026, 11, 20, 9, 30, 0)


@pytest.fixture
def roster(tmp_path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def make_zip(path: Path, entries: list[tuple[str, bytes, tuple]], method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=method) as bundle:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = method
            bundle.writestr(info, data)
    return path


def patch_entry(path: Path, name: str, patch) -> None:
    """Edit one entry in place: `patch(data, data_start, central)` returns the new bytes;
    `central` is the offset of the entry's record in the central directory (the sizes that
    zipfile trusts are there)."""
    with zipfile.ZipFile(path) as bundle:
        info = bundle.getinfo(name)
        central = bundle.start_dir
    data = bytearray(path.read_bytes())
    header = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[header + 26 : header + 30])
    start = header + 30 + name_length + extra_length
    while data[central + 46 : central + 46 + len(name)] != name.encode():
        lengths = struct.unpack("<HHH", data[central + 28 : central + 34])
        central += 46 + sum(lengths)
    path.write_bytes(patch(data, start, central))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def previous(course: Course, tmp_path: Path, roster: Path) -> dict[str, bytes]:
    """alice's earlier submission, imported the ordinary way; returns its bytes."""
    first = make_zip(tmp_path / "first.zip", [("A_12345_/01-gradients.ipynb", b"{1}", WHEN)])
    import_zip(course, first, roster)
    return folder_bytes(course.folder("submitted", "alice"))


def test_a_300_character_file_name_is_skipped_and_the_rest_imported(course, tmp_path, roster):
    long_name = "A_12345_/" + "x" * 300 + ".ipynb"
    archive = make_zip(
        tmp_path / "a.zip",
        [(long_name, b"{}", WHEN), ("bobjones_123_991_01-gradients.ipynb", b"{b}", WHEN)],
    )
    summary = import_zip(course, archive, roster)
    assert summary.imported == {"bob": ["01-gradients.ipynb"]}
    ((name, why),) = summary.skipped
    assert why.startswith("its file name cannot be used") and name.endswith("…")


def test_replace_swaps_a_submission_that_holds_a_sub_folder(course, tmp_path, roster):
    old = previous(course, tmp_path, roster)
    (course.folder("submitted", "alice") / "checkpoints").mkdir()  # e.g. from nbgrader collect
    second = make_zip(tmp_path / "b.zip", [("A_12345_/01-gradients.ipynb", b"{2}", WHEN)])
    summary = import_zip(course, second, roster, replace=True)
    assert summary.imported == {"alice": ["01-gradients.ipynb"]}
    now = folder_bytes(course.folder("submitted", "alice"))
    assert now["01-gradients.ipynb"] == b"{2}" and "checkpoints" not in now and now != old


@pytest.mark.parametrize(
    "damage",
    [
        # corrupt deflate data in the middle of the entry
        lambda data, start, central: data[: start + 2] + b"\xff" * 8 + data[start + 10 :],
        # the size field says less than the entry holds: the CRC no longer matches
        lambda data, start, central: (
            data[: central + 24] + struct.pack("<I", 7) + data[central + 28 :]
        ),
    ],
    ids=["corrupt-deflate", "size-field-too-small"],
)
def test_a_corrupt_entry_is_reported_and_the_previous_submission_kept_byte_for_byte(
    course, tmp_path, roster, damage
):
    old = previous(course, tmp_path, roster)
    archive = make_zip(
        tmp_path / "c.zip",
        [
            ("A_12345_/01-gradients.ipynb", b'{"cells": "' + bytes(range(256)) * 40 + b'"}', WHEN),
            ("A_12345_/02-sequences-and-models.ipynb", b"{}", WHEN),
            ("carol_777_02-sequences-and-models.ipynb", b"{c}", WHEN),
        ],
    )
    patch_entry(archive, "A_12345_/01-gradients.ipynb", damage)
    summary = import_zip(course, archive, roster, replace=True)
    assert summary.imported == {"carol": ["02-sequences-and-models.ipynb"]}
    skipped = dict(summary.skipped)
    assert skipped["A_12345_/01-gradients.ipynb"].startswith("corrupt ("), skipped
    assert "previous submission is kept" in skipped["A_12345_/02-sequences-and-models.ipynb"]
    assert folder_bytes(course.folder("submitted", "alice")) == old


def test_the_newest_copy_wins_and_both_are_named(course, tmp_path, roster):
    archive = make_zip(
        tmp_path / "d.zip",
        [
            ("A_12345_/01-gradients.ipynb", b"{oldest}", (2026, 11, 19, 8, 0, 0)),
            ("alicesmith_12345_1_01-gradients-1.ipynb", b"{resubmitted}", (2026, 11, 18, 8, 0, 0)),
            ("alicesmith_12345_1_01-gradients.ipynb", b"{canvas}", (2026, 11, 21, 8, 0, 0)),
        ],
    )
    summary = import_zip(course, archive, roster)
    kept = course.folder("submitted", "alice") / "01-gradients.ipynb"
    assert kept.read_bytes() == b"{resubmitted}"  # Canvas's -1 marks the resubmission
    skipped = dict(summary.skipped)
    assert skipped["A_12345_/01-gradients.ipynb"] == (
        "an older copy of 01-gradients.ipynb for alice: "
        "kept alicesmith_12345_1_01-gradients-1.ipynb"
    )
    assert (
        "kept alicesmith_12345_1_01-gradients-1.ipynb"
        in skipped["alicesmith_12345_1_01-gradients.ipynb"]
    )


def test_the_lms_time_in_a_name_beats_the_entry_date(course, tmp_path, roster):
    archive = make_zip(
        tmp_path / "e.zip",
        [
            (
                "x_12345_attempt_2026-11-20-09-30-00_01-gradients.ipynb",
                b"{a}",
                (2026, 11, 22, 0, 0, 0),
            ),
            (
                "x_12345_attempt_2026-11-21-09-30-00_01-gradients.ipynb",
                b"{b}",
                (2026, 11, 19, 0, 0, 0),
            ),
        ],
    )
    import_zip(course, archive, roster)
    assert (course.folder("submitted", "alice") / "01-gradients.ipynb").read_bytes() == b"{b}"


def test_markup_in_names_is_printed_as_text(course, tmp_path, roster):
    archive = make_zip(
        tmp_path / "f.zip",
        [
            ("[bold red]x[red]_12345_/notes[red].ipynb", b"{}", WHEN),
            ("[/]stray.pdf", b"%PDF", WHEN),
        ],
    )
    finished = subprocess.run(
        rnn_course("import-zip", archive, "--roster", roster, "--course-dir", course.root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert "not imported: [/]stray.pdf: not a notebook" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert (course.folder("submitted", "alice") / "notes[red].ipynb").read_bytes() == b"{}"


def test_entry_names_that_climb_out_write_nothing_outside(course, tmp_path, roster):
    archive = make_zip(
        tmp_path / "g.zip",
        [
            ("../../A_12345_/01-gradients.ipynb", b"{up}", WHEN),
            ("/etc/A_12345_/02-sequences-and-models.ipynb", b"{abs}", WHEN),
            ("A_12345_\\..\\..\\03-rnn-from-scratch.ipynb", b"{win}", WHEN),
        ],
    )
    before = sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(course.root))
    summary = import_zip(course, archive, roster)
    after = sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(course.root))
    assert after == before
    submitted = course.root / "submitted"
    for path in submitted.rglob("*"):
        assert path.resolve().is_relative_to(submitted.resolve()) and not path.is_symlink()
    assert len(summary.skipped) + len(summary.kept) == 3


def test_the_archive_and_each_student_have_a_total_limit(course, tmp_path, roster, monkeypatch):
    monkeypatch.setattr(limits, "SUBMISSION_BYTES", 25_000)
    monkeypatch.setattr(limits, "ARCHIVE_BYTES", 55_000)
    block = b"0" * 10_000
    archive = make_zip(
        tmp_path / "h.zip",
        [(f"A_12345_/part{i}.ipynb", block, WHEN) for i in range(3)]  # alice: 30,000 > 25,000
        + [(f"bob_123_9_part{i}.ipynb", block, WHEN) for i in range(2)]  # bob: 20,000
        + [(f"carol_777_9_part{i}.ipynb", block, WHEN) for i in range(2)],  # over the archive
    )
    summary = import_zip(course, archive, roster)
    assert list(summary.imported) == ["bob"]
    skipped = dict(summary.skipped)
    assert skipped["A_12345_/part2.ipynb"].startswith("the student's files are over")
    assert skipped["carol_777_9_part0.ipynb"].startswith("the archive is over the import limit")
    assert not (course.root / "submitted" / "alice" / "rnn").exists()
    assert not list((course.root / "submitted").glob("*/.incoming-*"))


def test_a_zip_bomb_is_stopped_in_bounded_memory(course, tmp_path, roster):
    """12 entries of 95 MB zeros (1.2 MB compressed): before, 1.2 GB written and 1.46 GB held."""
    zeros = b"\0" * (95 * 1024**2)
    archive = make_zip(
        tmp_path / "bomb.zip",
        [(f"A_12345_/part{i:02}.ipynb", zeros, WHEN) for i in range(12)]
        + [("bob_123_9_01-gradients.ipynb", b"{}", WHEN)],
    )
    del zeros
    assert archive.stat().st_size < 2 * 1024**2
    script = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(done.returncode, peak, repr(done.stderr))\n"
    )
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            *rnn_course("import-zip", archive, "--roster", roster, "--course-dir", course.root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    code, peak_kib, stderr = measured.stdout.split(" ", 2)
    assert code == "0", stderr
    assert "the student's files are over 300 MB" in stderr
    assert int(peak_kib) < 400 * 1024, f"peak memory {int(peak_kib) >> 10} MB"
    assert (course.folder("submitted", "bob") / "01-gradients.ipynb").is_file()
    assert not (course.root / "submitted" / "alice" / "rnn").exists()
    used = sum(p.stat().st_size for p in course.root.rglob("*") if p.is_file())
    assert used < 10 * 1024**2, "the rejected student's bytes were left on disk"
