"""The judge: one notebook's scores from its run's records and the reference's. Pure: no I/O.

Every task is decided here, outside the sandbox, from records that `events.py` parsed under
bounds: a group of a test cell's checks (the whole cell, if it has no groups) earns its points if
each of its checks recorded what the reference's did (within the reference's tolerances), in
order, and none of its statements stopped on an exception; a task scores the sum of its groups.
Reasons are in fixed words; an exception's name is shown only if the grader knows it
(`text.exception_name`). Whatever the records hold, judging never raises for them: the caller
turns any failure into "could not be graded" for this one notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.grading.events import CellEvents, CheckRecord, RunEvents
from autograder.grading.jobs import JobCell
from autograder.grading.observations import Incomparable, compare
from autograder.grading.plan import NotebookPlan, Task
from autograder.grading.probes import Group
from autograder.text import exception_name


@dataclass
class GroupResult:
    """One group of a task's checks: its points, and why it failed if it did."""

    name: str | None  # None: the task has no named groups
    score: float
    max_score: float
    reason: str  # "passed", or why not, in words safe for the student
    failed_check: int | None = None
    hidden: bool = False  # the failed check is a hidden one


@dataclass
class TaskResult:
    grade_id: str
    score: float
    max_score: float
    reason: str  # "passed", or why its first failed group failed
    failed_check: int | None = None
    hidden: bool = False
    groups: list[GroupResult] = field(default_factory=list)


@dataclass
class NotebookResult:
    notebook: str
    problems: list[str] = field(default_factory=list)  # grading problems: crash, timeout, …
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # answer grade_id → exception name
    outputs: dict[int, str] = field(default_factory=dict)  # job cell index → text output
    seconds: float = 0.0


@dataclass(frozen=True)
class Run:
    """What the judge needs of a sandboxed run besides its records."""

    ending: str  # how it ended, to follow "the kernel …"
    seconds: float = 0.0
    ignored: int = 0  # report lines outside the schema


class ReferenceFailed(Exception):
    """The reference solution fails its own tests: a fault of the assignment, not a student's."""


def reference_records(
    plan: NotebookPlan, cells: list[JobCell], events: RunEvents, run: Run
) -> dict[str, list[CheckRecord]]:
    """The reference's records per test cell; the reference must pass all of its own tests."""
    records = {}
    for index, cell in enumerate(cells):
        entry = events.cell(index)
        end = entry.end
        if end is None or end.error:
            why = (end.error if end else None) or f"the kernel {run.ending}"
            raise ReferenceFailed(
                f"the reference solution of {plan.name} fails at cell {cell.grade_id or index}: "
                f"{why}; the tests or the sandbox limits need fixing"
            )
        if entry.stopped:
            raise ReferenceFailed(
                f"the reference solution of {plan.name} stops a group of checks of "
                f"{cell.grade_id or index} on {next(iter(entry.stopped.values()))}; the tests "
                "need fixing"
            )
        if cell.kind == "test" and cell.grade_id:
            records[cell.grade_id] = entry.checks
    return records


def judge(
    plan: NotebookPlan,
    cells: list[JobCell],
    events: RunEvents,
    reference: dict[str, list[CheckRecord]],
    run: Run,
) -> NotebookResult:
    """Scores of one notebook's tasks from its run, compared with the reference records."""
    result = NotebookResult(plan.name, seconds=run.seconds)
    stopped_at = None
    for index, cell in enumerate(cells):
        entry = events.cell(index)
        end = entry.end
        if end is not None:
            if end.output:
                result.outputs[index] = end.output
            if end.dropped > 0:
                result.problems.append(
                    f"cell {cell.grade_id or index} printed {end.dropped:,} characters too many "
                    "(output cut)"
                )
            if end.error is not None:
                if end.timeout:
                    result.problems.append(f"cell {cell.grade_id or index} timed out")
                if cell.kind in ("answer", "helper") and cell.grade_id:
                    name = exception_name(end.error, plan.known_names)
                    result.errors.setdefault(cell.grade_id, name)
        elif stopped_at is None:
            stopped_at = cell
        if cell.kind != "test" or cell.grade_id is None:
            continue
        task = plan.tasks[cell.grade_id]
        result.tasks[task.grade_id] = verdict(task, entry, reference[task.grade_id], run, plan)
    if stopped_at is not None:
        where = stopped_at.grade_id or "a setup cell"
        result.problems.append(f"the kernel {run.ending} during {where}; later cells did not run")
    if events.ignored:
        result.problems.append(f"{events.ignored:,} report lines could not be read (ignored)")
    if events.truncated:
        result.problems.append("the run reported more lines than the limit (the rest ignored)")
    return result


def verdict(
    task: Task,
    entry: CellEvents,
    reference: list[CheckRecord],
    run: Run,
    plan: NotebookPlan,
) -> TaskResult:
    """One test cell's result: the points of the groups it passed, and why the others failed."""
    groups = task.groups or (Group(None, task.points),)
    if not entry.started:
        why = f"the tests did not run: the kernel {run.ending} before them"
        results = [GroupResult(g.name, 0.0, g.points or 0.0, why) for g in groups]
    elif any(not 0 < c.number <= len(task.checks) for c in entry.checks):
        why = "more results than the tests make"
        results = [GroupResult(g.name, 0.0, g.points or 0.0, why) for g in groups]
    else:
        results = [
            _group_verdict(
                task,
                number,
                [c for c in entry.checks if task.checks[c.number - 1].group == number],
                [r for r in reference if task.checks[r.number - 1].group == number],
                entry,
                run,
                plan,
            )
            for number in range(len(groups))
        ]
    failed = next((g for g in results if g.reason != "passed"), None)
    return TaskResult(
        task.grade_id,
        sum(g.score for g in results),
        task.points,
        failed.reason if failed else "passed",
        failed.failed_check if failed else None,
        failed.hidden if failed else False,
        results,
    )


def _group_verdict(
    task: Task,
    number: int,
    checks: list[CheckRecord],
    reference: list[CheckRecord],
    entry: CellEvents,
    run: Run,
    plan: NotebookPlan,
) -> GroupResult:
    group = (task.groups or (Group(None, task.points),))[number]
    points = group.points or 0.0

    def fail(reason: str, check: int | None = None) -> GroupResult:
        hidden = check is not None and task.checks[check - 1].hidden
        return GroupResult(group.name, 0.0, points, reason, check, hidden)

    end = entry.end
    for position, expected in enumerate(reference):
        if position >= len(checks):
            break
        try:
            mismatch = compare(checks[position], expected, plan.known_names)
        except Incomparable:
            return fail("a check's result could not be read", expected.number)
        if mismatch:
            return fail(mismatch.reason, expected.number)
    stopped = entry.stopped.get(number)
    if len(checks) < len(reference):
        check = reference[len(checks)].number
        if stopped is not None:
            why = f"the tests stopped: {exception_name(stopped, plan.known_names)}"
        elif end is None:
            why = f"the kernel {run.ending}"
        elif end.error is not None:
            cause = (
                "the test cell timed out"
                if end.timeout
                else exception_name(end.error, plan.known_names)
            )
            why = f"the tests stopped: {cause}"
        else:
            why = "the tests stopped early"
        return fail(f"{why} (at check {check})", check)
    if len(checks) > len(reference):
        return fail("more results than the tests make")
    if stopped is not None:
        return fail(
            f"the tests stopped after the last check: {exception_name(stopped, plan.known_names)}"
        )
    if group.name is None and (end is None or end.error is not None):
        return fail("the test cell did not finish")  # a cell without groups must run to its end
    return GroupResult(group.name, points, points, "passed")
