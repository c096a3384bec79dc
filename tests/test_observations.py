"""The trusted comparisons agree with the notebooks' own test helpers, case by case.

Each case is run twice: through the helper a student sees (`check_close` etc. from the locked
setup cell) and through the sandbox's recording + the grader's comparison. Both must pass or
both must fail, so a student who passes the visible tests locally is graded the same way.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
from helpers.assignment import source_notebooks

from autograder.grading.events import check_record, decode
from autograder.grading.observations import Incomparable, compare
from autograder.sandbox.inside import runner as sandbox_runner


def helpers() -> dict:
    setup = next(
        cell
        for cell in nbformat.read(source_notebooks()[0], as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"
    )
    namespace: dict = {}
    exec(setup.source, namespace)  # noqa: S102 - the course's own locked cell
    return namespace


def recorded(value) -> dict:
    """A value as it leaves the sandbox: encoded, then through JSON."""
    return json.loads(json.dumps(sandbox_runner.encode(value)))


def check(record: dict) -> object:
    """A recorded check as the grader reads it (number 1 unless given)."""
    return check_record({"event": "check", "cell": 0, "number": 1} | record)


def helper_passes(name: str, *args, **kwargs) -> bool:
    try:
        helpers()[name](*args, **kwargs)
    except AssertionError:
        return False
    return True


CLOSE = [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), 1e-7, 0.0),
    (np.array([1.0, 2.0]), np.array([1.0, 2.1]), 1e-7, 0.0),
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), 1e-7, 0.0),  # shape
    (np.float32(0.1), 0.1, 1e-6, 0.0),
    (np.float32(0.1), 0.1, 1e-12, 0.0),
    ([np.zeros(2), np.ones(3)], [np.zeros(2), np.ones(3)], 1e-9, 0.0),
    ([np.zeros(2), np.ones(3)], [np.zeros(2), np.full(3, 1.1)], 1e-9, 0.0),
    ((1.0, 2.0), (1.0, 2.0 + 1e-6), 1e-5, 1e-7),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 1e-7, 0.0),
    (np.array([1e-300]), np.array([0.0]), 1e-8, 1e-300),
    (np.array([2e-300]), np.array([0.0]), 1e-8, 1e-300),
    ("text", np.array([1.0]), 1e-7, 0.0),
    (None, np.array([1.0]), 1e-7, 0.0),
    (np.array([1.0, 2.0]), [1.0, 2.0], 1e-7, 0.0),  # an array against a list literal
]


@pytest.mark.parametrize("actual, expected, rtol, atol", CLOSE)
def test_check_close_is_judged_the_same_inside_and_outside_the_sandbox(
    actual, expected, rtol, atol
):
    try:
        student = check({"kind": "close", "value": recorded(actual), "rtol": rtol, "atol": atol})
        reference = check(
            {"kind": "close", "value": recorded(expected), "rtol": rtol, "atol": atol}
        )
        graded = compare(student, reference) is None
    except Incomparable:
        graded = False
    assert graded == helper_passes("check_close", actual, expected, rtol=rtol, atol=atol)


EQUAL = [
    (np.bool_(True), True),
    (None, False),  # None is not an answer to a yes/no question
    (1, True),
    (np.int64(22), 22),
    (22.0, 22),
    (np.arange(3.0), [0.0, 1.0, 2.0]),
    (np.arange(3.0), [0.0, 1.0, 2.5]),
    ([1, None], [1, None]),
    ([1, 2], [1, 2, 3]),
    ((3, 4), (3, 4)),
    ([np.arange(2)], [np.arange(2)]),
]


@pytest.mark.parametrize("actual, expected", EQUAL)
def test_check_equal_is_judged_the_same_inside_and_outside_the_sandbox(actual, expected):
    student = check({"kind": "equal", "value": recorded(actual), "rtol": 0, "atol": 0})
    reference = check({"kind": "equal", "value": recorded(expected), "rtol": 0, "atol": 0})
    assert (compare(student, reference) is None) == helper_passes("check_equal", actual, expected)


def test_raises_is_judged_by_the_reference_exception_name():
    reference = check({"kind": "raises", "expected": "ValueError"})
    assert compare(check({"kind": "raises", "raised": ["ValueError"]}), reference) is None
    for raised in (None, ["TypeError", "Exception"]):
        assert compare(check({"kind": "raises", "raised": raised}), reference)


def test_a_record_out_of_order_fails():
    reference = check({"kind": "equal", "number": 2, "value": recorded(1), "rtol": 0, "atol": 0})
    assert compare(check({"kind": "equal", "value": recorded(1), "rtol": 0, "atol": 0}), reference)


@pytest.mark.parametrize(
    "forged",
    [
        {"t": "array", "dtype": "|O", "shape": [1], "data": ""},
        {"t": "array", "dtype": "<f8", "shape": [4], "data": "AAAAAAAAAAA="},
        {"t": "array", "dtype": "<f8", "shape": [-1], "data": ""},
        {"t": "pickle", "v": "gASVAAAAAAAAAAA="},
        {"t": "int", "v": "1e9999"},
        "not even a dict",
    ],
)
def test_forged_records_are_rejected_not_unpickled(forged):
    with pytest.raises(ValueError):
        decode(forged)
