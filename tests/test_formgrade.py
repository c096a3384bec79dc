"""Grading the written answers by hand: nbgrader's formgrader, started by `rnn-course formgrade`
in a graded course directory, and what the scores entered there become (export, feedback,
report, and a later autograde run).

The instructor's clicks are sent as the formgrader's own page sends them: to its REST API
(`/formgrader/api/...`), on the real server, with the real gradebook.
"""

from __future__ import annotations

import csv
import html
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.assignment import source_notebooks, write_variant
from helpers.commands import rnn_course
from helpers.servers import formgrader_api as api
from helpers.servers import free_port, start_serving, stop_with_ctrl_c, wait_for_printed

from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.release import release
from autograder.errors import CourseError
from autograder.grading.autograde import autograde
from autograder.intake.submitted import submit
from autograder.results.export import export_csv
from autograder.results.feedback import write_feedback
from autograder.results.formgrade import start_formgrader
from autograder.results.report import write_report
from autograder.sandbox.engine import Limits

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("formgrade")]

LIMITS = Limits(cell_seconds=60, notebook_seconds=300)
STUDENT = "alice"
# Alice's own written answers, so the formgrader can be seen to show hers, not the reference's
OWN_WORDS = {
    grade_id: f"Alice's reasoning for {grade_id}: the product of Jacobians shrinks."
    for grade_id in ("ex1_written", "ex2_written", "ex3_written", "ex4_written")
}
# what the instructor enters: written answers out of 1 point each, and a code task re-scored
MANUAL = {"ex1_written": 1.0, "ex2_written": 0.5, "ex3_written": 0.0, "ex4_written": 1.0}
OVERRIDE = ("test_rnn_backward", 2.0)  # tests gave 3 of 3; the instructor takes one off
EXTRA = ("ex2_written", 0.25)
COMMENTS = {"ex1_written": "Right bound, well argued.", "rnn_backward": "Copied from the slides."}
AUTO_TOTAL = 20.0  # the reference earns every test point
# after the instructor's entries: rnn_backward 3 -> 2, the written answers, the extra credit
EXPECTED_TOTAL = AUTO_TOTAL - 3.0 + OVERRIDE[1] + sum(MANUAL.values()) + EXTRA[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    course = Course.open(tmp_path_factory.mktemp("formgrade"))
    release(course)
    folder = tmp_path_factory.mktemp("alice")
    notebooks = [write_variant(p, folder / p.name, OWN_WORDS) for p in source_notebooks()]
    submit(course, STUDENT, notebooks)
    results = autograde(course, workers=2, limits=LIMITS)
    assert results[STUDENT].status == "ok", results[STUDENT]
    return course


@pytest.fixture(scope="module")
def formgrader(course):
    server = start_formgrader(course, free_port())
    yield server
    server.stop()


def submission_grades(server) -> dict[str, dict]:
    """grade name → the formgrader's grade record, over Alice's three notebooks."""
    grades = {}
    for notebook in sorted(p.stem for p in source_notebooks()):
        for submitted in api(server, f"submitted_notebooks/{ASSIGNMENT}/{notebook}"):
            assert submitted["student"] == STUDENT
            for grade in api(server, f"grades?submission_id={submitted['id']}"):
                grades[grade["name"]] = grade | {"submission": submitted["id"]}
    return grades


def submission_comments(server) -> dict[str, dict]:
    comments = {}
    for submission in {grade["submission"] for grade in submission_grades(server).values()}:
        for comment in api(server, f"comments?submission_id={submission}"):
            comments[comment["name"]] = comment
    return comments


@pytest.fixture(scope="module")
def graded_by_hand(course, formgrader) -> dict[str, str]:
    """Enter MANUAL, OVERRIDE, EXTRA and COMMENTS in the formgrader; the CSV row afterwards."""
    before = api(formgrader, f"submissions/{ASSIGNMENT}")
    grades = submission_grades(formgrader)
    for name, score in MANUAL.items():
        extra = EXTRA[1] if name == EXTRA[0] else None
        api(
            formgrader,
            f"grade/{grades[name]['id']}",
            {"manual_score": score, "extra_credit": extra},
        )
    name, score = OVERRIDE
    api(formgrader, f"grade/{grades[name]['id']}", {"manual_score": score})
    comments = submission_comments(formgrader)
    for name, text in COMMENTS.items():
        api(formgrader, f"comment/{comments[name]['id']}", {"manual_comment": text})
    return {"before": before, "row": exported_row(course)}


def exported_row(course: Course) -> dict[str, str]:
    out = course.root / "grades.csv"
    export_csv(course, out)
    with out.open() as handle:
        (row,) = csv.DictReader(handle)
    return row


def test_the_formgrader_lists_the_written_answers_waiting_for_a_score(graded_by_hand):
    (submission,) = graded_by_hand["before"]
    assert submission["student"] == STUDENT and submission["autograded"]
    assert (submission["code_score"], submission["max_code_score"]) == (AUTO_TOTAL, AUTO_TOTAL)
    assert submission["needs_manual_grade"] is True
    assert (submission["written_score"], submission["max_written_score"]) == (0.0, 4.0)


def test_the_formgrader_holds_every_score_entered_and_nothing_waits_any_more(
    graded_by_hand, formgrader
):
    (submission,) = api(formgrader, f"submissions/{ASSIGNMENT}")
    assert submission["needs_manual_grade"] is False
    assert submission["score"] == pytest.approx(EXPECTED_TOTAL)


def test_the_export_has_the_hand_scores_the_override_and_the_extra_credit(graded_by_hand):
    row = graded_by_hand["row"]
    for name, score in MANUAL.items():
        expected = score + (EXTRA[1] if name == EXTRA[0] else 0.0)
        assert float(row[name]) == pytest.approx(expected), name
    assert float(row["rnn_backward"]) == OVERRIDE[1]
    assert float(row["total"]) == pytest.approx(EXPECTED_TOTAL)
    assert float(row["max_score"]) == 24


def test_feedback_shows_the_instructors_scores_and_comments(course, graded_by_hand):
    pages = {p.stem: html.unescape(p.read_text()) for p in write_feedback(course, [STUDENT])}
    gradients, scratch = pages["01-gradients"], pages["03-rnn-from-scratch"]
    assert "still to be graded by hand" not in "".join(pages.values())
    assert "Written answer <code>ex1_written</code>:\n1 / 1" in gradients
    assert f"Comment: {COMMENTS['ex1_written']}" in gradients
    assert OWN_WORDS["ex1_written"] in gradients
    assert re.search(r"<code>rnn_backward</code></td>\s*<td>2 / 3</td>", scratch)
    assert "points set by your instructor" in scratch
    assert f"Comment: {COMMENTS['rnn_backward']}" in scratch
    report = write_report(course, course.root / "report.html").read_text()
    assert "rnn_backward" in report


def test_the_formgrader_shows_the_students_own_answers_not_the_reference(
    graded_by_hand, formgrader
):
    grade = submission_grades(formgrader)["ex1_written"]
    request = urllib.request.Request(
        f"{formgrader.url}formgrader/submissions/{grade['submission']}/",
        headers={"Authorization": f"token {formgrader.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        page = html.unescape(answer.read().decode())
    assert OWN_WORDS["ex1_written"] in page
    reference = source_notebooks()[0].read_text()
    marker = "first at $t = 44$"  # from the reference's written answer
    assert marker in reference and marker not in page


def test_a_forced_regrade_keeps_what_the_instructor_entered(course, graded_by_hand):
    results = autograde(course, [STUDENT], workers=2, limits=LIMITS, force=True)
    assert not results[STUDENT].skipped and results[STUDENT].status == "ok"
    assert exported_row(course) == graded_by_hand["row"]


def test_the_formgrader_answers_only_its_token_on_this_machine(formgrader):
    assert formgrader.url.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as refused:
        api(formgrader, f"submissions/{ASSIGNMENT}", token="not-the-token")
    # sent to the login page (where the token is asked for), not to the grades
    assert refused.value.code == 302 and "/login" in refused.value.headers["Location"]
    command = Path(f"/proc/{formgrader.process.pid}/cmdline").read_bytes().decode()
    assert formgrader.token not in command


def test_a_busy_port_is_a_one_line_error_naming_the_option(course, formgrader):
    with pytest.raises(CourseError) as error:
        start_formgrader(course, formgrader.port)
    assert "--port" in str(error.value) and "\n" not in str(error.value)


def test_rnn_course_formgrade_prints_what_waits_and_the_link(tmp_path):
    course = Course.open(tmp_path / "course")
    release(course)
    port = free_port()
    command = rnn_course("formgrade", "--course-dir", course.root, "--port", port)
    process = start_serving(command)
    try:
        link, printed = wait_for_printed(
            process, r"http://127\.0\.0\.1:\d+/formgrader\?token=\S+", seconds=90
        )
        assert "0 answers of 0 students wait for a score by hand" in printed
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(link, timeout=30) as page:  # the token logs the browser in
            assert page.status == 200 and b"Manage Assignments" in page.read()
    finally:
        stop_with_ctrl_c(process)
    assert process.returncode == 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)
