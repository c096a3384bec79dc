"""The `submitted/` folder: where every door (exchange, LMS zip, a local copy) puts submissions.

nbgrader grades `submitted/<student>/<assignment>/`, with the submission time in
`timestamp.txt`. Three guarantees hold for every way in:

* **Usable ids only.** Student ids become folder names and gradebook keys, so only safe ids are
  written; a folder that is there anyway (put in by hand, or by an older tool) is left out of
  grading with the reason, never allowed to stop the rest of the class.
* **Atomic per student.** A student's new files are written into a fresh folder beside the old
  one and swapped in at the end (`renameat2(RENAME_EXCHANGE)`, one system call); on any failure
  the previous submission is untouched, byte for byte.
* **A time the grader can trust.** `timestamp.txt` holds the time the instructor's side
  established (the LMS's time, or the exchange files' change times), never a student-written
  one; what the student claimed is kept beside it in `intake.json` for the report.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.text import shown

log = logging.getLogger(__name__)

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
TIMESTAMP_FILE = "timestamp.txt"
RECORD_FILE = "intake.json"  # how the submission came in: source, trusted and claimed times
STAGE_PREFIX = ".incoming-"  # a student's next submission while it is being written


def student_id_problem(student: str) -> str | None:
    """Why `student` cannot be a student id (a folder name and a gradebook key), or None."""
    if not STUDENT_ID.match(student) or ".." in student:
        return (
            f"{shown(student)!r} is not a usable student id: use letters, digits, '.', '_' "
            f"or '-' (at most 64, starting with a letter or digit)"
        )
    return None


def check_student_id(student: str) -> str:
    problem = student_id_problem(student)
    if problem:
        raise CourseError(problem)
    return student


def submitted_students(
    course: Course, assignment: str = ASSIGNMENT
) -> tuple[list[str], list[tuple[str, str]]]:
    """(students with a submission, [(folder name, why it is left out)]): one bad folder in
    `submitted/` never stops the others."""
    folder = course.root / "submitted"
    usable: list[str] = []
    unusable: list[tuple[str, str]] = []
    if not folder.is_dir():
        return usable, unusable
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not (entry / assignment).is_dir():
            continue
        if entry.is_symlink() or (entry / assignment).is_symlink():
            unusable.append((shown(entry.name), "a symbolic link, not a submission folder"))
            continue
        problem = student_id_problem(entry.name)
        if problem:
            unusable.append((shown(entry.name), problem))
        else:
            usable.append(entry.name)
    return usable, unusable


def format_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)


def submission_time(folder: Path) -> dt.datetime | None:
    """The trusted submission time recorded in a submission folder (aware, UTC), if any."""
    try:
        text = (folder / TIMESTAMP_FILE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    for form in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text.removesuffix(" UTC"), form).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def intake_record(folder: Path) -> dict:
    """What `intake.json` says of a submission ({} if nothing, or unreadable)."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class NewSubmission:
    """A student's next submission, written beside the current one and swapped in by `commit`.

    Use as a context manager: leaving it without `commit` (an error, a limit, Ctrl-C) removes
    what was written and leaves the current submission as it was.
    """

    def __init__(self, course: Course, student: str, assignment: str = ASSIGNMENT):
        self.student = check_student_id(student)
        self.parent = course.root / "submitted" / student
        self.parent.mkdir(parents=True, exist_ok=True)
        self.target = self.parent / assignment
        self.stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{assignment}-", dir=self.parent))
        self.names: list[str] = []

    def __enter__(self) -> NewSubmission:
        return self

    def __exit__(self, *exc_info) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def add(self, name: str, blocks: Iterable[bytes]) -> int:
        """Write one file from `blocks` (the caller bounds them); returns its size."""
        size = 0
        path = self.stage / name
        if path.parent != self.stage or name in self.names:
            raise CourseError(f"{shown(name)!r} cannot be written into a submission")
        try:
            with open(path, "xb") as handle:
                for block in blocks:
                    handle.write(block)
                    size += len(block)
        except BaseException:
            path.unlink(missing_ok=True)  # a file cut short is not part of the submission
            raise
        self.names.append(name)
        return size

    def commit(self, when: dt.datetime, record: dict, replace: bool = True) -> str:
        """Swap the new files in, with the trusted time. Returns "new", "replaced",
        "unchanged" (the same files and time as now: nothing done) or "kept" (a different
        submission is there and `replace` is False: nothing done)."""
        (self.stage / TIMESTAMP_FILE).write_text(format_time(when))
        (self.stage / RECORD_FILE).write_text(json.dumps(record, indent=1, sort_keys=True))
        present = self.target.exists() or self.target.is_symlink()
        if present and self.target.is_dir() and _digest(self.target) == _digest(self.stage):
            return "unchanged"
        if present and not replace:
            return "kept"
        _sync(self.stage)
        if present:
            exchange(self.stage, self.target)  # the stage now holds the old files
        else:
            os.rename(self.stage, self.target)
        for leftover in self.parent.glob(f"{STAGE_PREFIX}*"):  # earlier interrupted attempts
            if leftover != self.stage:
                shutil.rmtree(leftover, ignore_errors=True)
        return "replaced" if present else "new"


def submit(
    course: Course,
    student: str,
    notebooks: list[Path],
    assignment: str = ASSIGNMENT,
    when: dt.datetime | None = None,
) -> Path:
    """Put these notebooks in as the student's submission, made `when` (default: now).

    For the instructor's own files (a submission received by e-mail, the tests' fixtures):
    the paths are trusted, so they are read as they are.
    """
    with NewSubmission(course, student, assignment) as new:
        for notebook in notebooks:
            new.add(Path(notebook).name, [Path(notebook).read_bytes()])
        new.commit(when or dt.datetime.now(dt.UTC), {"source": "local"})
    return course.folder("submitted", student, assignment)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _sync(folder: Path) -> None:
    """Flush a folder's files to disk before it replaces a submission."""
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(first: Path, second: Path) -> None:
    """Swap two folders in one step (Linux `renameat2` with RENAME_EXCHANGE).

    Where the file system cannot (errno EINVAL/ENOSYS), two renames with the old folder kept
    under the stage's name until the second one is done.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(
            _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
        )
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(second))
    old = first.with_name(first.name + "-old")
    os.rename(second, old)
    os.rename(first, second)
    os.rename(old, first)
