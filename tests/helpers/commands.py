"""Running `rnn-course` as a user types it, and reading what it printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rnn_course(*args: object) -> list[str]:
    """The command line of this environment's `rnn-course` with `args`, as a user types it."""
    return [str(Path(sys.executable).with_name("rnn-course")), *map(str, args)]


def run(*args: object, check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess:
    """`rnn-course ARGS`, its output captured; with `check`, it must succeed."""
    finished = subprocess.run(rnn_course(*args), capture_output=True, text=True, timeout=timeout)
    if check:
        assert finished.returncode == 0, finished.stderr[-3000:]
    return finished


def error_lines(stderr: str) -> list[str]:
    """The `error: …` lines a command printed."""
    return [line for line in stderr.strip().splitlines() if line.startswith("error:")]


def one_line(finished: subprocess.CompletedProcess, only: bool = True) -> str:
    """The one error line of a command that failed as it should: exit 1, no traceback, and
    (with `only`) nothing else printed."""
    assert finished.returncode == 1, finished.stderr[-3000:]
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    lines = finished.stderr.strip().splitlines() if only else error_lines(finished.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), finished.stderr[-3000:]
    return lines[0]
