"""What grading hands an engine and gets back: the interface every engine implements.

An engine runs jobs in sandboxes somewhere (this machine's pool, a Dask cluster) and returns,
for each, what the sandbox sent back as bytes, bounded, with how the run ended. It knows
nothing of notebooks, tests or scores: grading builds the job (`grading/jobs.py`), parses what
comes back (`grading/events.py`) and judges it (`grading/judge.py`).
"""

from __future__ import annotations

import signal
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from autograder import limits
from autograder.errors import CourseError


@dataclass(frozen=True)
class Limits:
    """Per-notebook resource limits; the defaults are `autograder.limits`'."""

    cell_seconds: float = limits.CELL_SECONDS  # setup cells: the notebook limit (jobs.py)
    notebook_seconds: float = limits.NOTEBOOK_SECONDS
    memory_bytes: int = limits.MEMORY_BYTES
    processes: int = limits.PROCESSES
    file_bytes: int = limits.FILE_BYTES
    open_files: int = limits.OPEN_FILES
    scratch_bytes: int = limits.SCRATCH_BYTES
    cpus: float = limits.CPUS
    output_chars: int = limits.CELL_OUTPUT_CHARS
    recorded_items: int = limits.RECORDED_ITEMS
    recorded_elements: int = limits.RECORDED_ELEMENTS
    recorded_text_chars: int = limits.RECORDED_TEXT_CHARS
    recorded_depth: int = limits.RECORDED_DEPTH
    # each notebook in a child forked from a pre-imported template (template.py); False: a
    # fresh bubblewrap sandbox and Python per notebook (slower, no template)
    fork_from_template: bool = limits.FORK_FROM_TEMPLATE


@dataclass(frozen=True)
class CellToRun:
    """One cell of a job: its source and, if not the cell limit, its own time limit."""

    source: str
    seconds: float | None = None


@dataclass(frozen=True)
class Job:
    """One notebook's run: the cells in order, and the instructor's setup cells' sources (what
    a template may run ahead, to make their imports instant; never a student's code)."""

    cells: tuple[CellToRun, ...]
    setup: tuple[str, ...] = ()


@dataclass
class RunResult:
    """What came out of one sandboxed run: the event stream as bytes, and how the run ended.

    `stream` is untrusted: whatever the code in the sandbox wrote to its events descriptor, at
    most `limits.RUN_OUTPUT_BYTES`. Only grading/events.py reads it."""

    stream: bytes = b""
    returncode: int | None = None
    timed_out: bool = False
    overflow: bool = False  # the run sent more than RUN_OUTPUT_BYTES and was stopped
    seconds: float = 0.0
    startup_seconds: float = 0.0  # until the first byte: the sandbox ready to run cells
    diagnostics: str = ""  # the sandbox's own start-up errors, before student code ran
    fallback: str = ""  # why this run had a fresh sandbox instead of a forked one, if it did

    @property
    def ending(self) -> str:
        """How the sandbox ended, to follow "the kernel …" in a status line."""
        if self.timed_out:
            return "timed out (notebook limit)"
        if self.overflow:
            return "was stopped: it reported too much"
        if not self.returncode:
            return "exited"
        # killed by a signal: negative for our child, 128 + n when bwrap passes it on
        number = -self.returncode if self.returncode < 0 else self.returncode - 128
        if number in {s.value for s in signal.Signals}:
            return f"crashed ({signal.Signals(number).name})"
        return f"exited with status {self.returncode}"


class EngineUnavailable(CourseError):
    """The engine cannot run student code safely (no sandbox there): the class must stop."""


class Engine(Protocol):
    """Runs jobs in sandboxes; implemented by `pool.SandboxPool` and `dask_engine.DaskEngine`."""

    limits: Limits

    def prepare(self) -> None:
        """Check, before any student's job, that sandboxes start where the jobs will run;
        EngineUnavailable (one line) if not."""
        ...

    def submit(self, job: Job, key: str) -> Future[RunResult]:
        """Run `job` in a sandbox; `key` names it (an engine that reruns a lost job reruns the
        same key). The future's exception is EngineUnavailable, never a student's fault."""
        ...

    def close(self) -> None:
        """Stop every sandbox and template the engine started."""
        ...
