"""Files a command writes for the instructor (CSV, report), all or none, failing in one line.

A command that writes two files (grades.csv and nbgrader's CSV, the report and its figure)
must not leave one written and the other missing, nor an empty or half-written file where a
good one was. Each file is written beside its target first and renamed over it only once
every file of the command has been written. A target is only ever a regular file: a device
(`/dev/full`), a FIFO, a socket or a symbolic link at the path is refused, not replaced, and so
is a path the same command writes twice (`report --out r.png`, whose figure is `r.png` too).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from autograder.errors import CourseError


def check_target(path: Path, option: str) -> Path:
    """`path` if a regular file can be written there; one line naming `option` if not."""
    path = Path(path).expanduser()
    if path.is_symlink():
        raise CourseError(
            f"{option} {path} is a symbolic link; give the path of the file itself "
            f"({os.path.realpath(path)})"
        )
    if path.is_dir():
        raise CourseError(f"{option} {path} is a folder; give a file name, e.g. {path}/grades.csv")
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise CourseError(
            f"{option} {path} is not a regular file (a device, FIFO or socket); give a file name"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CourseError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CourseError(f"{option} {path}: no permission to write there")
    return path


COURSE_OWN = ("gradebook.db", "nbgrader_config.py", "rnn-course.toml")
COURSE_FOLDERS = ("submitted", "autograded", "feedback", "release", "exchange", "autograder")


def check_not_the_course_own(path: Path, option: str, course_root: Path) -> None:
    """The course's own files (its gradebook, settings, submissions, graded copies, feedback)
    are never an output: one line instead of a gradebook written over by a CSV."""
    where = Path(os.path.abspath(Path(path).expanduser()))
    root = Path(os.path.abspath(course_root))
    if not where.is_relative_to(root):
        return
    inside = where.relative_to(root).parts
    if inside and ((len(inside) == 1 and inside[0] in COURSE_OWN) or inside[0] in COURSE_FOLDERS):
        raise CourseError(
            f"{option} {path} is one of the course's own files; write the output elsewhere "
            f"(e.g. {root / 'reports' / where.name})"
        )


@contextlib.contextmanager
def written_together(
    targets: dict[Path, str], course_root: Path | None = None
) -> Iterator[dict[Path, Path]]:
    """Temporary paths beside each target (keyed by target); on a clean exit all are renamed
    over their targets, on an error all are removed and the targets stay as they were.

    `targets` maps each path to the option that named it, for the error message; none may be
    a file of the course at `course_root`.
    """
    temporary: dict[Path, Path] = {}
    seen: dict[Path, str] = {}
    for target, option in targets.items():
        where = Path(os.path.abspath(Path(target).expanduser()))
        if where in seen:
            raise CourseError(
                f"{option} {target}: this command writes {where.name} already "
                f"({seen[where]}); give another name"
            )
        seen[where] = option
        if course_root is not None:
            check_not_the_course_own(target, option, course_root)
    try:
        for target, option in targets.items():
            target = check_target(target, option)
            handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            os.close(handle)
            temporary[target] = Path(name)
        yield temporary
        for target, path in temporary.items():
            os.chmod(path, 0o644)
            path.replace(target)
        temporary = {}
    except OSError as error:
        raise CourseError(
            f"cannot write {error.filename or 'the output'}: {error.strerror}"
        ) from None
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)


def write_text(path: Path, option: str, text: str | Callable[[], str]) -> Path:
    """One file, written whole or not at all."""
    with written_together({Path(path): option}) as paths:
        target = Path(path).expanduser()
        paths[target].write_text(text() if callable(text) else text)
    return Path(path)
