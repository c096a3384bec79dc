"""Submissions from a learning-management system's bulk download (a zip), read as hostile input.

An LMS download has one folder or one file per student, named after the student in the LMS's
own way (Moodle: `Jane Doe_12345_assignsubmission_file_/…`; Canvas:
`doejane_12345_67890_01-gradients.ipynb`, `…-1.ipynb` for a resubmission; Blackboard adds
`_attempt_2026-11-20-09-30-00`). A roster CSV maps those LMS ids to the course's student ids:
columns `student_id` and `lms_id`. An id matches a whole `_`/space/`-`-separated token of the
folder or file name, never a part of one, so id 123 cannot take 12345's work.

Everything in the archive (names, sizes, dates, the compressed data) was made or touched by
students, so:

* every entry is accounted for: imported, or listed as skipped with the reason (a name that
  cannot be a file, a corrupt or encrypted entry, a link, an older copy, a limit);
* sizes are counted on the bytes actually decompressed, as they stream, never on the header,
  and bounded per notebook, per student and for the archive; nothing is held whole in memory;
* each student is imported atomically (`submissions.NewSubmission`): a failure leaves their
  previous submission byte-identical, and never stops the other students;
* among several copies of one notebook, the one the LMS marks newest is kept (resubmission
  suffix, then the LMS's time in the name, then the entry's date) and both are named.
"""

from __future__ import annotations

import bz2  # noqa: F401 - zipfile's optional codecs raise their own errors
import csv
import datetime as dt
import lzma
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import limits
from autograder.course.allowances import Allowances
from autograder.course.deadlines import counting_order, due_date, student_due
from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.settings import CourseSettings, zone
from autograder.errors import CourseError
from autograder.intake.submitted import NewSubmission, check_student_id, format_time
from autograder.intake.untrusted import Refused, usable_file_name
from autograder.text import human_size, shown

TOKEN = re.compile(r"[_\s\-]+")
RESUBMISSION = re.compile(r"-(\d{1,3})$")
TIME_IN_NAME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[-_ T](\d\d)[-:](\d\d)(?:[-:](\d\d))?")
CORRUPT = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


@dataclass
class ImportSummary:
    imported: dict[str, list[str]] = field(default_factory=dict)  # student → notebook files
    unchanged: list[str] = field(default_factory=list)  # students whose files were identical
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (zip entry, why)
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (entry, student, file)


@dataclass(frozen=True)
class Copy:
    """One zip entry that is some student's notebook."""

    info: zipfile.ZipInfo
    name: str  # the entry's name, safe to show
    student: str
    target: str  # the file name in the submission
    when: dt.datetime  # the LMS's time for it (name, else entry date)
    order: tuple  # larger is newer


class Budget:
    """Decompressed bytes left for the archive and for the current student."""

    def __init__(self):
        self.archive = limits.ARCHIVE_BYTES
        self.student = limits.SUBMISSION_BYTES

    def spend(self, size: int) -> None:
        self.archive -= size
        self.student -= size
        if self.archive < 0:
            limit = human_size(limits.ARCHIVE_BYTES)
            raise Refused(f"the archive is over the import limit of {limit}")
        if self.student < 0:
            raise Refused(f"the student's files are over {human_size(limits.SUBMISSION_BYTES)}")


ROSTER_COLUMNS = ("student_id", "lms_id")  # required; any other column is kept as it is


def roster_rows(path: Path) -> list[dict[str, str]]:
    """The roster's rows, checked: the required columns, unique lms and student ids, usable
    student ids. Other columns (name, email, section, …) are kept for the grade exports to the
    LMS."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CourseError(f"cannot read the roster {path}: {error}") from None
    if not rows or not set(ROSTER_COLUMNS) <= set(rows[0]):
        raise CourseError(f"the roster {path} needs the columns student_id and lms_id")
    seen: set[str] = set()
    students: set[str] = set()  # one row each: else an LMS user would get another's grade
    clean = []
    for number, row in enumerate(rows, start=2):
        row = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
        lms_id, student = row["lms_id"], row["student_id"]
        if not lms_id or not student:
            raise CourseError(f"{path}, line {number}: empty student_id or lms_id")
        if lms_id in seen:
            raise CourseError(f"{path}, line {number}: lms_id {lms_id!r} appears twice")
        if student in students:
            raise CourseError(f"{path}, line {number}: student_id {student!r} appears twice")
        try:
            check_student_id(student)
        except CourseError as error:
            raise CourseError(f"{path}, line {number}: {error}") from None
        seen.add(lms_id)
        students.add(student)
        clean.append(row)
    return clean


def read_roster(path: Path) -> dict[str, str]:
    """lms_id → student_id, checked (see `roster_rows`)."""
    return {row["lms_id"]: row["student_id"] for row in roster_rows(path)}


def import_zip(
    course: Course,
    archive: Path,
    roster_csv: Path,
    assignment: str = ASSIGNMENT,
    replace: bool = False,
) -> ImportSummary:
    """Put each student's notebooks into submitted/<student>/<assignment>/ with the LMS time."""
    roster = read_roster(roster_csv)
    expected = sorted(p.stem for p in course.folder("release", ".", assignment).glob("*.ipynb"))
    expected = expected or sorted(
        p.stem for p in course.folder("source", ".", assignment).glob("*.ipynb")
    )
    _check_entry_count(archive)
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as error:
        raise CourseError(f"cannot read {archive} as a zip file: {error}") from None
    summary = ImportSummary()
    with bundle:
        due, allowances = due_date(course, assignment), Allowances.load(course.root)

        def due_for(student: str) -> dt.datetime | None:
            return student_due(allowances, assignment, student, due)

        copies = _plan(bundle.infolist(), roster, expected, course.settings, due_for, summary)
        budget = Budget()
        for student, files in sorted(copies.items()):
            budget.student = limits.SUBMISSION_BYTES
            _import_student(course, bundle, student, files, assignment, replace, budget, summary)
    return summary


def _check_entry_count(archive: Path) -> None:
    """Refuse an archive with too many entries before its directory is read into memory."""
    try:
        with open(archive, "rb") as handle:
            end = zipfile._EndRecData(handle)  # the end-of-directory record: counts, not data
    except OSError as error:
        raise CourseError(f"cannot read {archive}: {error.strerror}") from None
    if end and end[zipfile._ECD_ENTRIES_TOTAL] > limits.ARCHIVE_ENTRIES:
        raise CourseError(
            f"{archive} has {end[zipfile._ECD_ENTRIES_TOTAL]:,} entries, more than the limit of "
            f"{limits.ARCHIVE_ENTRIES:,}; is it the LMS's download of one assignment?"
        )


def _plan(
    infos: list[zipfile.ZipInfo],
    roster: dict[str, str],
    expected: list[str],
    settings: CourseSettings,
    due_for: Callable[[str], dt.datetime | None],
    summary: ImportSummary,
) -> dict[str, dict[str, Copy]]:
    """Which entry becomes which student's which file; every other entry skipped, with why.
    Among copies of one notebook, the one the class's `counts` setting prefers is kept (as
    collect keeps a submission): by default the newest made by the student's due date."""
    found: dict[tuple[str, str], list[Copy]] = {}
    for info in infos:
        name = shown(info.filename, limit=200)
        try:
            copy = _copy_of(info, name, roster, expected, settings.timezone)
        except Refused as error:
            summary.skipped.append((name, str(error)))
            continue
        found.setdefault((copy.student, copy.target), []).append(copy)
    chosen: dict[str, dict[str, Copy]] = {}
    for (student, target), copies in found.items():
        preferred = counting_order(
            copies, lambda c: c.when, due_for(student), settings.counts, newness=lambda c: c.order
        )
        kept = chosen.setdefault(student, {})[target] = preferred[0]
        for other in preferred[1:]:
            newer = other.order > kept.order
            why = "a later copy that does not count" if newer else "an older copy"
            summary.skipped.append(
                (other.name, f"{why} of {target} for {student}: kept {kept.name}")
            )
    return chosen


def _copy_of(
    info: zipfile.ZipInfo, name: str, roster: dict[str, str], expected: list[str], timezone: str
) -> Copy:
    path = PurePosixPath(info.filename.replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("/", "")]
    if not info.filename:  # zipfile cuts a name at its first NUL byte
        raise Refused("an empty name")
    if info.is_dir():
        raise Refused("a folder entry")
    if not parts or parts[0] == "__MACOSX":
        raise Refused("macOS metadata")
    if parts[-1].startswith("."):
        raise Refused("a hidden file")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise Refused("a symbolic link (never followed)")
    if not parts[-1].endswith(".ipynb"):
        raise Refused("not a notebook")
    if info.flag_bits & 0x1:
        raise Refused("encrypted")
    student = _owner(parts[0], roster)
    target = _notebook_name(parts[-1], expected)
    if not usable_file_name(target):
        raise Refused("its file name cannot be used (too long, or control characters)")
    suffix = RESUBMISSION.search(PurePosixPath(parts[-1]).stem)
    in_name = _time_in_name(info.filename, timezone)
    try:
        entry_time = dt.datetime(*info.date_time, tzinfo=zone(timezone)).astimezone(dt.UTC)
    except ValueError:
        entry_time = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
    order = (int(suffix.group(1)) if suffix else 0, in_name or entry_time, entry_time)
    return Copy(info, name, student, target, in_name or entry_time, order)


def _owner(name: str, roster: dict[str, str]) -> str:
    tokens = set(TOKEN.split(PurePosixPath(name).stem)) | set(TOKEN.split(name))
    owners = {student for lms_id, student in roster.items() if lms_id in tokens}
    if len(owners) > 1:
        raise Refused(f"its name matches several students ({', '.join(sorted(owners))})")
    if not owners:
        raise Refused("no student in the roster matches its name")
    return owners.pop()


def _notebook_name(filename: str, expected: list[str]) -> str:
    """The assignment's notebook this file is (LMS prefixes and `-1` resubmission suffixes
    removed); the file's own name if none fits (the grader then matches it by content)."""
    stem = RESUBMISSION.sub("", PurePosixPath(filename).stem)
    for name in expected:
        if stem == name or stem.endswith(f"_{name}") or stem.endswith(f" {name}"):
            return f"{name}.ipynb"
    return PurePosixPath(filename).name


def _time_in_name(name: str, timezone: str) -> dt.datetime | None:
    found = TIME_IN_NAME.findall(name)
    if not found:
        return None
    year, month, day, hour, minute, second = found[-1]
    try:
        local = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )
    except ValueError:
        return None
    return local.replace(tzinfo=zone(timezone)).astimezone(dt.UTC)


def _import_student(
    course: Course,
    bundle: zipfile.ZipFile,
    student: str,
    files: dict[str, Copy],
    assignment: str,
    replace: bool,
    budget: Budget,
    summary: ImportSummary,
) -> None:
    """All of one student's notebooks, or none of them (their old submission stays)."""
    copies = sorted(files.values(), key=lambda c: c.target)
    failed: tuple[str, str] | None = None
    try:
        with NewSubmission(course, student, assignment) as new:
            for copy in copies:
                try:
                    new.add(copy.target, _blocks(bundle, copy.info, budget))
                except Refused as error:
                    failed = (copy.name, str(error))
                    break
            if failed is None:
                record = {"source": "lms", "entries": [c.name for c in copies]}
                when = max(c.when for c in copies)
                record["submitted_at"] = format_time(when)
                outcome = new.commit(when, record, replace=replace)
    except OSError as error:
        failed = (copies[0].name, f"could not be written ({error.strerror})")
    if failed is not None:
        summary.skipped.append(failed)
        why = f"not imported: {student}'s {failed[0]} failed, the previous submission is kept"
        summary.skipped += [(c.name, why) for c in copies if c.name != failed[0]]
        return
    if outcome == "kept":
        why = f"{student} already has a different submission (use --replace)"
        summary.skipped += [(c.name, why) for c in copies]
        return
    summary.kept += [(c.name, student, c.target) for c in copies]
    if outcome == "unchanged":
        summary.unchanged.append(student)
    else:
        summary.imported[student] = [c.target for c in copies]


def _blocks(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> Iterator[bytes]:
    """The entry's decompressed bytes as they stream, counted against every limit."""
    total = 0
    try:
        with bundle.open(info) as stream:
            while block := stream.read(limits.CHUNK_BYTES):
                total += len(block)
                if total > limits.NOTEBOOK_BYTES:
                    raise Refused(f"larger than {human_size(limits.NOTEBOOK_BYTES)} decompressed")
                budget.spend(len(block))
                yield block
    except NotImplementedError as error:
        raise Refused(f"compressed in a way that cannot be read ({error})") from None
    except RuntimeError as error:  # zipfile: encrypted entries
        raise Refused(f"cannot be read ({error})") from None
    except CORRUPT as error:
        raise Refused(f"corrupt ({type(error).__name__}: {shown(str(error), 80)})") from None
