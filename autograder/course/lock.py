"""One grader per student at a time: a run over the whole class excludes every other run, runs
over named students (sections) exclude each other only where they share a student.

Two `autograde` runs over the same students would both grade everything, write the same rows
twice and race on the graded copies. Locks are `flock`s on files in the course folder (the
kernel drops them when a process dies, so a killed run never leaves one behind), and each
holder leaves a note saying who it is, which the refusal names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from autograder.course.folder import Course
from autograder.errors import CourseError

LOCKS = "autograder/locks"


def _holders(folder: Path) -> str:
    notes = []
    for path in sorted(folder.glob("holder-*.json")):
        try:
            note = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(note, dict):
            notes.append(
                f"pid {note.get('pid')} of {note.get('user')} on {note.get('host')} since "
                f"{note.get('since')} ({note.get('what')})"
            )
    return "; ".join(notes) or "a process that left no note"


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this user id (a container's)
        return f"uid {os.getuid()}"


def _take(path: Path, mode: int) -> int:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise
    return descriptor


@contextlib.contextmanager
def grading_lock(course: Course, students: list[str] | None) -> Iterator[None]:
    """Hold the class's grading lock: exclusive for the whole class (`students` None), shared
    for named students, each of whom is locked exclusively."""
    folder = course.root / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    what = "the whole class" if students is None else f"{len(students)} named students"
    note = folder / f"holder-{socket.gethostname()}-{os.getpid()}.json"
    taken: list[int] = []
    try:
        try:
            whole = fcntl.LOCK_EX if students is None else fcntl.LOCK_SH
            taken.append(_take(folder / "class.lock", whole))
            for student in sorted(students or []):
                taken.append(_take(folder / f"student-{student}.lock", fcntl.LOCK_EX))
        except BlockingIOError:
            raise CourseError(
                f"another autograde is grading {course.root} ({_holders(folder)}); wait for it "
                "to finish, or stop it (Ctrl+C) and run again"
            ) from None
        note.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "user": _user(),
                    "host": socket.gethostname(),
                    "since": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "what": what,
                }
            )
        )
        yield
    finally:
        note.unlink(missing_ok=True)
        for descriptor in taken:
            os.close(descriptor)
