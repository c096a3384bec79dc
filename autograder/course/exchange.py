"""nbgrader's exchange: is it there, and do its permissions keep students apart?

On a shared JupyterHub every student has a Unix account and submits by writing into the
exchange's `inbound` folder. nbgrader's design keeps them apart by permissions alone: the root
is writable by everyone, the course's `inbound` is writable but not listable by students (733),
its `feedback` is traversable but not listable (711). A folder with the wrong mode silently
lets students read each other's work, or stops everyone from submitting; these checks say
which, and the one command that fixes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from autograder.course.folder import COURSE_ID, Course
from autograder.errors import CourseError

# the mode each course folder must not exceed for others, and what nbgrader sets
COURSE_FOLDERS = {"inbound": 0o733, "feedback": 0o711, "outbound": 0o755}


def check_root(root: Path) -> None:
    """The exchange root exists and every user can write into it (nbgrader's requirement)."""
    if not root.is_dir():
        raise CourseError(
            f"the exchange folder {root} does not exist; create it for everyone: "
            f"sudo mkdir -p {root} && sudo chmod 1777 {root}"
        )
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o003 != 0o003:
        raise CourseError(
            f"the exchange folder {root} is not writable by every user (mode {mode:o}), so "
            f"students cannot submit; run: sudo chmod 1777 {root}"
        )


def check_exchange(course: Course) -> None:
    """A shared exchange (set with `configure --exchange`) is writable by all, and the course's
    folders in any exchange have nbgrader's modes. The default exchange inside the course
    folder serves one account, so its root needs no more than that account's rights."""
    if course.settings.exchange:
        check_root(course.exchange)
    check_course_folders(course)


def check_course_folders(course: Course) -> None:
    """The course's exchange folders have nbgrader's modes: students cannot list inbound or
    feedback (each other's submissions and feedback), and can still submit and fetch."""
    base = course.exchange / COURSE_ID
    for name, expected in COURSE_FOLDERS.items():
        folder = base / name
        if not folder.is_dir():
            continue
        mode = stat.S_IMODE(folder.stat().st_mode)
        if folder.stat().st_uid != os.geteuid():
            raise CourseError(
                f"{folder} belongs to another user; the instructor running this command must "
                f"own it (sudo chown {os.geteuid()} {folder})"
            )
        if mode & 0o077 & ~expected:
            raise CourseError(
                f"{folder} has mode {mode:o}, which lets students see each other's work; "
                f"run: chmod {expected:o} {folder}"
            )
        if name == "inbound" and mode & 0o003 != 0o003:
            raise CourseError(
                f"{folder} has mode {mode:o}, so students cannot submit; run: "
                f"chmod {expected:o} {folder}"
            )
