"""The one schema of what a sandboxed run reports, and its bounded parser.

The runner (`sandbox/inside/runner.py`) writes one JSON object per line to a pipe that student
code can also write to, so every byte here is hostile: lines may be forged, malformed, nested
without end, hold numbers no float can hold or arrays of absurd shapes. `parse` reads the stream
into typed records under explicit bounds (`autograder.limits`: bytes per line, lines per run,
depth, sizes, shapes and element counts), never raises, and keeps what a student controls as
storable, capped text. A line outside the schema is dropped and counted, so the judge sees
only well-formed records, and the missing ones make the tests they belong to fail.

The records, by cell index i of the job:

    {"event": "start", "cell": i}
    {"event": "check", "cell": i, "kind": "close" | "equal", "number": n, "value": V,
     "rtol": float, "atol": float}
    {"event": "check", "cell": i, "kind": "raises", "number": n, "expected": name,
     "raised": [names of the exception's classes] | null}
    {"event": "stopped", "cell": i, "group": g, "error": {"ename": name}}
    {"event": "end", "cell": i, "error": null | {"ename": name, "timeout": bool},
     "output": text, "dropped": characters, "seconds": float}

where a recorded value V is {"t": "none"}, {"t": "bool", "v": b}, {"t": "int", "v": "digits"},
{"t": "float", "v": x}, {"t": "str", "v": text}, {"t": "seq", "n": length, "v": [V, …]},
{"t": "array", "dtype": "<f8", "shape": [...], "data": base64} or {"t": "object", "type": name}.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from autograder import limits
from autograder.text import storable

KINDS = ("close", "equal", "raises")
NUMERIC_DTYPE = re.compile(r"^[<>|=]?[biuf][1248]$")
MAX_INT_DIGITS = 100  # an int a check records; honest tests compare counts and sizes
MAX_NAME_CHARS = 200
MAX_GROUPS = 100  # groups of one test cell; the plan's own are far fewer


class Undecodable(ValueError):
    """A record that is not one the runner writes (forged or damaged)."""


@dataclass(frozen=True)
class Opaque:
    """A value the runner could not record as data (an arbitrary object), by its type name."""

    type_name: str


Value = object  # None, bool, int, float, str, list[Value], np.ndarray or Opaque


@dataclass(frozen=True)
class CheckRecord:
    kind: str  # close, equal or raises
    number: int  # the check's number in its test cell, 1-based
    value: Value = None  # close, equal: what the student's code produced (decoded)
    decodable: bool = True  # False: the recorded value was outside the schema
    rtol: float = 0.0
    atol: float = 0.0
    expected: str = ""  # raises: the exception the test expects
    raised: tuple[str, ...] | None = None  # raises: the classes of what was raised; None: none


@dataclass(frozen=True)
class CellEnd:
    error: str | None  # the exception's name as reported (untrusted: shown only if known)
    timeout: bool
    output: str  # what the cell printed (storable, capped)
    dropped: int  # characters of output the runner dropped


@dataclass
class CellEvents:
    started: bool = False
    end: CellEnd | None = None
    checks: list[CheckRecord] = field(default_factory=list)
    stopped: dict[int, str] = field(default_factory=dict)  # group → exception name (untrusted)


@dataclass
class RunEvents:
    cells: dict[int, CellEvents] = field(default_factory=dict)
    ignored: int = 0  # lines outside the schema or the bounds
    truncated: bool = False  # more lines than EVENTS_PER_RUN: the rest were not read

    def cell(self, index: int) -> CellEvents:
        return self.cells.get(index) or CellEvents()


def parse(stream: bytes, cell_count: int) -> RunEvents:
    """The records of a run's stream for cells 0 … cell_count-1; never raises."""
    events = RunEvents()
    for number, line in enumerate(stream.split(b"\n")):
        if number >= limits.EVENTS_PER_RUN:
            events.truncated = True
            break
        if not line.strip():
            continue
        try:
            _add(events, _record(line), cell_count)
        except Exception:  # noqa: BLE001 - any failure on hostile input drops the line
            events.ignored += 1
    return events


def _record(line: bytes) -> dict:
    if len(line) > limits.EVENT_LINE_BYTES:
        raise Undecodable("line too long")
    try:
        record = json.loads(line)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise Undecodable("not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("event"), str):
        raise Undecodable("not an event")
    return record


def _add(events: RunEvents, record: dict, cell_count: int) -> None:
    index = record.get("cell")
    if not (isinstance(index, int) and not isinstance(index, bool) and 0 <= index < cell_count):
        raise Undecodable("no such cell")
    entry = events.cells.setdefault(index, CellEvents())
    kind = record["event"]
    if kind == "start":
        entry.started = True
    elif kind == "end":
        if entry.end is None:
            entry.end = _end(record)
    elif kind == "check":
        entry.checks.append(check_record(record))
    elif kind == "stopped":
        group, error = record.get("group"), record.get("error")
        if not (isinstance(group, int) and not isinstance(group, bool) and 0 <= group < MAX_GROUPS):
            raise Undecodable("no such group")
        name = storable(error.get("ename"), MAX_NAME_CHARS) if isinstance(error, dict) else ""
        entry.stopped.setdefault(group, name or "an exception")
    else:
        raise Undecodable("unknown event")


def _end(record: dict) -> CellEnd:
    error, name, timeout = record.get("error"), None, False
    if isinstance(error, dict):
        name = storable(error.get("ename"), MAX_NAME_CHARS) or "an exception"
        timeout = error.get("timeout") is True
    elif error is not None:
        raise Undecodable("bad error")
    dropped = record.get("dropped", 0)
    dropped = dropped if isinstance(dropped, int) and 0 <= dropped < 2**62 else 0
    output = storable(record.get("output", ""), limits.CELL_OUTPUT_CHARS)
    return CellEnd(name, timeout, output, dropped)


def check_record(record: dict) -> CheckRecord:
    """One check, validated; the reference's records (trusted) go through here too."""
    kind, number = record.get("kind"), record.get("number")
    if kind not in KINDS or not (isinstance(number, int) and 0 < number < 10**6):
        raise Undecodable("bad check")
    if kind == "raises":
        raised = record.get("raised")
        if raised is not None:
            if not isinstance(raised, list) or len(raised) > 64:
                raise Undecodable("bad raised")
            raised = tuple(storable(name, MAX_NAME_CHARS) for name in raised)
        expected = storable(record.get("expected", ""), MAX_NAME_CHARS)
        return CheckRecord(kind, number, expected=expected, raised=raised)
    rtol, atol = _tolerance(record.get("rtol")), _tolerance(record.get("atol"))
    try:
        value, decodable = decode(record.get("value")), True
    except Undecodable:
        value, decodable = None, False
    return CheckRecord(kind, number, value, decodable, rtol, atol)


def _tolerance(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e300 else math.inf
        if number >= 0:
            return number
    raise Undecodable("bad tolerance")


def decode(value: object, depth: int = 0) -> Value:
    """A recorded value as Python, within the bounds; Undecodable if it is not one."""
    if depth >= limits.RECORDED_DEPTH or not isinstance(value, dict):
        raise Undecodable("not a recorded value")
    kind, content = value.get("t"), value.get("v")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(content, bool):
        return content
    if kind == "int" and isinstance(content, str) and len(content) <= MAX_INT_DIGITS:
        try:
            return int(content)
        except ValueError:
            raise Undecodable("bad int") from None
    if kind == "float" and isinstance(content, int | float) and not isinstance(content, bool):
        if isinstance(content, int) and abs(content) > 2**1023:
            raise Undecodable("bad float")
        return float(content)
    if kind == "str" and isinstance(content, str):
        return storable(content, limits.RECORDED_TEXT_CHARS)
    if kind == "seq" and isinstance(content, list) and len(content) <= limits.RECORDED_ITEMS:
        if value.get("n") != len(content):
            return Opaque("a very long sequence")
        return [decode(item, depth + 1) for item in content]
    if kind == "array":
        return _array(value)
    if kind == "object":
        return Opaque(storable(value.get("type", "object"), 80) or "object")
    raise Undecodable("unknown kind")


def _array(value: dict) -> np.ndarray:
    dtype, shape, data = value.get("dtype"), value.get("shape"), value.get("data")
    if not (isinstance(dtype, str) and NUMERIC_DTYPE.match(dtype)):
        raise Undecodable("bad dtype")
    if not (isinstance(shape, list) and len(shape) <= limits.RECORDED_DIMENSIONS):
        raise Undecodable("bad shape")
    size = 1
    for n in shape:
        if not (
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= limits.RECORDED_ELEMENTS
        ):
            raise Undecodable("bad shape")
        size *= n
        if size > limits.RECORDED_ELEMENTS:
            raise Undecodable("array too large")
    array_dtype = np.dtype(dtype)
    if not isinstance(data, str) or len(data) > 4 * (size * array_dtype.itemsize // 3 + 2):
        raise Undecodable("bad data")
    try:
        raw = base64.b64decode(data, validate=True)
    except (ValueError, binascii.Error):
        raise Undecodable("bad data") from None
    if len(raw) != array_dtype.itemsize * size:
        raise Undecodable("array data does not match its shape")
    return np.frombuffer(raw, dtype=array_dtype).reshape(shape)
