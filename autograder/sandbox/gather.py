"""Hand a started sandbox its job and gather what it sends back, under the same bounds for every
engine: the notebook's time limit, and at most `limits.RUN_OUTPUT_BYTES` of events.

The events arrive on a pipe that the code in the sandbox can write to freely, so a run that
writes without end is stopped, not buffered: the grader never holds more than the limit for
one notebook, however the student's code floods it. The stream stays bytes here; only
grading/events.py decodes it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import BinaryIO, Protocol

from autograder import limits
from autograder.sandbox.engine import RunResult

READ_BYTES = 1 << 16


class Supervised(Protocol):
    """A running sandbox as `gather` sees it, whichever engine started it."""

    def wait(self, timeout: float | None) -> int:
        """The exit status (negative: killed by that signal); TimeoutError if still running."""
        ...

    def kill(self) -> None:
        """Stop the run and everything it started; safe to call more than once."""
        ...


def gather(
    child: Supervised,
    events: BinaryIO,
    diagnostics: BinaryIO,
    job_input: BinaryIO,
    job: dict,
    started: float,
    running: set | None = None,
) -> RunResult:
    """Write the job (cells and limits) to the run, then gather its events until it ends or its
    notebook time is over; returns the bounded stream and how the run ended. While it runs,
    the child is in `running` (its engine kills what is there when it is closed early)."""
    if running is not None:
        running.add(child)
    try:
        return _gather(child, events, diagnostics, job_input, job, started)
    finally:
        if running is not None:
            running.discard(child)


def _gather(
    child: Supervised,
    events: BinaryIO,
    diagnostics: BinaryIO,
    job_input: BinaryIO,
    job: dict,
    started: float,
) -> RunResult:
    result = RunResult()
    chunks: list[bytes] = []
    size = 0

    def drain() -> None:
        nonlocal size
        while block := events.read1(READ_BYTES):
            if not chunks:
                result.startup_seconds = time.monotonic() - started
            if size + len(block) > limits.RUN_OUTPUT_BYTES:
                result.overflow = True
                child.kill()
                break
            chunks.append(block)
            size += len(block)

    def drain_diagnostics() -> None:
        kept = b""
        while block := diagnostics.read1(READ_BYTES):
            room = limits.DIAGNOSTICS_BYTES - len(kept)
            if room > 0:
                kept += block[:room]
        result.diagnostics = kept.decode("utf-8", "replace")

    readers = [threading.Thread(target=drain), threading.Thread(target=drain_diagnostics)]
    for reader in readers:
        reader.start()
    try:
        job_input.write(json.dumps(job).encode())
        job_input.flush()
    except BrokenPipeError:  # the run ended before reading it: its status says why
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            job_input.close()
    deadline = started + job["limits"]["notebook_seconds"]
    try:
        result.returncode = child.wait(max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        result.timed_out = True
        child.kill()
        result.returncode = child.wait(None)
    for reader in readers:
        reader.join()
    result.seconds = time.monotonic() - started
    result.stream = b"".join(chunks)
    return result
