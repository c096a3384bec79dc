"""Partial credit: a test cell's checks in named groups, each earning its points on its own.

The probe is run here in-process with the sandbox runner's own recorders, on answers that are
right, partly right, or that raise or stop in one group; the judge must then give each group
its points or its reason, and never let a failure in one group cost another. Malformed groups
are refused when the assignment is planned, with a message that says how to write them.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from autograder.errors import CourseError
from autograder.grading.events import parse
from autograder.grading.jobs import JobCell
from autograder.grading.judge import Run, judge, reference_records
from autograder.grading.plan import NotebookPlan, Task, _groups
from autograder.grading.probes import GROUP_STOPPED, RECORDER, probe
from autograder.sandbox.inside.runner import recorders

TEST_CELL = """\
group("shapes", 1)
check_equal(np.shape(f(1.0)), (2,), label="the shape")

group("values", 2)
check_close(f(1.0), [1.0, 2.0], label="f(1)")
### BEGIN HIDDEN TESTS
group("values")
for _x in (2.0, 3.0):
    check_close(f(_x), _expected_f(_x))

group("shapes")
check_raises(ValueError, f, -1.0)
### END HIDDEN TESTS
"""


def reference_f(x):
    if x < 0:
        raise ValueError("negative")
    return np.array([x, 2 * x])


def task_and_plan(source: str = TEST_CELL, points: float = 3.0) -> tuple[Task, NotebookPlan]:
    found = probe(source, "test_f")
    task = Task(
        "test_f", "nb", points, "f", found.code, found.checks, _groups(found.groups, points, "t")
    )
    return task, NotebookPlan("nb", nbformat.v4.new_notebook(), {"test_f": task}, ("f",), ())


def run_probe(code: str, f, *, stop_after: int | None = None) -> bytes:
    """The event stream of the probe run with answer `f`, as the sandbox's runner writes it;
    `stop_after`: the run ends (a crash or time limit) after that many events."""
    lines: list[str] = []
    current = {"cell": 0}

    def emit(event):
        lines.append(json.dumps(event))

    record, stopped = recorders(emit, current)
    emit({"event": "start", "cell": 0})
    error = None
    try:
        exec(code, {"np": np, "f": f, RECORDER: record, GROUP_STOPPED: stopped})
    except Exception as failure:  # noqa: BLE001 - as the runner reports it
        error = {"ename": type(failure).__name__, "timeout": False}
    emit({"event": "end", "cell": 0, "error": error, "output": "", "dropped": 0, "seconds": 0.1})
    if stop_after is not None:
        lines = lines[:stop_after]
    return "\n".join(lines).encode()


def verdict_of(f, *, stop_after: int | None = None, source: str = TEST_CELL, points: float = 3.0):
    task, plan = task_and_plan(source, points)
    cells = [JobCell("test", "test_f", task.code)]
    reference = reference_records(plan, cells, parse(run_probe(task.code, reference_f), 1), Run(""))
    events = parse(run_probe(task.code, f, stop_after=stop_after), 1)
    return judge(plan, cells, events, reference, Run("died")).tasks["test_f"]


def groups(result) -> dict[str, tuple[float, str]]:
    return {g.name: (g.score, g.reason) for g in result.groups}


def test_the_reference_earns_every_group():
    result = verdict_of(reference_f)
    assert (result.score, result.reason) == (3.0, "passed")
    assert groups(result) == {"shapes": (1.0, "passed"), "values": (2.0, "passed")}


def test_right_shapes_with_wrong_values_earn_the_shapes_group_only():
    result = verdict_of(lambda x: reference_f(x) + (0.5 if x > 1 else 0.0))  # hidden values wrong
    assert result.score == 1.0
    score, reason = groups(result)["values"]
    assert score == 0 and reason == "2 of 2 values differ by more than the tolerance"
    failed = next(g for g in result.groups if g.name == "values")
    assert failed.hidden and failed.failed_check == 3  # the first hidden check_close


def test_an_exception_stops_only_its_own_group():
    def no_check_of_the_sign(x):
        return np.array([x, 2 * x])  # never raises ValueError

    result = verdict_of(no_check_of_the_sign)
    assert result.score == 2.0
    assert groups(result)["shapes"] == (0.0, "expected ValueError to be raised; the call returned")

    def raises_for_large_inputs(x):
        if x > 2.5:
            raise OverflowError("too large")
        return reference_f(x)

    result = verdict_of(raises_for_large_inputs)
    assert result.score == 1.0  # the shapes group, after the stopped values group, still ran
    score, reason = groups(result)["values"]
    assert score == 0 and reason == "the tests stopped: OverflowError (at check 3)"


def test_a_run_that_ends_midway_keeps_the_groups_it_completed():
    # the visible shapes and values checks, then the run dies inside the hidden values group
    result = verdict_of(reference_f, stop_after=4)
    assert groups(result)["values"][0] == 0
    assert "the kernel died" in groups(result)["values"][1]
    assert groups(result)["shapes"][0] == 0  # its hidden check never ran
    result = verdict_of(reference_f, stop_after=0)
    assert result.score == 0 and "did not run" in result.reason


def test_forged_records_earn_nothing():
    task, plan = task_and_plan()
    cells = [JobCell("test", "test_f", task.code)]
    reference = reference_records(plan, cells, parse(run_probe(task.code, reference_f), 1), Run(""))
    honest = run_probe(task.code, reference_f).split(b"\n")
    forged = b"\n".join(
        [
            *honest[:-1],
            json.dumps(
                {
                    "event": "check",
                    "cell": 0,
                    "kind": "equal",
                    "number": 99,
                    "value": {"t": "none"},
                    "rtol": 0,
                    "atol": 0,
                }
            ).encode(),
            honest[-1],
        ]  # fmt: skip
    )
    result = judge(plan, cells, parse(forged, 1), reference, Run("died")).tasks["test_f"]
    assert result.score == 0 and result.reason == "more results than the tests make"
    # a forged "stopped" event only costs its own group
    stop = json.dumps({"event": "stopped", "cell": 0, "group": 0, "error": {"ename": "X"}})
    stopped = b"\n".join([*honest[:-1], stop.encode(), honest[-1]])
    result = judge(plan, cells, parse(stopped, 1), reference, Run("died")).tasks["test_f"]
    assert groups(result)["shapes"][0] == 0 and groups(result)["values"][0] == 2


def test_a_cell_without_groups_is_one_group_worth_all_its_points():
    source = "check_equal(np.shape(f(1.0)), (2,))\ncheck_close(f(1.0), [1.0, 2.0])\n"
    task, _ = task_and_plan(source, 2.0)
    assert [(g.name, g.points) for g in task.groups] == [(None, 2.0)]
    assert verdict_of(lambda x: reference_f(x) * 2, source=source, points=2.0).score == 0
    assert verdict_of(reference_f, source=source, points=2.0).score == 2.0


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('group("a", 1)\ncheck_equal(f(1), 1)\ngroup("a", 1)\ncheck_equal(f(2), 2)\n', "twice"),
        ('group("a")\ncheck_equal(f(1), 1)\n', "before it is declared"),
        ('check_equal(f(0), 0)\ngroup("a", 1)\ncheck_equal(f(1), 1)\n', "before the first group"),
        ('group("a", 1)\ncheck_equal(f(1), 1)\ngroup("b", 1)\nx = 1\n', "'b' has no check"),
        ('group("a", 1)\nif True:\n    group("b", 1)\ncheck_equal(f(1), 1)\n', "own at the top"),
        ('group("a", n)\ncheck_equal(f(1), 1)\n', "literal values"),
        ('group("a", -1)\ncheck_equal(f(1), 1)\n', "positive number of points"),
        # an assert decides a group only through the kernel, where an answer can switch it off
        ('group("a", 1)\ncheck_equal(f(1), 1)\nassert f(2) == 4\n', "not an assert"),
        (
            'group("a", 1)\ncheck_equal(f(1), 1)\n### BEGIN HIDDEN TESTS\n'
            'group("b", 1)\ncheck_equal(f(2), 2)\n### END HIDDEN TESTS\n',
            "declared in the hidden tests",
        ),
        (
            'group("a", 1)\ncheck_equal(f(1), 1)\n### BEGIN HIDDEN TESTS\n'
            "check_equal(f(2), 2)\n### END HIDDEN TESTS\n",
            "begin the hidden tests with group",
        ),
    ],
)
def test_malformed_groups_are_refused_with_how_to_write_them(source, message):
    with pytest.raises(CourseError, match=message):
        probe(source, "test_f")


def test_groups_must_add_up_to_the_cells_points():
    with pytest.raises(CourseError, match="worth 3 points in all, but the cell 2"):
        task_and_plan(TEST_CELL, 2.0)


def test_every_task_of_the_assignment_is_split_into_named_groups_stated_in_its_text():
    from helpers.assignment import source_notebooks

    from autograder.grading.plan import plan_notebook

    for path in source_notebooks():
        plan = plan_notebook(path)
        text = "\n".join(c.source for c in plan.source.cells if c.cell_type == "markdown")
        for task in plan.tasks.values():
            assert len(task.groups) >= 2 and all(g.name for g in task.groups), task.grade_id
            for group in task.groups:
                assert f"*{group.name}*" in text, f"{task.grade_id}: {group.name} not stated"
            # each group is checked in the visible tests too, so students see what earns points
            visible = {task.checks[c.number - 1].group for c in task.checks if not c.hidden}
            assert visible == set(range(len(task.groups))), task.grade_id
