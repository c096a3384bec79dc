"""Per-student feedback pages: which tasks passed, which group of checks failed and why.

Built only from trusted data (the grader's verdicts, the gradebook and the student's own
answers), never from the autograded notebook: that one holds the hidden tests and their
tracebacks. A failing hidden check is described by its number and a reason in fixed words
(wrong shape, how many values differ, which exception), never by its code or expected values;
nothing the student's code printed is shown, so it cannot carry hidden tests out either.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from autograder.course.allowances import Allowances, shown_duration
from autograder.course.cells import grade_id as grade_id_of
from autograder.course.cells import is_code_answer
from autograder.course.deadlines import shown_time
from autograder.course.folder import ASSIGNMENT, Course
from autograder.errors import CourseError
from autograder.grading.plan import plan_assignment
from autograder.grading.state import read_states
from autograder.results.scores import class_totals

TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Feedback: {{ assignment }} / {{ notebook }} ({{ student }})</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ddd;
padding: .4rem; text-align: left; vertical-align: top; } .pass { color: #1a7f37; }
.fail { color: #cf222e; } pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
</style></head><body>
<h1>{{ notebook }}</h1>
<p>Student <b>{{ student }}</b>, assignment <b>{{ assignment }}</b>:
<b>{{ "%g" % score }}</b> of {{ "%g" % max_score }} points{% if pending %}
(written answers still to be graded by hand){% endif %}.</p>
{% if submitted_at %}<p>Submitted {{ submitted_at }}{% if late_by %}, <span class="fail">late by
{{ late_by }}</span>: the late policy ({{ policy }}) takes {{ "%g" % (fraction * 100) }} % of your
score, {{ "%g" % penalty }} points on this notebook{% else %}, on time{% endif %}.{% if note %}
({{ note }}){% endif %}</p>{% endif %}
{% if own_due %}<p>Your due date: {{ own_due }}{% if extension %} (with your extension of
{{ extension }}{% endif %}{% if tokens %}{% if extension %};{% else %} (with{% endif %}
{{ tokens }} late token{{ "s" if tokens != 1 else "" }} spent on it{% endif %}{% if extension or
tokens %}){% endif %}.{% if tokens_left is not none %} Late tokens left for the term:
{{ tokens_left }} ({{ unit }}{{ "s" if tokens_left != 1 else "" }}).{% endif %}</p>{% endif %}
{% if problems %}<p class="fail">Problems while grading: {{ problems | join("; ") }}</p>{% endif %}
{% if notes %}<p>Notes on your submission: {{ notes | join("; ") }}.</p>{% endif %}
<h2>Tasks</h2>
<p>Checks are numbered from the top of each task's test cell, visible ones first; a hidden
check's number says where it ran, never what it tests.</p>
<table><tr><th>Task</th><th>Points</th><th>Result</th></tr>
{% for task in tasks %}<tr><td><code>{{ task.name }}</code></td>
<td>{{ "%g" % task.score }} / {{ "%g" % task.max_score }}</td>
<td class="{{ 'pass' if task.passed else 'fail' }}">{{ task.result }}{% if task.adjusted %}
(points set by your instructor){% endif %}{% if task.groups %}
<ul>{% for group in task.groups %}<li class="{{ 'pass' if group.passed else 'fail' }}">
{{ "passed" if group.passed else "failed" }}: <b>{{ group.name }}</b> ({{ "%g" % group.score }}
of {{ "%g" % group.max_score }} {{ "point" if group.max_score == 1 else "points" }}){% if not
group.passed %}: {{ group.result }}{% endif %}</li>{% endfor %}</ul>{% endif %}</td></tr>
{% endfor %}</table>
{% for task in tasks %}{% if task.code is not none %}
<h3>Your answer: <code>{{ task.name }}</code></h3>
{% if task.error %}<p class="fail">Running it raised {{ task.error }}.</p>{% endif %}
<pre>{{ task.code }}</pre>{% if task.comment %}<p>Comment: {{ task.comment }}</p>{% endif %}
{% endif %}{% endfor %}
{% for answer in written %}<h3>Written answer <code>{{ answer.name }}</code>:
{% if answer.score is none %}not graded yet{% else %}{{ "%g" % answer.score }} / {{
"%g" % answer.max_score }}{% endif %}</h3>
<pre>{{ answer.text }}</pre>{% if answer.comment %}<p>Comment: {{ answer.comment }}</p>{% endif %}
{% endfor %}
</body></html>
"""
)


def _result(found: dict, visible_labels: dict[int, str | None]) -> str:
    """Why a task (or one group of its checks) failed: the check, by number, and the reason."""
    if found["reason"] == "passed":
        return "passed"
    number = found.get("failed_check")
    if number is None:
        return found["reason"]
    if found.get("hidden"):
        return f"hidden check {number} failed: {found['reason']}"
    label = visible_labels.get(number)
    about = f" ({label})" if label else ""
    return f"visible check {number}{about} failed: {found['reason']}"


def _groups(task: dict, visible_labels: dict[int, str | None]) -> list[dict]:
    """The named groups of a task's checks, each passed or failed with its reason."""
    return [
        {
            "name": group["name"],
            "score": group["score"],
            "max_score": group["max_score"],
            "passed": group["reason"] == "passed",
            "result": _result(group, visible_labels),
        }
        for group in task.get("groups") or []
        if group.get("name") is not None
    ]


def _summary(task: dict, groups: list[dict], visible_labels: dict[int, str | None]) -> str:
    if not groups or task["reason"] == "passed":
        return _result(task, visible_labels)
    passed = sum(g["passed"] for g in groups)
    return f"{passed} of {len(groups)} groups of checks passed"


def write_feedback(
    course: Course, students: list[str] | None = None, assignment: str = ASSIGNMENT
) -> list[Path]:
    """feedback/<student>/<assignment>/<notebook>.html for every graded student."""
    states = read_states(course, assignment)
    if students:
        unknown = [s for s in students if s not in states]
        if unknown:
            raise CourseError(f"not graded yet: {', '.join(unknown)}; run autograde first")
        states = {s: states[s] for s in students}
    if not states:
        raise CourseError("no graded submissions: run `rnn-course autograde` first")
    plans = plan_assignment(course, assignment)
    totals = {found.student: found for found in class_totals(course, assignment)}
    written = []
    with Gradebook(course.db_url) as gradebook:
        for student, state in tqdm(states.items(), desc="writing feedback", unit="student"):
            if student not in totals:  # graded, but its grades are not in this gradebook
                continue
            target = course.folder("feedback", student, assignment)
            target.mkdir(parents=True, exist_ok=True)
            for plan in plans:
                result = state.get("notebooks", {}).get(plan.name)
                if result is None:
                    continue
                page = _page(gradebook, course, plan, result, totals[student], state, assignment)
                path = target / f"{plan.name}.html"
                path.write_text(page)
                written.append(path)
    return written


def _page(gradebook, course, plan, result, total, state, assignment) -> str:
    """One notebook's page: its tasks' scores as every output counts them (`total.cells`)."""
    student = total.student
    spent = total.lateness.spent
    allowances = Allowances.load(course.root)
    autograded = course.folder("autograded", student, assignment) / f"{plan.name}.ipynb"
    answers, texts = _own_answers(autograded), state.get("written", {})

    def comment(grade_id: str) -> str | None:
        remark = _find(gradebook.find_comment, grade_id, plan.name, assignment, student)
        return remark.comment if remark else None

    tasks, score, max_score = [], 0.0, 0.0
    for grade_id, task in result["tasks"].items():
        labels = {c.number: c.label for c in plan.tasks[grade_id].checks}
        name = plan.tasks[grade_id].answer or grade_id
        cell = total.cells.get(grade_id)
        # the formgrader's score wins over the tests' one, as in nbgrader's own totals
        points = cell.score if cell and cell.score is not None else task["score"]
        groups = _groups(task, labels)
        tasks.append(
            {
                "name": name,
                "score": points,
                "max_score": task["max_score"],
                "passed": task["reason"] == "passed",
                "result": _summary(task, groups, labels),
                "groups": groups,
                "adjusted": points != task["score"],
                "comment": comment(name),
                "code": answers.get(name),
                "error": result.get("errors", {}).get(name),
            }
        )
        score += points
        max_score += task["max_score"]
    notes, pending = [], False
    for grade_id in plan.written:
        cell = total.cells.get(grade_id)
        manual = cell.score if cell else None
        pending = pending or manual is None
        max_score += cell.max_score if cell else 0.0
        score += manual or 0.0
        notes.append(
            {
                "name": grade_id,
                "text": texts.get(grade_id, ""),
                "score": manual,
                "max_score": cell.max_score if cell else 0.0,
                "comment": comment(grade_id),
            }
        )
    return TEMPLATE.render(
        submitted_at=shown_time(total.lateness.submitted_at, course.settings.timezone),
        late_by=total.lateness.late_by,
        own_due=shown_time(total.lateness.own_due, course.settings.timezone),
        extension=shown_duration(spent.extension) if spent.extension else "",
        tokens=spent.tokens,
        tokens_left=spent.tokens_left if allowances.tokens_of(student) else None,
        unit=allowances.token_unit,
        fraction=total.lateness.fraction,
        policy=course.settings.late.describe(),
        note=total.intake_note,
        penalty=total.notebook_penalties.get(plan.name, 0.0),
        student=student,
        assignment=assignment,
        notebook=plan.name,
        score=score,
        max_score=max_score,
        pending=pending,
        problems=result.get("problems", []),
        notes=list(state.get("notes", [])),
        tasks=tasks,
        written=notes,
    )


def _find(lookup, *key):
    """A gradebook row, or None where the submission predates the cell (e.g. a missing notebook)."""
    try:
        return lookup(*key)
    except MissingEntry:
        return None


def _own_answers(autograded: Path) -> dict[str, str]:
    """The student's code answers from the instructor's graded copy."""
    import nbformat

    if not autograded.is_file():
        return {}
    notebook = nbformat.read(autograded, as_version=4)
    return {grade_id_of(c) or "": c.source for c in notebook.cells if is_code_answer(c)}
