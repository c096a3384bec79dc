"""Submissions in: a learning-management system's bulk download, or nbgrader's exchange.

An LMS download is a zip with one folder or one file per student, named after the student in
the LMS's own way (Moodle: `Jane Doe_12345_assignsubmission_file_/…`; Canvas:
`doejane_12345_67890_01-gradients.ipynb`). A roster CSV maps those LMS ids to the course's
student ids: columns `student_id` and `lms_id`. An id matches a whole `_`/space/`-`-separated
token of the folder or file name, never a part of one, so id 123 cannot take 12345's work.
Nothing is dropped silently: every entry that was not imported is listed with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .collect import TIMESTAMP_FORMAT, check_student_id
from .course import ASSIGNMENT, Course, nbgrader_failure
from .errors import CourseError

MAX_ENTRY_BYTES = 100 * 1024**2
TOKEN = re.compile(r"[_\s\-]+")


@dataclass
class ImportSummary:
    imported: dict[str, list[str]] = field(default_factory=dict)  # student → notebook files
    unchanged: list[str] = field(default_factory=list)  # students whose files were identical
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (zip entry, why)


def read_roster(path: Path) -> dict[str, str]:
    """lms_id → student_id, checked: unique ids, usable student ids."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"cannot read the roster {path}: {error}") from None
    if not rows or not {"student_id", "lms_id"} <= set(rows[0]):
        raise CourseError(f"the roster {path} needs the columns student_id and lms_id")
    roster: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        lms_id, student = (row["lms_id"] or "").strip(), (row["student_id"] or "").strip()
        if not lms_id or not student:
            raise CourseError(f"{path}, line {number}: empty student_id or lms_id")
        if lms_id in roster:
            raise CourseError(f"{path}, line {number}: lms_id {lms_id!r} appears twice")
        roster[lms_id] = check_student_id(student)
    return roster


def _owner(name: str, roster: dict[str, str]) -> str | None:
    tokens = set(TOKEN.split(PurePosixPath(name).stem)) | set(TOKEN.split(name))
    owners = {student for lms_id, student in roster.items() if lms_id in tokens}
    if len(owners) > 1:
        raise CourseError(f"{name!r} matches several students ({', '.join(sorted(owners))})")
    return owners.pop() if owners else None


def _notebook_name(filename: str, expected: list[str]) -> str:
    """The assignment's notebook this file is (LMS prefixes and `-1` resubmission suffixes
    removed); the file's own name if none fits (the grader then matches it by content)."""
    stem = re.sub(r"-\d+$", "", PurePosixPath(filename).stem)
    for name in expected:
        if stem == name or stem.endswith(f"_{name}") or stem.endswith(f" {name}"):
            return f"{name}.ipynb"
    return PurePosixPath(filename).name


def import_zip(
    course: Course,
    archive: Path,
    roster_csv: Path,
    assignment: str = ASSIGNMENT,
    replace: bool = False,
) -> ImportSummary:
    """Put each student's notebooks into submitted/<student>/<assignment>/ with a timestamp."""
    roster = read_roster(roster_csv)
    expected = sorted(p.stem for p in course.folder("release", ".", assignment).glob("*.ipynb"))
    expected = expected or sorted(
        p.stem for p in course.folder("source", ".", assignment).glob("*.ipynb")
    )
    summary = ImportSummary()
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise CourseError(f"cannot read {archive} as a zip file: {error}") from None
    found: dict[str, dict[str, tuple[bytes, dt.datetime]]] = {}
    with bundle:
        for info in bundle.infolist():
            name = info.filename
            parts = PurePosixPath(name).parts
            if info.is_dir() or not parts or parts[0] == "__MACOSX":
                continue
            if PurePosixPath(name).name.startswith("."):
                continue
            if not name.endswith(".ipynb"):
                summary.skipped.append((name, "not a notebook"))
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                summary.skipped.append((name, f"larger than {MAX_ENTRY_BYTES // 1024**2} MB"))
                continue
            student = _owner(parts[0], roster)
            if student is None:
                summary.skipped.append((name, "no student in the roster matches its name"))
                continue
            target = _notebook_name(parts[-1], expected)
            when = dt.datetime(*info.date_time, tzinfo=dt.UTC)
            files = found.setdefault(student, {})
            if target in files:
                summary.skipped.append((name, f"a second {target} for {student}"))
                continue
            files[target] = (bundle.read(info), when)
    for student, files in sorted(found.items()):
        folder = course.folder("submitted", student, assignment)
        current = (
            {p.name: p.read_bytes() for p in folder.glob("*.ipynb")} if folder.is_dir() else {}
        )
        incoming = {name: data for name, (data, _) in files.items()}
        if current == incoming:
            summary.unchanged.append(student)
            continue
        if current and not replace:
            for name in files:
                summary.skipped.append(
                    (name, f"{student} already has a different submission (use --replace)")
                )
            continue
        if folder.is_dir():
            for old in folder.iterdir():
                old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in incoming.items():
            (folder / name).write_bytes(data)
        latest = max(when for _, when in files.values())
        (folder / "timestamp.txt").write_text(latest.strftime(TIMESTAMP_FORMAT))
        summary.imported[student] = sorted(files)
    return summary


def collect(course: Course, assignment: str = ASSIGNMENT) -> None:
    """nbgrader's own `collect`, from the course's exchange folder into submitted/."""
    result = course.api().collect(assignment)
    if not result["success"]:
        raise nbgrader_failure("collect", result)
