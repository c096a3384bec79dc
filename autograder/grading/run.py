"""Grade a class: every submission run in its own sandbox, in parallel, judged by trusted code.

For each submitted notebook the grader builds, from the *source* notebook, the cells to run:
the locked cells as the instructor wrote them, the student's answer cells (found by grade_id,
with any helper cells the student put directly above them) and, for every test cell, its probe
(`probes.py`). Edited, deleted, reordered, duplicated or added test cells, edited metadata or
checksums, fake outputs and fake result files in the submission therefore change nothing: none
of them is read. The probes run in a sandbox (`sandbox.py`); their records are compared with the
reference solution's records (`observations.py`) here, outside it. Scores go into nbgrader's
gradebook, one row per student and graded cell, so nbgrader's formgrader, feedback and export
keep working; a student's grades are committed in one transaction, and a rerun after an
interruption grades only who is not done yet.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.grading.observations import Undecodable, compare
from autograder.grading.probes import Check, probe
from autograder.intake.submitted import check_student_id, submission_time, submitted_students
from autograder.sandbox import bubblewrap as sandbox
from autograder.sandbox.pool import Workers

log = logging.getLogger(__name__)

MAX_NOTEBOOK_BYTES = 100 * 1024**2
STATE_FILE = "grading.json"  # in autograded/<student>/<assignment>/: what was graded, how


# --- the assignment, from the trusted source notebooks ----------------------------------------


@dataclass(frozen=True)
class Task:
    """A test cell: its points and its probe."""

    grade_id: str
    notebook: str
    points: float
    answer: str | None  # the grade_id of the answer cell it tests (test_<answer>), if any
    code: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class NotebookPlan:
    name: str  # without .ipynb
    source: nbformat.NotebookNode
    tasks: dict[str, Task]
    answers: tuple[str, ...]  # grade_ids of the code answer cells
    written: tuple[str, ...]  # grade_ids of the manually graded markdown answers


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def plan_assignment(course: Course, assignment: str = ASSIGNMENT) -> list[NotebookPlan]:
    folder = course.folder("source", ".", assignment)
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise CourseError(f"no source notebooks of {assignment!r} in {folder}")
    plans = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        tasks, answers, written = {}, [], []
        for cell in notebook.cells:
            meta = _nbgrader(cell)
            grade_id = meta.get("grade_id")
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                found = probe(cell.source, f"{path.name}: {grade_id}")
                answer = grade_id.removeprefix("test_")
                tasks[grade_id] = Task(
                    grade_id=grade_id,
                    notebook=path.stem,
                    points=float(meta.get("points", 0)),
                    answer=answer if answer != grade_id else None,
                    code=found.code,
                    checks=found.checks,
                )
            elif cell.cell_type == "code" and meta.get("solution"):
                answers.append(grade_id)
            elif cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
                written.append(grade_id)
        plans.append(NotebookPlan(path.stem, notebook, tasks, tuple(answers), tuple(written)))
    return plans


# --- a submitted notebook, read defensively ---------------------------------------------------


@dataclass
class Answers:
    """What a submitted notebook contributes: answer code (with helper cells) and written text."""

    code: dict[str, list[str]] = field(default_factory=dict)  # grade_id → helpers + answer
    written: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_submission(path: Path) -> Answers:
    """The answers in a submitted notebook; CourseError (one line) if it cannot be read."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise CourseError(f"{path.name} is {size / 1024**2:.0f} MB, more than the limit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CourseError(f"{path.name} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CourseError(f"{path.name} is not valid JSON ({error})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        found = data.get("nbformat") if isinstance(data, dict) else None
        raise CourseError(f"{path.name} is not an nbformat 4 notebook (nbformat: {found!r})")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise CourseError(f"{path.name} has no list of cells")
    answers, helpers = Answers(), []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            continue
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbgrader = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        grade_id = nbgrader.get("grade_id")
        kind = cell.get("cell_type")
        if not grade_id:
            if kind == "code" and source.strip():
                helpers.append(source)  # the student's own cell: kept if it precedes an answer
            continue
        if nbgrader.get("solution") and kind == "code":
            if grade_id in answers.code:
                answers.notes.append(f"answer cell {grade_id} appears twice; the first is graded")
            else:
                answers.code[grade_id] = [*helpers, source]
        elif nbgrader.get("solution") and kind == "markdown":
            answers.written.setdefault(grade_id, source)
        helpers = []
    return answers


# --- running: jobs for the sandbox ------------------------------------------------------------


@dataclass(frozen=True)
class JobCell:
    kind: str  # setup, helper, answer or test
    grade_id: str | None
    source: str


def job_cells(plan: NotebookPlan, answers: Answers | None) -> list[JobCell]:
    """The cells to run, in the source notebook's order; None means the reference solution."""
    cells = []
    for cell in plan.source.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if grade_id in plan.tasks:
            cells.append(JobCell("test", grade_id, plan.tasks[grade_id].code))
        elif meta.get("solution"):
            if answers is None:
                cells.append(JobCell("answer", grade_id, cell.source))
            elif grade_id in answers.code:
                *helpers, answer = answers.code[grade_id]
                cells += [JobCell("helper", grade_id, h) for h in helpers]
                cells.append(JobCell("answer", grade_id, answer))
            else:
                missing = f"raise NameError('the answer cell {grade_id} is not in the notebook')"
                cells.append(JobCell("answer", grade_id, missing))
        else:
            cells.append(JobCell("setup", grade_id, cell.source))
    return cells


@dataclass
class TaskResult:
    grade_id: str
    score: float
    max_score: float
    reason: str  # "passed", or why not, in words safe for the student
    failed_check: int | None = None
    hidden: bool = False


@dataclass
class NotebookResult:
    notebook: str
    problems: list[str] = field(default_factory=list)  # grading problems: crash, timeout, …
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # answer grade_id → exception name
    outputs: dict[int, str] = field(default_factory=dict)  # job cell index → text output
    seconds: float = 0.0


def _cell_events(events: list[dict]) -> dict[int, dict]:
    """Events grouped by job cell index: {"started", "end", "checks"}."""
    cells: dict[int, dict] = {}
    for event in events:
        index = event.get("cell")
        if not isinstance(index, int):
            continue
        entry = cells.setdefault(index, {"started": False, "end": None, "checks": []})
        if event["event"] == "start":
            entry["started"] = True
        elif event["event"] == "end" and entry["end"] is None:
            entry["end"] = event
        elif event["event"] == "check":
            entry["checks"].append(event)
    return cells


def reference_records(plan: NotebookPlan, run: sandbox.RunResult) -> dict[str, list[dict]]:
    """The reference's records per test cell; the reference must pass all of its own tests."""
    cells = job_cells(plan, None)
    by_index = _cell_events(run.events)
    records = {}
    for index, cell in enumerate(cells):
        entry = by_index.get(index)
        end = entry and entry["end"]
        if not end or end.get("error"):
            why = (end or {}).get("error") or run.ending
            raise CourseError(
                f"the reference solution of {plan.name} fails at cell {cell.grade_id or index}: "
                f"{why}; the tests or the sandbox limits need fixing"
            )
        if cell.kind == "test":
            records[cell.grade_id] = entry["checks"]
    return records


def judge(
    plan: NotebookPlan,
    cells: list[JobCell],
    run: sandbox.RunResult,
    reference: dict[str, list[dict]],
) -> NotebookResult:
    """Scores of one notebook's tasks from its run, compared with the reference records."""
    result = NotebookResult(plan.name, seconds=run.seconds)
    by_index = _cell_events(run.events)
    stopped_at = None
    for index, cell in enumerate(cells):
        entry = by_index.get(index, {"started": False, "end": None, "checks": []})
        end = entry["end"]
        if end is not None:
            output = end.get("output")
            if isinstance(output, str) and output:
                result.outputs[index] = output[: sandbox.MAX_EVENT_BYTES]
            dropped = end.get("dropped")
            if isinstance(dropped, int) and dropped > 0:
                result.problems.append(
                    f"cell {cell.grade_id or index} printed {dropped:,} characters too many "
                    "(output cut)"
                )
            error = end.get("error")
            if isinstance(error, dict):
                name = str(error.get("ename", "an exception"))[:60]
                if error.get("timeout"):
                    result.problems.append(f"cell {cell.grade_id or index} timed out")
                if cell.kind in ("answer", "helper"):
                    result.errors.setdefault(cell.grade_id, name)
        elif stopped_at is None:
            stopped_at = cell
        if cell.kind != "test":
            continue
        task = plan.tasks[cell.grade_id]
        result.tasks[task.grade_id] = _verdict(task, entry, reference[task.grade_id], run)
    if stopped_at is not None:
        where = stopped_at.grade_id or "a setup cell"
        result.problems.append(f"the kernel {run.ending} during {where}; later cells did not run")
    return result


def _verdict(task: Task, entry: dict, reference: list[dict], run: sandbox.RunResult) -> TaskResult:
    def fail(reason: str, number: int | None = None) -> TaskResult:
        hidden = number is not None and task.checks[number - 1].hidden
        return TaskResult(task.grade_id, 0.0, task.points, reason, number, hidden)

    checks, end = entry["checks"], entry["end"]
    if not entry["started"]:
        return fail(f"the tests did not run: the kernel {run.ending} before them")
    for position, expected in enumerate(reference):
        if position >= len(checks):
            break
        try:
            mismatch = compare(checks[position], expected)
        except (Undecodable, KeyError, TypeError):
            return fail("a check's result could not be read", expected["number"])
        if mismatch:
            return fail(mismatch.reason, expected["number"])
    if len(checks) < len(reference):
        number = reference[len(checks)]["number"]
        if end is None:
            why = f"the kernel {run.ending}"
        elif isinstance(end.get("error"), dict):
            error = end["error"]
            why = "the test cell timed out" if error.get("timeout") else f"{error.get('ename')}"
            why = f"the tests stopped: {str(why)[:60]}"
        else:
            why = "the tests stopped early"
        return fail(f"{why} (at check {number})", number)
    if len(checks) > len(reference):
        return fail("more results than the tests make")
    if end is None or end.get("error"):
        return fail("the test cell did not finish")
    return TaskResult(task.grade_id, task.points, task.points, "passed")


# --- the class ---------------------------------------------------------------------------------


@dataclass
class StudentResult:
    student: str
    status: str  # "ok", or the grading problems in one line
    notebooks: dict[str, NotebookResult]
    written: dict[str, str]  # written answers by grade_id
    skipped: bool = False  # already graded, unchanged


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _submission_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def submission_digest(folder: Path) -> str:
    files = _submission_files(folder)
    return _digest(*(p.name.encode() + b"\0" + p.read_bytes() for p in files))


def assignment_digest(course: Course, assignment: str, limits: sandbox.Limits) -> str:
    sources = sorted(course.folder("source", ".", assignment).glob("*.ipynb"))
    return _digest(
        *(p.read_bytes() for p in sources),
        sandbox.RUNNER.read_bytes(),
        Path(__file__).with_name("probes.py").read_bytes(),
        json.dumps(asdict(limits), sort_keys=True).encode(),
    )


def check_sandbox(sandboxed: bool) -> None:
    if not sandboxed:
        log.warning("grading WITHOUT a sandbox: student code runs with your rights")
        return
    if sandbox.bubblewrap() is None:
        raise CourseError(
            "bubblewrap is not installed, so student code cannot be isolated: install it "
            "(Debian/Ubuntu: sudo apt-get install bubblewrap), or pass --unsafe-no-sandbox "
            "to run students' code with your own rights"
        )
    problem = sandbox.start_problem()
    if problem:
        raise CourseError(problem)


def reference(
    course: Course,
    plans: list[NotebookPlan],
    workers: Workers,
    assignment: str = ASSIGNMENT,
) -> dict[str, dict[str, list[dict]]]:
    """The reference solution's records, per notebook and test cell (cached per assignment)."""
    digest = assignment_digest(course, assignment, workers.limits)
    cache = course.root / "autograder" / f"reference-{assignment}-{digest[:16]}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    futures = {
        plan.name: workers.submit(job_cells(plan, None), key=f"reference-{plan.name}-{digest[:12]}")
        for plan in plans
    }
    records = {}
    for plan in tqdm(plans, desc="running the reference solution", unit="notebook"):
        records[plan.name] = reference_records(plan, futures[plan.name].result())
    cache.parent.mkdir(parents=True, exist_ok=True)
    # a name of this process's own: two graders of one course may finish the reference together
    temporary = cache.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(records))
    temporary.replace(cache)
    return records


def _match_notebooks(folder: Path, plans: list[NotebookPlan]) -> tuple[dict[str, Path], list[str]]:
    """Submitted file for each notebook; a misnamed file is matched by the answers it holds."""
    files = {p.name: p for p in folder.glob("*.ipynb")}
    found, notes = {}, []
    for plan in plans:
        if f"{plan.name}.ipynb" in files:
            found[plan.name] = files.pop(f"{plan.name}.ipynb")
    for plan in plans:
        if plan.name in found:
            continue
        for name, path in sorted(files.items()):
            try:
                held = set(read_submission(path).code)
            except CourseError:
                continue
            if held & set(plan.answers):
                found[plan.name] = files.pop(name)
                notes.append(f"{name} graded as {plan.name}.ipynb")
                break
    return found, notes


def grade_class(
    course: Course,
    students: list[str] | None = None,
    assignment: str = ASSIGNMENT,
    workers: int | None = None,
    limits: sandbox.Limits | None = None,
    sandboxed: bool = True,
    force: bool = False,
    notebooks: list[str] | None = None,
    engine: str = "pool",
    scheduler: str | None = None,
    dashboard: bool = False,
) -> dict[str, StudentResult]:
    """Grade every submission (or the named students'); returns each student's result.

    `notebooks` restricts grading to some notebooks (by name without .ipynb); the others'
    grades are then left as they are in the gradebook. `engine` runs the sandboxes in this
    process's pool ("pool") or as Dask tasks ("dask": a LocalCluster, or the cluster of
    `scheduler`); the judging and every gradebook write stay here either way. `dashboard`
    starts a local cluster's Dask dashboard (a scheduler's own is used as it is).
    """
    limits = limits or sandbox.Limits()
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise CourseError("--workers must be at least 1")
    if students:
        students = [check_student_id(s) for s in students]
        unusable: list[tuple[str, str]] = []
    else:
        students, unusable = submitted_students(course, assignment)
    for name, why in unusable:  # one bad folder never stops the class
        log.warning("not graded: submitted/%s: %s", name, why)
    if not students:
        raise CourseError(f"no submissions of {assignment!r} in {course.root / 'submitted'}")
    missing = [s for s in students if not course.folder("submitted", s, assignment).is_dir()]
    if missing:
        raise CourseError(f"no submission of {assignment!r} by {', '.join(missing)}")
    _check_released(course, assignment)
    plans = plan_assignment(course, assignment)
    if notebooks:
        unknown = set(notebooks) - {p.name for p in plans}
        if unknown:
            raise CourseError(f"{assignment!r} has no notebook {', '.join(sorted(unknown))}")
        plans = [p for p in plans if p.name in notebooks]
    if scheduler:
        engine = "dask"
    if engine not in ("pool", "dask"):
        raise CourseError(f"--engine {engine!r}: choose dask or pool")
    if engine == "dask":  # a local cluster starts while the sandbox is checked
        from autograder.sandbox.dask_engine import DaskEngine

        pool = DaskEngine(limits, sandboxed, workers, scheduler, dashboard)
    else:
        pool = Workers(workers, limits, sandboxed)
    try:
        if not scheduler:  # a cluster's workers check their own sandbox, task by task
            check_sandbox(sandboxed)
        records = reference(course, plans, pool, assignment)
        digest = assignment_digest(course, assignment, limits)
        return _grade_students(course, students, plans, records, digest, pool, force, assignment)
    finally:
        pool.close()


def _check_released(course: Course, assignment: str) -> None:
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"{assignment!r} is not in the gradebook yet: run `rnn-course release` first"
            ) from None


def _grade_students(
    course: Course,
    students: list[str],
    plans: list[NotebookPlan],
    records: dict,
    digest: str,
    pool: Workers,
    force: bool,
    assignment: str,
) -> dict[str, StudentResult]:
    results: dict[str, StudentResult] = {}
    pending: dict[str, dict] = {}
    futures: dict[concurrent.futures.Future, tuple[str, str]] = {}
    scope = ",".join(p.name for p in plans)
    for student in students:
        folder = course.folder("submitted", student, assignment)
        state = _read_state(course, student, assignment)
        submitted = submission_digest(folder)
        if (
            not force
            and state.get("submission") == submitted
            and state.get("assignment") == digest
            and state.get("scope") == scope
        ):
            results[student] = StudentResult(student, state.get("status", "ok"), {}, {}, True)
            continue
        found, notes = _match_notebooks(folder, plans)
        entry = {"submission": submitted, "notes": notes, "results": {}, "written": {}, "jobs": {}}
        for plan in plans:
            if plan.name not in found:
                entry["results"][plan.name] = _unreadable(plan, f"{plan.name}.ipynb is missing")
                continue
            try:
                answers = read_submission(found[plan.name])
            except CourseError as error:
                entry["results"][plan.name] = _unreadable(plan, str(error))
                continue
            entry["notes"] += answers.notes
            entry["notes"] += [
                f"{plan.name}: no answer cell {grade_id} (graded as not answered)"
                for grade_id in plan.answers
                if grade_id not in answers.code
            ]
            entry["written"].update(answers.written)
            cells = job_cells(plan, answers)
            entry["jobs"][plan.name] = cells
            key = f"{student}-{plan.name}-{submitted[:12]}"  # Dask reruns a lost task as is
            futures[pool.submit(cells, key=key)] = (student, plan.name)
        pending[student] = entry
    for student, entry in list(pending.items()):
        if not entry["jobs"]:
            results[student] = _finish(course, student, plans, entry, digest, scope, assignment)
            del pending[student]
    progress = tqdm(total=len(futures), desc="grading notebooks", unit="notebook")
    for future in concurrent.futures.as_completed(futures):
        student, name = futures[future]
        entry = pending[student]
        plan = next(p for p in plans if p.name == name)
        entry["results"][name] = judge(plan, entry["jobs"][name], future.result(), records[name])
        progress.update()
        if len(entry["results"]) == len(plans):
            results[student] = _finish(course, student, plans, entry, digest, scope, assignment)
            del pending[student]
    progress.close()
    return {student: results[student] for student in students}


def _unreadable(plan: NotebookPlan, why: str) -> NotebookResult:
    result = NotebookResult(plan.name, problems=[why])
    for task in plan.tasks.values():
        result.tasks[task.grade_id] = TaskResult(
            task.grade_id, 0.0, task.points, f"not graded: {why}"
        )
    return result


def _finish(
    course: Course,
    student: str,
    plans: list[NotebookPlan],
    entry: dict,
    digest: str,
    scope: str,
    assignment: str,
) -> StudentResult:
    notebooks: dict[str, NotebookResult] = entry["results"]
    problems = [f"{name}: {p}" for name, r in notebooks.items() for p in r.problems]
    status = "; ".join(problems) if problems else "ok"
    result = StudentResult(student, status, notebooks, entry["written"])
    _write_autograded(course, student, plans, entry, assignment)
    _record_grades(course, student, plans, result, assignment)
    _write_state(
        course,
        student,
        assignment,
        {
            "submission": entry["submission"],
            "assignment": digest,
            "scope": scope,
            "status": status,
            "notes": entry["notes"],
            "graded_at": dt.datetime.now(dt.UTC).isoformat(),
            "notebooks": {name: asdict(r) for name, r in notebooks.items()},
        },
    )
    if problems:
        log.warning("%s: %s", student, status)
    return result


def _record_grades(
    course: Course, student: str, plans: list[NotebookPlan], result: StudentResult, assignment: str
) -> None:
    """All of one student's grades in one transaction: a kill leaves all or none of them."""
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_student(student)
        when = submission_time(course.folder("submitted", student, assignment))
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            submission = gradebook.add_submission(assignment, student)
        submission.timestamp = when.replace(tzinfo=None) if when else None  # naive UTC
        for plan in plans:
            notebook = result.notebooks[plan.name]
            for task in notebook.tasks.values():
                grade = gradebook.find_grade(task.grade_id, plan.name, assignment, student)
                grade.auto_score = task.score
                grade.needs_manual_grade = False
            for grade_id in plan.written:
                grade = gradebook.find_grade(grade_id, plan.name, assignment, student)
                grade.auto_score = None
                grade.needs_manual_grade = grade.manual_score is None
        gradebook.db.commit()


def _write_autograded(
    course: Course, student: str, plans: list[NotebookPlan], entry: dict, assignment: str
) -> None:
    """The instructor's copy of each graded notebook (for nbgrader's formgrader)."""
    target = course.folder("autograded", student, assignment)
    target.mkdir(parents=True, exist_ok=True)
    stamp = course.folder("submitted", student, assignment) / "timestamp.txt"
    if stamp.is_file():
        (target / "timestamp.txt").write_bytes(stamp.read_bytes())
    for plan in plans:
        notebook = nbformat.from_dict(json.loads(json.dumps(plan.source)))
        cells = entry["jobs"].get(plan.name, [])
        result: NotebookResult = entry["results"][plan.name]
        answers = {c.grade_id: c.source for c in cells if c.kind == "answer"}
        outputs = {}
        for index, cell in enumerate(cells):
            if index in result.outputs and cell.kind in ("setup", "answer", "test"):
                outputs[cell.grade_id] = result.outputs[index]
        for cell in notebook.cells:
            meta = _nbgrader(cell)
            grade_id = meta.get("grade_id")
            if meta.get("solution"):  # never leave the reference's answer in the copy
                if cell.cell_type == "code":
                    cell.source = answers.get(grade_id, "# (no answer in the submission)")
                else:
                    cell.source = entry["written"].get(grade_id, "")
            if cell.cell_type == "code" and grade_id in outputs:
                cell.outputs = [nbformat.v4.new_output("stream", text=outputs[grade_id])]
        nbformat.write(notebook, target / f"{plan.name}.ipynb")


def _state_path(course: Course, student: str, assignment: str) -> Path:
    return course.folder("autograded", student, assignment) / STATE_FILE


def _read_state(course: Course, student: str, assignment: str) -> dict:
    try:
        return json.loads(_state_path(course, student, assignment).read_text())
    except (OSError, ValueError):
        return {}


def read_states(course: Course, assignment: str = ASSIGNMENT) -> dict[str, dict]:
    """Each graded student's last grading record (status, per-task results)."""
    folder = course.root / "autograded"
    if not folder.is_dir():
        return {}
    return {
        p.name: state
        for p in sorted(folder.iterdir())
        if (state := _read_state(course, p.name, assignment))
    }


def _write_state(course: Course, student: str, assignment: str, state: dict) -> None:
    path = _state_path(course, student, assignment)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1))
    temporary.replace(path)
