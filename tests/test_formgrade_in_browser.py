"""A student's written answer never runs in the instructor's formgrader.

Mallory's written answers are HTML and Markdown made to run script where they are shown: an
image whose error handler writes a file into the course folder (as the attack on the class hub
did), a script tag, an SVG with an onload, a `javascript:` link and an iframe. The instructor
opens her submission in nbgrader's formgrader, started by `rnn-course formgrade` as always, in
Chromium: nothing runs, nothing is fetched, no file appears, and her words are there as text.
"""

from __future__ import annotations

import pytest
from helpers.assignment import source_notebooks, write_variant
from helpers.browser import chromium
from helpers.servers import formgrader_api, free_port

from autograder.course.folder import ASSIGNMENT, Course
from autograder.course.release import release
from autograder.grading.autograde import autograde
from autograder.intake.submitted import submit
from autograder.results.formgrade import start_formgrader
from autograder.sandbox.engine import Limits

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("formgrade")]

NOTEBOOK = "01-gradients"
WRITE_A_FILE = (
    "fetch('/api/contents/pwned.txt', {method: 'PUT', headers: {'Content-Type': "
    "'application/json'}, body: JSON.stringify({type: 'file', format: 'text', "
    "content: 'owned'})}); window.__pwned = 'img'"
)
PAYLOADS = {
    "ex1_written": f'My answer. <img src=x onerror="{WRITE_A_FILE}"> The bound is 0.9^t.',
    "ex3_written": (
        "<script>window.__pwned = 'script'</script> Clipping keeps the direction. "
        "<svg onload=\"window.__pwned = 'svg'\"></svg> "
        "[see this](javascript:window.__pwned='link') "
        "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>"
    ),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    course = Course.open(tmp_path_factory.mktemp("xss"))
    release(course)
    path = next(p for p in source_notebooks() if p.stem == NOTEBOOK)
    notebook = write_variant(path, tmp_path_factory.mktemp("mallory") / path.name, PAYLOADS)
    submit(course, "mallory", [notebook])
    autograde(course, notebooks=[NOTEBOOK], limits=Limits(cell_seconds=60, notebook_seconds=300))
    return course


def test_a_written_answer_never_runs_script_in_the_formgrader(course):
    server = start_formgrader(course, free_port())
    try:
        (submitted,) = formgrader_api(server, f"submitted_notebooks/{ASSIGNMENT}/{NOTEBOOK}")
        with chromium() as browser:
            page = browser.new_page()
            dialogs, requests = [], []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message) or dialog.dismiss())
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"{server.url}formgrader/submissions/{submitted['id']}/?token={server.token}")
            page.wait_for_load_state("networkidle")
            for link in page.get_by_text("see this").all():
                link.click()
            page.wait_for_timeout(1000)
            pwned = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
            text = page.inner_text("body")
    finally:
        server.stop()
    assert pwned is None and not dialogs
    assert not any("pwned" in url or url.endswith("/x") for url in requests), requests
    assert not (course.root / "pwned.txt").exists()
    assert "onerror" in text and "The bound is 0.9^t." in text  # her words, as text
    assert "Clipping keeps the direction." in text
