"""Running cells in the sandbox from a test, and reading what came back as plain dicts.

The grader parses a run's stream with bounds (`grading/events.py`); a test is trusted and reads
it plainly, to look at exactly what the code in the sandbox reported.
"""

from __future__ import annotations

import json

from autograder.sandbox.engine import CellToRun, Job, RunResult


def job(*sources: str, seconds: float | None = None) -> Job:
    """A job of cells with these sources (each with `seconds` as its own limit, if given)."""
    return Job(tuple(CellToRun(source, seconds) for source in sources))


def job_of(cells: list[dict]) -> Job:
    """A job from cells as dicts: {"source": …, "seconds": …}."""
    return Job(tuple(CellToRun(c["source"], c.get("seconds")) for c in cells))


def raw_events(result: RunResult) -> list[dict]:
    """Every well-formed event line of a run, in order, as dicts."""
    events = []
    for line in result.stream.split(b"\n"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    return events


def ends(result: RunResult) -> list[dict]:
    """The runs' `end` events, in order."""
    return [e for e in raw_events(result) if e["event"] == "end"]
