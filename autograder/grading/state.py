"""What was graded, and how: one record per student, so a rerun grades only what changed.

`autograded/<student>/<assignment>/grading.json` holds the digest of the submission that was
graded and of the assignment it was graded against (sources, the in-sandbox code, probes,
limits), the status, the per-task results and the graded submission's time. It is written only
after the student's grades are committed to the gradebook, so after Ctrl-C or `kill -9` a rerun
grades exactly the students not yet done; and the outputs compare it with `submitted/` to say
when a newer submission waits for grading.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from autograder.course.folder import ASSIGNMENT, Course
from autograder.grading import probes
from autograder.sandbox import bubblewrap
from autograder.sandbox.engine import Limits

STATE_FILE = "grading.json"  # in autograded/<student>/<assignment>/


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def submission_digest(folder: Path) -> str:
    """The digest of a submission folder's files (names and bytes)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    return _digest(*(p.name.encode() + b"\0" + p.read_bytes() for p in files))


def assignment_digest(course: Course, assignment: str, limits: Limits) -> str:
    """What grades depend on besides the submission: a change regrades everyone."""
    sources = sorted(course.folder("source", ".", assignment).glob("*.ipynb"))
    inside = sorted(bubblewrap.INSIDE.glob("*.py"))
    return _digest(
        *(p.read_bytes() for p in sources),
        *(p.read_bytes() for p in inside),
        Path(probes.__file__).read_bytes(),
        json.dumps(asdict(limits), sort_keys=True).encode(),
    )


def _path(course: Course, student: str, assignment: str) -> Path:
    return course.folder("autograded", student, assignment) / STATE_FILE


def read_state(course: Course, student: str, assignment: str = ASSIGNMENT) -> dict:
    """A student's last grading record, or {} if there is none (or it cannot be read)."""
    try:
        state = json.loads(_path(course, student, assignment).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def read_states(course: Course, assignment: str = ASSIGNMENT) -> dict[str, dict]:
    """Each graded student's last grading record (status, per-task results)."""
    folder = course.root / "autograded"
    if not folder.is_dir():
        return {}
    return {
        p.name: state
        for p in sorted(folder.iterdir())
        if (state := read_state(course, p.name, assignment))
    }


def write_state(course: Course, student: str, assignment: str, state: dict) -> None:
    path = _path(course, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state, indent=1))
    temporary.replace(path)
