"""Files a command writes for the instructor (CSV, report), all or none, failing in one line.

A command that writes two files (grades.csv and nbgrader's CSV, the report and its figure)
must not leave one written and the other missing, nor an empty or half-written file where a
good one was. Each file is written beside its target first and renamed over it only once
every file of the command has been written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from autograder.errors import CourseError


def check_target(path: Path, option: str) -> Path:
    """`path` if a file can be written there; one line naming `option` if not."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise CourseError(f"{option} {path} is a folder; give a file name, e.g. {path}/grades.csv")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CourseError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CourseError(f"{option} {path}: no permission to write there")
    return path


@contextlib.contextmanager
def written_together(targets: dict[Path, str]) -> Iterator[dict[Path, Path]]:
    """Temporary paths beside each target (keyed by target); on a clean exit all are renamed
    over their targets, on an error all are removed and the targets stay as they were.

    `targets` maps each path to the option that named it, for the error message.
    """
    temporary: dict[Path, Path] = {}
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
