"""Probes: the test cells as the sandbox runs them hold no expected value and no comparison."""

from __future__ import annotations

import ast

import nbformat
import pytest
from helpers.assignment import source_notebooks

from autograder.errors import CourseError
from autograder.grading.probes import RECORDER, probe


def graded_test_cells() -> dict[str, str]:
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for path in source_notebooks()
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    }


@pytest.mark.parametrize("grade_id", sorted(graded_test_cells()))
def test_a_probe_keeps_the_calls_but_no_expected_value(grade_id):
    source = graded_test_cells()[grade_id]
    found = probe(source, grade_id)
    tree = ast.parse(found.code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not {n for n in names if n.startswith("_expected")}
    assert not names & {"check_close", "check_equal", "check_raises"}
    recorded = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == RECORDER
    ]
    assert len(recorded) == len(found.checks) == source.count("check_")
    for call in recorded:  # (kind, number, actual, expected=None, …) or (…, exception, function)
        kind = call.args[0].value
        if kind != "raises":
            assert isinstance(call.args[3], ast.Constant) and call.args[3].value is None
    # the reference implementations hidden in the tests are gone
    for banned in ("np.linalg.svd", "tf.linalg.global_norm", "count_params", "einsum"):
        assert banned not in found.code
    hidden = [c for c in found.checks if c.hidden]
    assert hidden and len(hidden) < len(found.checks), "visible and hidden checks both exist"


def test_a_probe_reports_visible_labels_only():
    found = probe(
        'check_equal(f(1), 2, label="one")\n### BEGIN HIDDEN TESTS\n'
        'check_equal(f(3), 4, label="secret")\n### END HIDDEN TESTS\n'
    )
    assert [(c.hidden, c.label) for c in found.checks] == [(False, "one"), (True, None)]


def test_a_test_that_computes_expected_values_outside_the_checks_is_refused():
    leaky = "for _x in _expected_inputs():\n    check_equal(f(_x), 1)\n"
    with pytest.raises(CourseError, match="_expected"):
        probe(leaky, "test_leaky")


def test_a_test_without_checks_is_refused():
    with pytest.raises(CourseError, match="no check_close"):
        probe("assert f(1) == 2\n", "test_plain_assert")
