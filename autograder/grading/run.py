"""Grade a class: every submission run in a sandbox on an engine, judged here, recorded in batches.

For each submitted notebook the grader builds, from the *source* notebook, the cells to run
(`jobs.py`), hands them to an engine (`sandbox/`), parses what comes back under bounds
(`events.py`) and judges it against the reference solution's records (`judge.py`). A student's
grades go into nbgrader's gradebook with a batch of others (`course/gradebook.py`), then their
resume record (`state.py`), so a rerun after an interruption grades only who is not done yet.

Nothing one submission does stops the class: a notebook that cannot be read, run, parsed or
judged becomes that notebook's result ("could not be graded: …"), recorded and reported, and
the others go on; a rerun meets the same result instead of the same crash. Only a fault of the
grader's own set-up (no sandbox, a reference that fails its tests, a gradebook that cannot be
written) stops it, in one line.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass, field

from tqdm import tqdm

from autograder import limits
from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.gradebook import StudentGrades, record_grades
from autograder.errors import CourseError
from autograder.grading import state as states
from autograder.grading.autograded_copy import graded_copy, write_graded_copies
from autograder.grading.events import CheckRecord, parse
from autograder.grading.jobs import JobCell, job_cells, sandbox_job
from autograder.grading.judge import (
    NotebookResult,
    ReferenceFailed,
    Run,
    TaskResult,
    judge,
    reference_records,
)
from autograder.grading.plan import NotebookPlan, plan_assignment
from autograder.grading.submission import match_notebooks, read_submission
from autograder.intake.submitted import (
    check_student_id,
    intake_record,
    submission_time,
    submitted_students,
)
from autograder.sandbox.engine import Engine, EngineUnavailable, RunResult
from autograder.text import storable

log = logging.getLogger(__name__)


@dataclass
class StudentResult:
    student: str
    status: str  # "ok", or the grading problems in one line
    notebooks: dict[str, NotebookResult]
    written: dict[str, str]  # written answers by grade_id
    skipped: bool = False  # already graded, unchanged


@dataclass
class _Pending:
    """A student whose notebooks are out being run."""

    submission: str  # digest
    submitted_at: dt.datetime | None
    intake_note: str | None  # what intake said of the submission's time, or choice
    notes: list[str] = field(default_factory=list)
    results: dict[str, NotebookResult] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, list[JobCell]] = field(default_factory=dict)


def could_not_grade(plan: NotebookPlan, why: str) -> NotebookResult:
    """A notebook scored 0 on every task, with the reason, in fixed words."""
    result = NotebookResult(plan.name, problems=[why])
    for task in plan.tasks.values():
        result.tasks[task.grade_id] = TaskResult(
            task.grade_id, 0.0, task.points, f"not graded: {why}"
        )
    return result


def judged(
    plan: NotebookPlan, cells: list[JobCell], run: RunResult, reference: dict
) -> NotebookResult:
    """The run's result; anything in its records that the judge cannot take is this notebook's
    problem, never the class's."""
    try:
        events = parse(run.stream, len(cells))
        return judge(plan, cells, events, reference, Run(run.ending, run.seconds))
    except Exception as error:  # noqa: BLE001 - one notebook's fault, whatever it is
        log.debug("judging %s failed", plan.name, exc_info=True)
        return could_not_grade(
            plan, f"could not be graded: its run could not be judged ({type(error).__name__})"
        )


# --- the reference solution --------------------------------------------------------------------


def reference(
    course: Course, plans: list[NotebookPlan], engine: Engine, assignment: str = ASSIGNMENT
) -> dict[str, dict[str, list[CheckRecord]]]:
    """The reference solution's records, per notebook and test cell (its runs are cached per
    assignment digest, as the streams they sent back)."""
    digest = states.assignment_digest(course, assignment, engine.limits)
    cache = course.root / "autograder" / f"reference-{assignment}-{digest[:16]}.json"
    streams: dict[str, str] = {}
    if cache.is_file():
        streams = json.loads(cache.read_text())
    records = {}
    futures = {
        plan.name: engine.submit(
            sandbox_job(job_cells(plan, None), engine.limits),
            f"reference-{plan.name}-{digest[:12]}",
        )
        for plan in plans
        if plan.name not in streams
    }
    for plan in tqdm(plans, desc="running the reference solution", unit="notebook"):
        cells = job_cells(plan, None)
        if plan.name in streams:
            run = RunResult(stream=base64.b64decode(streams[plan.name]), returncode=0)
        else:
            run = _result(futures[plan.name])
            streams[plan.name] = base64.b64encode(run.stream).decode("ascii")
        try:
            events = parse(run.stream, len(cells))
            records[plan.name] = reference_records(plan, cells, events, Run(run.ending))
        except ReferenceFailed as error:
            cache.unlink(missing_ok=True)
            raise CourseError(str(error)) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    # a name of this process's own: two graders of one course may finish the reference together
    temporary = cache.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(streams))
    temporary.replace(cache)
    return records


def _result(future: concurrent.futures.Future) -> RunResult:
    """A run's result; an engine that cannot sandbox stops the class in one line."""
    try:
        return future.result()
    except EngineUnavailable as error:
        raise CourseError(str(error)) from None


# --- the class ---------------------------------------------------------------------------------


def grade_class(
    course: Course,
    engine: Engine,
    students: list[str] | None = None,
    assignment: str = ASSIGNMENT,
    force: bool = False,
    notebooks: list[str] | None = None,
) -> dict[str, StudentResult]:
    """Grade every submission (or the named students') on `engine`; each student's result.

    `notebooks` restricts grading to some notebooks (by name without .ipynb); the others'
    grades are then left as they are in the gradebook. The engine is prepared (its sandbox
    tried) here, and closed by the caller.
    """
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
    plans = plan_assignment(course, assignment)
    if notebooks:
        unknown = set(notebooks) - {p.name for p in plans}
        if unknown:
            raise CourseError(f"{assignment!r} has no notebook {', '.join(sorted(unknown))}")
        plans = [p for p in plans if p.name in notebooks]
    engine.prepare()
    records = reference(course, plans, engine, assignment)
    grader = _ClassGrader(course, engine, plans, records, assignment)
    return grader.grade(students, force)


class _ClassGrader:
    """The run over a class: students out to the engine, results judged and recorded."""

    def __init__(self, course, engine: Engine, plans, records, assignment: str):
        self.course, self.engine, self.plans = course, engine, plans
        self.records, self.assignment = records, assignment
        self.digest = states.assignment_digest(course, assignment, engine.limits)
        self.scope = ",".join(p.name for p in plans)
        self.results: dict[str, StudentResult] = {}
        self.batch: list[tuple[StudentResult, _Pending]] = []

    def grade(self, students: list[str], force: bool) -> dict[str, StudentResult]:
        pending: dict[str, _Pending] = {}
        futures: dict[concurrent.futures.Future, tuple[str, str]] = {}
        for student in students:
            entry = self._start(student, force, futures)
            if entry is not None:
                pending[student] = entry
        for student, entry in list(pending.items()):
            if not entry.jobs:
                self._finish(student, entry)
                del pending[student]
        progress = tqdm(total=len(futures), desc="grading notebooks", unit="notebook")
        waiting = set(futures)
        for future in concurrent.futures.as_completed(futures):
            waiting.discard(future)
            student, name = futures[future]
            entry = pending[student]
            plan = next(p for p in self.plans if p.name == name)
            try:
                run = future.result()
            except EngineUnavailable as error:
                raise CourseError(str(error)) from None
            except Exception as error:  # noqa: BLE001 - this notebook's run only
                why = f"could not be graded: the sandbox failed ({type(error).__name__})"
                entry.results[name] = could_not_grade(plan, why)
            else:
                cells = entry.jobs[name]
                entry.results[name] = judged(plan, cells, run, self.records[name])
            progress.update()
            if len(entry.results) == len(self.plans):
                self._finish(student, entry)
                del pending[student]
            if not any(other.done() for other in waiting):
                # nothing else to judge yet: record now, while the workers run (the batch is
                # what came in during the last write, up to GRADEBOOK_BATCH students)
                self._flush()
        progress.close()
        self._flush()
        return {student: self.results[student] for student in students}

    def _start(self, student: str, force: bool, futures: dict) -> _Pending | None:
        """Send out a student's notebooks; None if they were graded already, unchanged."""
        folder = self.course.folder("submitted", student, self.assignment)
        previous = states.read_state(self.course, student, self.assignment)
        submitted = states.submission_digest(folder)
        if (
            not force
            and previous.get("submission") == submitted
            and previous.get("assignment") == self.digest
            and previous.get("scope") == self.scope
        ):
            status = previous.get("status", "ok")
            self.results[student] = StudentResult(student, status, {}, {}, True)
            return None
        found, notes = match_notebooks(folder, self.plans)
        note = intake_record(folder).get("note")
        entry = _Pending(submitted, submission_time(folder), storable(note, 2000) or None, notes)
        for plan in self.plans:
            if plan.name not in found:
                entry.results[plan.name] = could_not_grade(plan, f"{plan.name}.ipynb is missing")
                continue
            try:
                answers = read_submission(found[plan.name])
            except CourseError as error:
                entry.results[plan.name] = could_not_grade(plan, str(error))
                continue
            entry.notes += answers.notes
            entry.notes += [
                f"{plan.name}: no answer cell {grade_id} (graded as not answered)"
                for grade_id in plan.answers
                if grade_id not in answers.code
            ]
            entry.written.update(answers.written)
            cells = job_cells(plan, answers)
            entry.jobs[plan.name] = cells
            key = f"{student}-{plan.name}-{submitted[:12]}"  # Dask reruns a lost task as is
            futures[self.engine.submit(sandbox_job(cells, self.engine.limits), key)] = (
                student,
                plan.name,
            )
        return entry

    def _finish(self, student: str, entry: _Pending) -> None:
        """A student's notebooks are all judged: their graded copies now, their grades with
        the next batch."""
        problems = [f"{name}: {p}" for name, r in entry.results.items() for p in r.problems]
        try:
            copies = {
                plan.name: graded_copy(
                    plan, entry.jobs.get(plan.name, []), entry.results[plan.name], entry.written
                )
                for plan in self.plans
            }
            write_graded_copies(self.course, student, self.assignment, copies)
        except Exception as error:  # noqa: BLE001 - a copy the formgrader lacks, not a grade
            log.debug("graded copies of %s", student, exc_info=True)
            problems.append(f"the instructor's copy could not be written ({type(error).__name__})")
        status = "; ".join(problems) if problems else "ok"
        result = StudentResult(student, status, entry.results, entry.written)
        self.results[student] = result
        self.batch.append((result, entry))
        if problems:
            log.warning("%s: %s", student, storable(status, 2000))
        if len(self.batch) >= limits.GRADEBOOK_BATCH:
            self._flush()

    def _flush(self) -> None:
        """The batch's grades in one transaction, then each student's resume record."""
        if not self.batch:
            return
        grades = [
            StudentGrades(
                result.student,
                entry.submitted_at,
                {
                    (name, task.grade_id): task.score
                    for name, notebook in result.notebooks.items()
                    for task in notebook.tasks.values()
                },
                tuple((plan.name, grade_id) for plan in self.plans for grade_id in plan.written),
            )
            for result, entry in self.batch
        ]
        record_grades(self.course, self.assignment, grades)
        for result, entry in self.batch:
            state = {
                "submission": entry.submission,
                "assignment": self.digest,
                "scope": self.scope,
                "status": result.status,
                "notes": entry.notes,
                # the written answers as submitted (capped, storable), for the feedback page
                "written": {
                    grade_id: storable(text, limits.WRITTEN_ANSWER_CHARS)
                    for grade_id, text in entry.written.items()
                },
                "submitted_at": entry.submitted_at.isoformat() if entry.submitted_at else None,
                "intake_note": entry.intake_note,
                "graded_at": dt.datetime.now(dt.UTC).isoformat(),
                # what each notebook printed is in the graded copies, not here
                "notebooks": {
                    name: {k: v for k, v in asdict(r).items() if k != "outputs"}
                    for name, r in result.notebooks.items()
                },
            }
            try:
                states.write_state(self.course, result.student, self.assignment, state)
            except OSError as error:  # graded and recorded; a rerun grades them again
                log.warning(
                    "%s: the grading record could not be written (%s)", result.student, error
                )
        self.batch = []
