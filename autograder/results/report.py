"""The class report: how the class did overall, per task, and whose grading had problems.

One self-contained HTML page (figures embedded) and the same figure as a PNG, so it can be
mailed or pinned in a course forum. Tasks are shown as the share of their points the class
earned, so a 3-point and a 1-point task compare at a glance.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from autograder.course.deadlines import due_date, shown_time  # noqa: E402
from autograder.course.folder import ASSIGNMENT, Course  # noqa: E402
from autograder.errors import CourseError  # noqa: E402
from autograder.results.export import columns, grade_table  # noqa: E402
from autograder.results.output_files import written_together  # noqa: E402

PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ assignment }}: class report</title>
<style>body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .3rem .6rem;
text-align: left; } img { max-width: 100%; }</style></head><body>
<h1>{{ assignment }}: class report</h1>
<p>{{ n }} graded submissions; mean {{ "%.1f" % mean }} of {{ "%g" % max_score }} points
(after late penalties),
median {{ "%.1f" % median }}.</p>
<img alt="Distribution of total scores, mean share of points per task, and pass/fail counts
per task" src="data:image/png;base64,{{ figure }}">
<h2>Tasks</h2>
<table><tr><th>Task</th><th>Points</th><th>Mean</th><th>Full marks</th><th>Zero</th></tr>
{% for t in tasks %}<tr><td><code>{{ t.name }}</code></td><td>{{ "%g" % t.max }}</td>
<td>{{ "%.2f" % t.mean }}</td><td>{{ t.full }}</td><td>{{ t.zero }}</td></tr>{% endfor %}
</table>
<h2>Late submissions and submission times</h2>
<p>{{ late | length }} of {{ n }} submissions late ({{ policy }}{% if due %};
due {{ due }}{% endif %}).
A submission's time is what the course's side observed, never the time the student's computer
wrote; where the two disagreed, the later counts and the note says so.</p>
{% if tokens %}<p>Late tokens: {{ tokens }} spent by the class on this assignment.</p>{% endif %}
{% if timing %}<table><tr><th>Student</th><th>Submitted</th><th>Own due date</th>
<th>Extension</th><th>Tokens spent</th><th>Tokens left</th><th>Late by</th><th>Penalty</th>
<th>Note</th></tr>
{% for row in timing %}<tr><td>{{ row.student_id }}</td><td>{{ row.submitted_at }}</td>
<td>{{ row.due }}</td><td>{{ row.extension }}</td><td>{{ row.late_tokens_spent }}</td>
<td>{{ row.late_tokens_left }}</td>
<td>{{ row.late_by }}</td><td>{{ "%g" % row.late_penalty }}</td>
<td>{{ row.intake_note or "" }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Submissions with grading problems</h2>
{% if awaiting %}<p>{{ awaiting }} of {{ n }} submissions have written answers waiting for a score
by hand (<code>rnn-course formgrade</code>); their totals count them as 0 until then.</p>{% endif %}
{% if problems %}<table><tr><th>Student</th><th>Status</th></tr>
{% for student, status in problems %}<tr><td>{{ student }}</td><td>{{ status }}</td></tr>
{% endfor %}</table>{% else %}<p>None: every submission ran to the end.</p>{% endif %}
</body></html>
"""
)


def write_report(course: Course, out: Path | None = None, assignment: str = ASSIGNMENT) -> Path:
    """reports/<assignment>-report.html (and .png beside it); returns the HTML's path."""
    if out is not None and Path(out).with_suffix(".png") == Path(out):
        raise CourseError(
            f"--out {out}: the report's figure is written beside it as {Path(out).name}; give "
            f"the report an .html name ({Path(out).with_suffix('.html')})"
        )
    rows = grade_table(course, assignment)
    if not rows:
        raise CourseError("no graded submissions to report on: run `rnn-course autograde` first")
    auto = [c for c in columns(course, assignment) if c.auto]
    totals = np.array([row["total"] for row in rows], dtype=float)
    max_score = float(rows[0]["max_score"])
    tasks = []
    for col in auto:
        scores = np.array([row[col.name] or 0.0 for row in rows], dtype=float)
        tasks.append(
            {
                "name": col.name,
                "max": col.max_score,
                "mean": float(scores.mean()),
                "share": float(scores.mean() / col.max_score),
                "full": int((scores >= col.max_score).sum()),
                "zero": int((scores <= 0).sum()),
            }
        )
    png = _figure(totals, max_score, tasks, assignment)
    if out is None:
        out = course.root / "reports" / f"{assignment}-report.html"
        out.parent.mkdir(parents=True, exist_ok=True)
    out = Path(out).expanduser()
    problems = [(row["student_id"], row["problems"]) for row in rows if row["problems"] != "ok"]
    awaiting = sum(1 for row in rows if row["awaiting"])
    late = [row for row in rows if row["late_by"]]
    timing = [
        row
        for row in rows
        if row["late_by"] or row["intake_note"] or row["extension"] or row["late_tokens_spent"]
    ]
    due = due_date(course, assignment)
    targets = {out: "--out", out.with_suffix(".png"): "--out (its figure, beside it)"}
    with written_together(targets, course.root) as paths:
        paths[out.with_suffix(".png")].write_bytes(png)
        paths[out].write_text(
            PAGE.render(
                assignment=assignment,
                n=len(rows),
                mean=float(totals.mean()),
                median=float(np.median(totals)),
                max_score=max_score,
                figure=base64.b64encode(png).decode("ascii"),
                tasks=tasks,
                problems=problems,
                awaiting=awaiting,
                late=late,
                timing=timing,
                tokens=sum(int(row["late_tokens_spent"]) for row in rows),
                policy=course.settings.late.describe(),
                due=shown_time(due, course.settings.timezone),
            )
        )
    return out


def _figure(totals: np.ndarray, max_score: float, tasks: list[dict], assignment: str) -> bytes:
    fig, (dist, share, counts) = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    dist.hist(totals, bins=np.arange(0, max_score + 2) - 0.5, color="#4C72B0", edgecolor="white")
    dist.set(
        title="Total scores",
        xlabel=f"points (of {max_score:g}; written answers count once graded)",
        ylabel="students",
    )
    names = [t["name"] for t in tasks]
    y = np.arange(len(tasks))
    share.barh(y, [t["share"] for t in tasks], color="#55A868")
    share.set(yticks=y, yticklabels=names, xlim=(0, 1), title="Mean share of points, per task")
    share.invert_yaxis()
    full = np.array([t["full"] for t in tasks])
    zero = np.array([t["zero"] for t in tasks])
    counts.barh(y, full, color="#55A868", label="full marks")
    counts.barh(y, zero, left=full, color="#C44E52", label="zero")
    counts.set(yticks=y, yticklabels=names, title="Students per task", xlabel="students")
    counts.invert_yaxis()
    counts.legend(loc="lower right")
    fig.suptitle(f"{assignment}: {len(totals)} submissions")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
