"""Compare what a submission's probes recorded with what the reference solution's recorded.

This is the trusted half of every check: the values were decoded under bounds by `events.py`
and are compared here with the semantics of the notebook's own `check_close`, `check_equal` and
`check_raises` helpers, using the tolerances the reference run recorded (the student's kernel
cannot change them).

A mismatch's reason is shown to the student, so it says what was checked in fixed words and
never an expected value. What it tells of the student's own value is bounded too (a small
shape, a count), so that nothing a student's code computes can carry text out through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.grading.events import CheckRecord, Opaque, Value
from autograder.text import exception_name

NUMERIC_KINDS = "biuf"
SHOWN_DIMENSION = 64  # a dimension of the student's array named in a reason, at most
SHOWN_DIMENSIONS = 4


class Incomparable(ValueError):
    """The reference recorded a value its own check cannot compare (a fault of the tests)."""


@dataclass(frozen=True)
class Mismatch:
    """Why a check failed, in words safe for a student to read (no expected values)."""

    reason: str


def _as_array(value: Value) -> np.ndarray | None:
    if isinstance(value, Opaque | str) or value is None:
        return None
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged sequence
        return None
    return array if array.dtype.kind in NUMERIC_KINDS else None


def _shape(shape: tuple[int, ...]) -> str:
    """A student's array shape, named only while it is small (it is theirs to choose)."""
    if len(shape) <= SHOWN_DIMENSIONS and all(n <= SHOWN_DIMENSION for n in shape):
        return str(shape)
    return f"a larger array of {min(len(shape), 99)} dimensions"


def _describe(value: Value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {_shape(value.shape)}"
    if isinstance(value, list):
        return f"a sequence of {_count(len(value))} items"
    if isinstance(value, Opaque):
        return "an object that is not numbers"
    return {type(None): "None", bool: "a bool", int: "an int", float: "a float", str: "a str"}.get(
        type(value), "another value"
    )


def _count(number: int) -> str:
    return str(number) if number <= 10_000 else "more than 10,000"


def compare_close(actual: Value, expected: Value, rtol: float, atol: float) -> Mismatch | None:
    """`check_close`: same shape, |actual - expected| <= atol + rtol * |expected| everywhere."""
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return Mismatch(
                f"expected a sequence of {len(expected)} items, got {_count(len(actual))}"
            )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if mismatch := compare_close(a, e, rtol, atol):
                return Mismatch(f"item {i}: {mismatch.reason}")
        return None
    a, e = _as_array(actual), _as_array(expected)
    if e is None:
        raise Incomparable("the reference recorded a value check_close cannot compare")
    if a is None:
        return Mismatch(f"expected numbers, got {_describe(actual)}")
    if a.shape != e.shape:
        return Mismatch(f"wrong shape: got {_shape(a.shape)}, expected {e.shape}")
    with np.errstate(all="ignore"):
        close = np.isclose(a.astype(np.float64), e.astype(np.float64), rtol, atol, equal_nan=True)
    if not close.all():
        wrong = int((~close).sum())
        return Mismatch(f"{wrong} of {close.size} values differ by more than the tolerance")
    return None


def compare_equal(actual: Value, expected: Value) -> Mismatch | None:
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
            raise Incomparable("the reference recorded a value check_equal cannot compare")
        if a is None:
            return Mismatch(f"expected an array, got {_describe(actual)}")
        if a.shape != e.shape:
            return Mismatch(f"wrong shape: got {_shape(a.shape)}, expected {e.shape}")
        if not np.array_equal(a, e):
            return Mismatch(f"{int((a != e).sum())} of {e.size} values differ")
        return None
    if type(actual) is not type(expected):
        return Mismatch(f"expected {_describe(expected)}, got {_describe(actual)}")
    if actual != expected:
        return Mismatch("wrong value")
    return None


def compare_raises(
    raised: tuple[str, ...] | None, expected: str, known: frozenset[str] = frozenset()
) -> Mismatch | None:
    """`check_raises`; the exception raised instead is named only if the grader knows it."""
    if raised is None:
        return Mismatch(f"expected {expected} to be raised; the call returned")
    if expected not in raised:
        got = exception_name(raised[0] if raised else None, known)
        return Mismatch(f"expected {expected}, got {got}")
    return None


def compare(
    student: CheckRecord, reference: CheckRecord, known: frozenset[str] = frozenset()
) -> Mismatch | None:
    """Compare one recorded check of the student's run with the reference's; `known` are the
    exception names (beyond the built-in ones) a reason may name."""
    if student.kind != reference.kind or student.number != reference.number:
        return Mismatch("the tests did not run in their order")
    if reference.kind == "raises":
        return compare_raises(student.raised, reference.expected, known)
    if not student.decodable:
        return Mismatch("the result could not be read")
    if reference.kind == "close":
        return compare_close(student.value, reference.value, reference.rtol, reference.atol)
    return compare_equal(student.value, reference.value)
