"""Compare what a submission's probes recorded with what the reference solution's recorded.

This is the trusted half of every check: the values come out of the sandbox as data (never as
pickles or code), are decoded strictly, and are compared here with the semantics of the
notebook's own `check_close`, `check_equal` and `check_raises` helpers, using the tolerances
the reference run recorded (the student's kernel cannot change them).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np

MAX_DEPTH = 20
NUMERIC_KINDS = "biuf"


class Undecodable(ValueError):
    """A recorded value that is not one of the shapes the runner writes."""


@dataclass(frozen=True)
class Mismatch:
    """Why a check failed, in words safe for a student to read (no expected values)."""

    reason: str


def decode(value: object, depth: int = 0) -> object:
    """A recorded value as Python: None, bool, int, float, str, list, ndarray or Opaque."""
    if depth > MAX_DEPTH or not isinstance(value, dict):
        raise Undecodable("not a recorded value")
    kind = value.get("t")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value.get("v"), bool):
        return value["v"]
    if kind == "int" and isinstance(value.get("v"), str):
        try:
            return int(value["v"])
        except ValueError:
            raise Undecodable("bad int") from None
    if kind == "float" and isinstance(value.get("v"), int | float):
        return float(value["v"])
    if kind == "str" and isinstance(value.get("v"), str):
        return value["v"]
    if kind == "seq" and isinstance(value.get("v"), list):
        if value.get("n") != len(value["v"]):
            return Opaque("a very long sequence")
        return [decode(item, depth + 1) for item in value["v"]]
    if kind == "array":
        return _decode_array(value)
    if kind == "object":
        return Opaque(str(value.get("type", "object"))[:80])
    raise Undecodable(f"unknown kind {kind!r}")


@dataclass(frozen=True)
class Opaque:
    """A value the runner could not record (an arbitrary object)."""

    type_name: str


def _decode_array(value: dict) -> np.ndarray:
    try:
        dtype = np.dtype(value["dtype"])
        shape = tuple(int(n) for n in value["shape"])
        data = base64.b64decode(value["data"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Undecodable("bad array") from None
    if dtype.kind not in NUMERIC_KINDS or any(n < 0 for n in shape):
        raise Undecodable("bad array dtype or shape")
    if len(data) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise Undecodable("array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _as_array(value: object) -> np.ndarray | None:
    if isinstance(value, Opaque | str) or value is None:
        return None
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged sequence
        return None
    return array if array.dtype.kind in NUMERIC_KINDS else None


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, list):
        return f"a sequence of {len(value)} items"
    if isinstance(value, Opaque):
        return f"a {value.type_name}"
    return type(value).__name__


def compare_close(actual: object, expected: object, rtol: float, atol: float) -> Mismatch | None:
    """`check_close`: same shape, |actual - expected| <= atol + rtol * |expected| everywhere."""
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return Mismatch(f"expected a sequence of {len(expected)} items, got {len(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if mismatch := compare_close(a, e, rtol, atol):
                return Mismatch(f"item {i}: {mismatch.reason}")
        return None
    a, e = _as_array(actual), _as_array(expected)
    if e is None:
        raise Undecodable("the reference recorded a value check_close cannot compare")
    if a is None:
        return Mismatch(f"expected numbers, got {_describe(actual)}")
    if a.shape != e.shape:
        return Mismatch(f"wrong shape: got {a.shape}, expected {e.shape}")
    with np.errstate(all="ignore"):
        close = np.isclose(a.astype(np.float64), e.astype(np.float64), rtol, atol, equal_nan=True)
    if not close.all():
        wrong = int((~close).sum())
        return Mismatch(f"{wrong} of {close.size} values differ by more than the tolerance")
    return None


def compare_equal(actual: object, expected: object) -> Mismatch | None:
    """`check_equal`: exactly equal; NumPy bools and ints count as bool and int."""
    if isinstance(expected, list) and not isinstance(actual, np.ndarray):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return Mismatch(
                f"expected a sequence of {len(expected)} items, got {_describe(actual)}"
            )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if mismatch := compare_equal(a, e):
                return Mismatch(f"item {i}: {mismatch.reason}")
        return None
    if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray | list):
        a, e = _as_array(actual), _as_array(expected)
        if e is None:
            raise Undecodable("the reference recorded a value check_equal cannot compare")
        if a is None:
            return Mismatch(f"expected an array, got {_describe(actual)}")
        if a.shape != e.shape:
            return Mismatch(f"wrong shape: got {a.shape}, expected {e.shape}")
        if not np.array_equal(a, e):
            return Mismatch(f"{int((a != e).sum())} of {e.size} values differ")
        return None
    if type(actual) is not type(expected):
        return Mismatch(f"expected a {type(expected).__name__}, got {_describe(actual)}")
    if actual != expected:
        return Mismatch("wrong value")
    return None


def compare_raises(raised: object, expected_name: str) -> Mismatch | None:
    if raised is None:
        return Mismatch(f"expected {expected_name} to be raised; the call returned")
    if not isinstance(raised, list) or expected_name not in raised:
        name = raised[0] if isinstance(raised, list) and raised else "another exception"
        return Mismatch(f"expected {expected_name}, got {str(name)[:40]}")
    return None


def compare(student: dict, reference: dict) -> Mismatch | None:
    """Compare one recorded check of the student's run with the reference's."""
    kind = reference["kind"]
    if student.get("kind") != kind or student.get("number") != reference["number"]:
        return Mismatch("the tests did not run in their order")
    if kind == "raises":
        return compare_raises(student.get("raised"), reference["expected"])
    expected = decode(reference["value"])
    try:
        actual = decode(student.get("value"))
    except Undecodable:
        return Mismatch("the result could not be read")
    if kind == "close":
        return compare_close(actual, expected, reference["rtol"], reference["atol"])
    return compare_equal(actual, expected)
