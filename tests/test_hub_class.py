"""A class on a real JupyterHub, end to end: students submit, the instructor grades, feedback
goes back to each student only.

One hub for the module (tests/hub_fixtures.py): JupyterHub with the shipped
`autograder/hub/jupyterhub_config.py`, its pinned configurable-http-proxy, PAM logins with real
passwords, each student's JupyterLab running as that student's Unix user, nbgrader's exchange
in a shared folder. The term runs in phases, each a module fixture the tests build on:

1. the instructor (a Unix user of their own) configures the class and releases `rnn`;
2. on time: alice fetches and submits in JupyterLab's Assignments panel (Chromium), bob fetches
   and answers, carol submits a wrong answer and, in the same second, the corrected one;
3. the due date passes: bob submits late, with a notebook renamed, then rewrites his
   submission's timestamp.txt and folder name to before the due date; carol submits again
   (a worse answer, which must not count); alice submits again, within her extension;
4. the instructor gives bob one late token, which an older quiz he handed in late has already
   spent, then collects, autogrades, returns feedback, exports grades and a report;
5. each student fetches their feedback through their own server.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import time
import zoneinfo
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jupyterhub
import nbformat
import pytest
from assignment_mutants import MUTANTS
from helpers.assignment import solution_cells
from helpers.browser import OFFLINE_FLAGS, chromium
from helpers.commands import ROOT
from hub_fixtures import (
    DOMAIN,
    Account,
    Environment,
    Hub,
    HubUser,
    accounts,
    certificates,
    environments,
    exchange_set_up,
    hub_settings,
    localhost_names,
    processes_of,
    run_as,
    running_hub,
    temporary_base,
)
from playwright.sync_api import Browser, Page

from autograder.course.cells import replace_sources

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("hub"),
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix accounts and runs a hub (as root)"),
]

INSTRUCTOR = "rnnt-teacher"
ALICE, BOB, CAROL = STUDENTS = ("rnnt-alice", "rnnt-bob", "rnnt-carol")
GROUP = "rnnt-class"
TIMEZONE = "Europe/Paris"
COURSE_ID = "rnn-course"
ARTIFACTS = Path(os.environ.get("RNN_COURSE_ARTIFACTS") or ROOT / "_build" / "test-artifacts")
LAB_WAIT_MS = 120_000  # milliseconds Playwright waits for JupyterLab on a busy machine
SAME_SECOND_TRIES = 3
RENAMED = "01-gradients-Copy1.ipynb"  # JupyterLab's name for a duplicated notebook
# carol's first answer: rnn_forward without its bias, a mistake the visible tests catch
FORGETS_THE_BIAS = next(m for m in MUTANTS if m.name == "forgets_the_bias")


def full_answers() -> dict[str, dict[str, str]]:
    """notebook name → {grade_id: the reference answer}: a full-marks student's code."""
    answers: dict[str, dict[str, str]] = {}
    for grade_id, (path, source) in solution_cells().items():
        answers.setdefault(path.stem, {})[grade_id] = source
    return answers


def answer(user: HubUser, notebook: str, sources: dict[str, str], path: str | None = None) -> None:
    """Open the notebook in the student's server, type the answers in, save (contents API)."""
    path = path or f"rnn/{notebook}.ipynb"
    model = nbformat.from_dict(user.read(path)["content"])
    replace_sources(model, sources)
    user.write_notebook(path, model)


def wrong_forward() -> dict[str, str]:
    reference = full_answers()["03-rnn-from-scratch"]
    return {"rnn_forward": FORGETS_THE_BIAS.apply(reference["rnn_forward"])}


def local_time(when: dt.datetime) -> str:
    return when.astimezone(zoneinfo.ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")


# --- phase 0: the hub, its accounts and the instructor's tool -----------------------------------


@dataclass
class HubClass:
    hub: Hub
    environment: Environment
    people: dict[str, Account]
    records: dict[str, object] = field(default_factory=dict)  # what each phase saw

    @property
    def course(self) -> Path:
        """The instructor's grading folder, in their own (private) home."""
        return self.people[INSTRUCTOR].home / "rnn-course"

    def instructor(self, *args: object, timeout: float = 900):
        """`rnn-course ARGS --course-dir …` as the instructor's Unix user; must succeed."""
        command = [self.environment.bin("rnn-course"), *map(str, args)]
        command += ["--course-dir", str(self.course)]
        finished = run_as(self.people[INSTRUCTOR], command, self.environment, timeout=timeout)
        assert finished.returncode == 0, f"rnn-course {args[0]}:\n{finished.stderr[-4000:]}"
        return finished

    def student(self, name: str) -> HubUser:
        """A fresh session: the student logs in with their password and starts their server."""
        user = HubUser(self.hub, self.people[name])
        user.start()
        return user


@pytest.fixture(scope="module")
def hub_class() -> Iterator[HubClass]:
    base = temporary_base("rnn-hub-")
    try:
        with (
            localhost_names(),
            accounts([INSTRUCTOR, *STUDENTS], GROUP, base / "home") as people,
        ):
            environment = environments(base, people[INSTRUCTOR])
            tls = certificates(base / "tls")
            with exchange_set_up(environment, base, INSTRUCTOR):
                settings = hub_settings(base, GROUP, [INSTRUCTOR], environment, tls)
                # each student's dates come from the instructor's grading folder
                settings["RNN_HUB_COURSE_DIR"] = str(people[INSTRUCTOR].home / "rnn-course")
                with running_hub(environment, settings, tls.authority) as hub:
                    yield HubClass(hub, environment, people)
    finally:
        shutil.rmtree(base, ignore_errors=True)


# Chromium, offline: every name under localhost is this machine (the hub's and each user's
# origin), every other name unknown
HUB_FLAGS = [
    f"--host-resolver-rules=MAP *.{DOMAIN} 127.0.0.1, MAP {DOMAIN} 127.0.0.1, MAP * ~NOTFOUND",
    *(flag for flag in OFFLINE_FLAGS if not flag.startswith("--host-resolver-rules")),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(HUB_FLAGS) as launched:
        yield launched


def new_page(browser: Browser) -> Page:
    """A page of a browser profile of its own (its own cookies), trusting the test's CA."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    folder = ARTIFACTS / "hub"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def lab_as(browser: Browser, hub_class: HubClass, name: str) -> tuple[Page, list[str]]:
    """The student's JupyterLab after logging in at the hub's login page, and its console
    errors and failed requests as they come."""
    page = new_page(browser)
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("requestfailed", lambda r: spawn_progress(r.url) or problems.append(r.url))
    account = hub_class.people[name]
    page.goto(f"{hub_class.hub.url}/hub/login")
    page.fill("#username_input", account.name)
    page.fill("#password_input", account.password)
    page.click("#login_submit")
    page.wait_for_url(
        f"https://{account.name}.{DOMAIN}:*/user/{account.name}/lab**", timeout=LAB_WAIT_MS
    )
    return page, problems


def spawn_progress(url: str) -> bool:
    """The hub's spawn-progress event stream, which the browser closes when JupyterLab loads."""
    return "/server/progress" in url


def open_assignments(page: Page) -> list[str]:
    """Nbgrader → Assignment List, as a student finds it; returns that menu's items."""
    page.get_by_role("menuitem", name="Nbgrader").click()
    items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
    page.get_by_role("menuitem", name="Assignment List").click()
    page.wait_for_selector("#released_assignments_list", timeout=LAB_WAIT_MS)
    return [item for item in items if item.strip()]


# --- phase 1: the instructor sets the class up ---------------------------------------------------


@pytest.fixture(scope="module")
def released(hub_class) -> HubClass:
    hub_class.instructor(
        "configure",
        "--exchange",
        hub_class.hub.exchange,
        "--timezone",
        TIMEZONE,
        "--late",
        "percent",
        "--late-percent",
        10,
        "--late-per",
        "hour",
        "--late-cap",
        50,
    )
    due = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    hub_class.instructor("release", "--due", local_time(due))
    # alice's accommodation: a day more, and two late tokens; nobody else's business
    hub_class.instructor("extend", "--student", ALICE, "--by", "1d")
    hub_class.instructor("tokens", "--give", 2, "--unit", "day", "--student", ALICE)
    return hub_class


# --- phase 2: on time ----------------------------------------------------------------------------


def alice_in_jupyterlab(browser: Browser, hub_class: HubClass) -> dict:
    """Fetch and submit with JupyterLab's Assignments panel; the answers typed in meanwhile."""
    page, problems = lab_as(browser, hub_class, ALICE)
    menu = open_assignments(page)
    dates = page.locator("#rnn-course-dates")
    dates.wait_for(timeout=LAB_WAIT_MS)
    shown_dates = dates.inner_text()
    page.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
    submit = page.locator("#fetched_assignments_list").get_by_role("button", name="Submit")
    submit.wait_for(timeout=LAB_WAIT_MS)
    alice = hub_class.student(ALICE)
    for notebook, sources in full_answers().items():
        answer(alice, notebook, sources)
    submit.click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").wait_for(timeout=LAB_WAIT_MS)
    screenshot(page, "alice-submitted")
    record = {"menu": menu, "submitted": submitted.inner_text(), "problems": problems}
    record["dates"] = shown_dates
    page.close()
    return record


def bob_on_time(hub_class: HubClass) -> dict:
    """Bob fetches and answers everything, validates, and duplicates a notebook by mistake."""
    bob = hub_class.student(BOB)
    fetched = bob.assignments("fetch")
    for notebook, sources in full_answers().items():
        answer(bob, notebook, sources)
    validation = bob.validate("rnn/03-rnn-from-scratch.ipynb")
    bob.rename("rnn/01-gradients.ipynb", f"rnn/{RENAMED}")
    return {"fetched": fetched, "validation": validation}


def carol_on_time(hub_class: HubClass) -> dict:
    """Carol validates a wrong answer, submits it, and submits the fix in the same second
    (tried again, wrong answer first, if a busy machine made the pair straddle a second)."""
    carol = hub_class.student(CAROL)
    carol.assignments("fetch")
    for notebook, sources in full_answers().items():
        answer(carol, notebook, sources)
    answer(carol, "03-rnn-from-scratch", wrong_forward())
    wrong = carol.validate("rnn/03-rnn-from-scratch.ipynb")
    for _ in range(SAME_SECOND_TRIES):
        time.sleep(1.02 - time.time() % 1)  # at the start of a second, so both fit in it
        carol.assignments("submit")
        answer(carol, "03-rnn-from-scratch", full_answers()["03-rnn-from-scratch"])
        times = submission_times(carol.assignments("submit"))
        if times[-2][:19] == times[-1][:19]:
            break
        answer(carol, "03-rnn-from-scratch", wrong_forward())
    return {"validation": wrong, "submissions": times}


def submission_times(listed: list[dict]) -> list[str]:
    """The timestamps of a student's submissions, as their Assignments panel lists them."""
    return [s["timestamp"] for a in listed if a["status"] == "submitted" for s in a["submissions"]]


@pytest.fixture(scope="module")
def on_time(released, browser) -> HubClass:
    with ThreadPoolExecutor(2) as pool:
        bob = pool.submit(bob_on_time, released)
        carol = pool.submit(carol_on_time, released)
        released.records["alice"] = alice_in_jupyterlab(browser, released)
        released.records["bob"] = bob.result()
        released.records["carol"] = carol.result()
    return released


# --- phase 3: the due date passes ----------------------------------------------------------------


def inbound_folders(hub_class: HubClass, student: str) -> list[Path]:
    inbound = hub_class.hub.exchange / COURSE_ID / "inbound"
    return sorted(p for p in inbound.iterdir() if p.name.startswith(f"{student}+"))


def bob_late_and_forging(hub_class: HubClass, due: dt.datetime) -> dict:
    """Bob submits after the due date, then, as himself, rewrites the submission's claimed time
    (timestamp.txt) and renames its folder to a time before the due date."""
    bob = hub_class.student(BOB)
    listed = bob.assignments("submit")
    [folder] = inbound_folders(hub_class, BOB)  # nbgrader prints it to a terminal submitter
    student, assignment, _, random = folder.name.split("+")
    claimed = (due - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    forged = folder.with_name(f"{student}+{assignment}+{claimed}+{random}")
    script = (
        "import pathlib, sys\n"
        "folder, forged, claimed = sys.argv[1:]\n"
        "(pathlib.Path(folder) / 'timestamp.txt').write_text(claimed)\n"
        "pathlib.Path(folder).rename(forged)\n"
    )
    done = run_as(
        hub_class.people[BOB], ["/usr/bin/python3", "-c", script, str(folder), str(forged), claimed]
    )
    assert done.returncode == 0, done.stderr
    return {"submissions": submission_times(listed), "forged": forged, "claimed": claimed}


def carol_late(hub_class: HubClass) -> dict:
    """Carol submits again after the due date, a worse answer: her on-time one still counts."""
    carol = hub_class.student(CAROL)
    answer(carol, "03-rnn-from-scratch", wrong_forward())
    return {"submissions": submission_times(carol.assignments("submit"))}


def alice_within_her_extension(hub_class: HubClass) -> dict:
    """Alice submits again after the class's due date, within her day's extension."""
    alice = hub_class.student(ALICE)
    return {"submissions": submission_times(alice.assignments("submit"))}


@pytest.fixture(scope="module")
def past_due(on_time) -> HubClass:
    """The instructor moves the due date to now (standing in for the clock passing it), then
    the late work comes in."""
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    on_time.instructor("release", "--due", local_time(due), "--allow-past-due")
    time.sleep(max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    with ThreadPoolExecutor(2) as pool:
        bob = pool.submit(bob_late_and_forging, on_time, due)
        carol = pool.submit(carol_late, on_time)
        alice = pool.submit(alice_within_her_extension, on_time)
        on_time.records["bob_late"] = bob.result()
        on_time.records["carol_late"] = carol.result()
        on_time.records["alice_late"] = alice.result()
    on_time.records["due"] = due
    return on_time


# --- phase 4: the instructor grades --------------------------------------------------------------


QUIZ_LATE = dt.timedelta(minutes=50)  # how late bob handed in an earlier quiz

# the quiz, as an earlier assignment would be in the instructor's gradebook: due a week before
# rnn, and bob's submission of it
EARLIER_QUIZ = """
import datetime as dt, sys
from nbgrader.api import Gradebook
from autograder.course.folder import Course
course_dir, due, student, late = sys.argv[1:]
due = dt.datetime.fromisoformat(due)
with Gradebook(Course.existing(course_dir).db_url) as gradebook:
    gradebook.update_or_create_student(student)
    gradebook.update_or_create_assignment("quiz", duedate=due)
    gradebook.add_submission("quiz", student, timestamp=due + dt.timedelta(seconds=float(late)))
"""


def bob_was_late_with_an_earlier_quiz(hub_class: HubClass) -> None:
    due = hub_class.records["due"].astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=7)
    arguments = [hub_class.course, due.isoformat(), BOB, QUIZ_LATE.total_seconds()]
    command = [hub_class.environment.bin("python"), "-c", EARLIER_QUIZ, *map(str, arguments)]
    done = run_as(hub_class.people[INSTRUCTOR], command, hub_class.environment)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def graded(past_due) -> HubClass:
    # bob's one late token (an hour) goes to his oldest late work first: the quiz
    bob_was_late_with_an_earlier_quiz(past_due)
    past_due.instructor("tokens", "--give", 1, "--unit", "hour", "--student", BOB)
    outputs = {}
    outputs["collect"] = past_due.instructor("collect").stderr
    outputs["autograde"] = past_due.instructor("autograde").stderr
    outputs["feedback"] = past_due.instructor("feedback", "--return").stderr
    grades = past_due.course / "grades.csv"
    outputs["export"] = past_due.instructor("export", "--out", grades).stderr
    outputs["report"] = past_due.instructor("report").stderr
    with grades.open(newline="") as handle:
        past_due.records["grades"] = {row["student_id"]: row for row in csv.DictReader(handle)}
    past_due.records["outputs"] = outputs
    return past_due


# --- phase 5: feedback back ----------------------------------------------------------------------


def fetch_feedback(hub_class: HubClass, name: str) -> dict[str, str]:
    """The student's Fetch Feedback; returns each fetched page's path → text."""
    user = hub_class.student(name)
    listed = user.assignments("fetch_feedback")
    pages = {}
    for submission in (s for a in listed if a["status"] == "submitted" for s in a["submissions"]):
        for notebook in submission["notebooks"]:
            if notebook["has_local_feedback"]:
                path = notebook["local_feedback_path"].removeprefix("./")
                pages[path] = user.call("GET", f"files/{path}").text
    return pages


@pytest.fixture(scope="module")
def feedback_fetched(graded) -> HubClass:
    with ThreadPoolExecutor(2) as pool:
        pages = {name: pool.submit(fetch_feedback, graded, name) for name in STUDENTS}
        fetched = {name: future.result() for name, future in pages.items()}
    graded.records["feedback"] = fetched
    return graded


# --- the tests -----------------------------------------------------------------------------------


def server_processes(account: Account) -> list[str]:
    """Command lines of the processes running as this Unix user."""
    lines = []
    for pid in processes_of(account.uid):
        with contextlib.suppress(OSError):  # ended meanwhile
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return lines


def test_each_student_has_a_jupyterlab_running_as_their_own_unix_user(on_time):
    for name in STUDENTS:
        account = on_time.people[name]
        assert any("jupyterhub-singleuser" in line for line in server_processes(account)), name
        fetched = account.home / "rnn" / "03-rnn-from-scratch.ipynb"
        assert fetched.stat().st_uid == account.uid, f"{name}'s files belong to someone else"
    assert not server_processes(on_time.people[INSTRUCTOR]), "the instructor never logged in"


def test_students_get_the_assignments_panel_and_validation_but_no_instructor_tools(on_time):
    carol = on_time.student(CAROL)
    assert carol.call("GET", f"assignments?course_id={COURSE_ID}").status_code == 200
    for instructor_only in ("formgrader", "formgrader/api/assignments"):
        assert carol.call("GET", instructor_only).status_code == 404, instructor_only
    config = page_config(carol)
    disabled = config["disabledExtensions"]
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled, plugin
    menu = on_time.records["alice"]["menu"]
    assert "Assignment List" in menu
    assert not {"Formgrader", "Course List", "Create assignment"} & set(menu), menu


def page_config(user: HubUser) -> dict:
    lab = user.call("GET", "lab").text
    return json.loads(
        lab.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0]
    )


def test_each_student_sees_their_own_due_date_and_allowances_above_the_panel(on_time):
    shown = on_time.records["alice"]["dates"]
    assert "Your due dates" in shown and "rnn: due " in shown, shown
    assert "your extension: 1 d" in shown, shown
    assert "Late tokens: 2 of 2 left (one day each)" in shown, shown
    assert "has passed" not in shown  # due in two hours (and a day, for her)
    # bob's server knows the class's due date, and nothing of alice's accommodation
    bob = page_config(on_time.student(BOB))["rnnCourseDates"]
    assert bob["student"] == BOB and bob["tokens"]["given"] == 0
    [rnn] = [a for a in bob["assignments"] if a["name"] == "rnn"]
    assert rnn["extension"] == "" and rnn["own_due"] == rnn["due"]
    assert ALICE not in json.dumps(bob)


def test_validation_in_the_students_server_names_the_failing_check(on_time):
    assert on_time.records["bob"]["validation"] == {"success": True, "value": {}}
    carol = on_time.records["carol"]["validation"]
    assert carol["success"] and carol["value"]["failed"], carol
    assert "rnn_forward" in json.dumps(carol["value"]["failed"])


def test_alice_fetches_and_submits_in_jupyterlabs_assignments_panel(on_time):
    alice = on_time.records["alice"]
    assert "rnn" in alice["submitted"] and " UTC" in alice["submitted"]
    assert not alice["problems"], alice["problems"]
    [folder, *_] = inbound_folders(on_time, ALICE)  # the first; she submits again later
    assert folder.stat().st_uid == on_time.people[ALICE].uid


def test_the_class_is_graded_with_the_late_penalty_and_the_on_time_resubmission(graded):
    grades = graded.records["grades"]
    assert set(grades) == set(STUDENTS)
    code_points = float(grades[ALICE]["max_score"]) - 4  # the four written answers wait
    for name in (ALICE, CAROL):  # on time, full marks: carol's fixed resubmission counts
        row = grades[name]
        assert float(row["total"]) == code_points, row
        assert float(row["late_penalty"]) == 0 and row["late_by"] == "", row
    bob = grades[BOB]
    assert float(bob["score_before_penalty"]) == code_points, bob
    assert float(bob["late_penalty"]) == pytest.approx(0.1 * code_points), bob  # 10 %/hour
    assert float(bob["total"]) == pytest.approx(0.9 * code_points), bob
    assert bob["late_by"], bob
    assert (graded.course / "reports" / "rnn-report.html").is_file()


def intake(hub_class: HubClass, student: str) -> dict:
    folder = hub_class.course / "submitted" / student / "rnn"
    return json.loads((folder / "intake.json").read_text())


def test_a_late_submission_stays_late_when_its_timestamp_and_folder_are_rewritten(graded):
    """After the due date bob rewrote timestamp.txt and renamed his inbound folder to claim an
    hour before it; the change times the exchange saw say otherwise, and win."""
    due = graded.records["due"]
    record = intake(graded, BOB)
    assert record["inbound"] == graded.records["bob_late"]["forged"].name
    assert record["claimed_at"].startswith(graded.records["bob_late"]["claimed"][:19])
    submitted = dt.datetime.fromisoformat(record["submitted_at"].replace(" UTC", "+00:00"))
    assert submitted > due, record
    assert "the later time counts" in record["note"], record
    assert graded.records["grades"][BOB]["late_by"]


def test_of_two_submissions_in_the_same_second_the_later_one_counts(graded):
    on_time = graded.records["carol"]["submissions"]
    first, second = on_time[-2:]
    assert first[:19] == second[:19], f"not in one second: {first}, {second}"
    assert graded.records["carol_late"]["submissions"][:-1] == on_time  # and one late
    collected = graded.course / "submitted" / CAROL / "rnn" / "03-rnn-from-scratch.ipynb"
    sources = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source
        for cell in nbformat.read(collected, as_version=4).cells
    }
    assert sources["rnn_forward"] == full_answers()["03-rnn-from-scratch"]["rnn_forward"]
    count = len(on_time)
    assert f"submission {count} of {count + 1} counts" in intake(graded, CAROL)["note"]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_submission_within_an_extension_is_not_late_and_is_the_one_graded(feedback_fetched):
    """Alice submitted again after the class's due date, within her day's extension: that
    submission is graded, with no penalty and none of her late tokens spent, and her feedback,
    fetched through her server, says it was on time and why."""
    records = feedback_fetched.records
    record = intake(feedback_fetched, ALICE)
    submitted = dt.datetime.fromisoformat(record["submitted_at"].replace(" UTC", "+00:00"))
    assert submitted > records["due"], record
    row = records["grades"][ALICE]
    assert (row["late_by"], row["extension"]) == ("", "1 d"), row
    assert (row["late_tokens_spent"], row["late_tokens_left"]) == ("0", "2"), row
    assert float(row["late_penalty"]) == 0, row
    pages = records["feedback"][ALICE]
    [folder] = {Path(path).parent.name for path in pages}
    assert folder == records["alice_late"]["submissions"][-1]
    for text in map(flat, pages.values()):
        assert "on time" in text and "late by" not in text
        assert "with your extension of 1 d" in text and "Late tokens left for the term: 2" in text


def test_late_tokens_go_to_the_oldest_late_work_first(feedback_fetched):
    """Bob's one token went to the quiz he handed in 50 minutes late a week earlier, so rnn,
    late by a few seconds, keeps its penalty; the export, his feedback and the dates his panel
    is given all say so."""
    records = feedback_fetched.records
    row = records["grades"][BOB]
    assert (row["late_tokens_spent"], row["late_tokens_left"]) == ("0", "0"), row
    assert float(row["late_penalty"]) > 0 and row["late_by"], row
    for text in map(flat, records["feedback"][BOB].values()):
        assert "Late tokens left for the term: 0 (hours)" in text
        assert "token spent on it" not in text
    dates = json.loads(feedback_fetched.instructor("dates", "--student", BOB, "--json").stdout)
    assert dates["tokens"] == {"given": 1, "left": 0, "unit": "hour"}, dates
    spent = {a["name"]: a["tokens_spent"] for a in dates["assignments"]}
    assert spent == {"quiz": 1, "rnn": 0}, dates


def test_a_notebook_submitted_under_another_name_is_graded_and_said_so(feedback_fetched):
    """Bob's 01-gradients.ipynb went in as a JupyterLab copy; it is recognised by its answers
    and graded, and both the instructor's output and bob's feedback say so in one line."""
    grades = feedback_fetched.records["grades"][BOB]
    assert float(grades["jacobian_norms"]) > 0, grades
    note = f"{RENAMED} graded as 01-gradients.ipynb"
    assert note in feedback_fetched.records["outputs"]["autograde"]
    pages = feedback_fetched.records["feedback"][BOB].values()
    assert any(note in text and "jacobian_norms" in text for text in pages), "no page says so"


def test_each_student_fetches_their_own_feedback_through_their_server(feedback_fetched):
    fetched = feedback_fetched.records["feedback"]
    names = {name: sorted(Path(path).name for path in pages) for name, pages in fetched.items()}
    assert names[CAROL] == [f"{notebook}.html" for notebook in sorted(full_answers())]
    # bob's renamed notebook is checked on its own below
    assert {"02-sequences-and-models.html", "03-rnn-from-scratch.html"} <= set(names[BOB])
    for name, pages in fetched.items():
        for text in pages.values():
            assert f"Student <b>{name}</b>" in text
            assert not any(other in text for other in set(STUDENTS) - {name})
    assert all("late by" in text for text in fetched[BOB].values())
    assert not any("late by" in text for text in fetched[CAROL].values())
    [carol_folder] = {Path(path).parent.name for path in fetched[CAROL]}
    assert carol_folder == feedback_fetched.records["carol"]["submissions"][-1]


def test_alice_fetches_her_feedback_in_the_assignments_panel(feedback_fetched, browser):
    page, problems = lab_as(browser, feedback_fetched, ALICE)
    open_assignments(page)
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").click()
    link = submitted.get_by_text("view feedback").first
    link.wait_for(timeout=LAB_WAIT_MS)
    link.click()  # the file browser opens the folder of her pages
    listed = page.locator(".jp-DirListing-item").filter(has_text="01-gradients.html")
    listed.wait_for(timeout=LAB_WAIT_MS)
    screenshot(page, "alice-feedback")
    page.close()
    assert not problems, problems
    pages = sorted((feedback_fetched.people[ALICE].home / "rnn" / "feedback").rglob("*.html"))
    assert [p.name for p in pages] == [
        "01-gradients.html",
        "02-sequences-and-models.html",
        "03-rnn-from-scratch.html",
    ]
    assert all(f"Student <b>{ALICE}</b>" in p.read_text() for p in pages)


def test_a_student_cannot_reach_another_students_work_on_disk(feedback_fetched):
    """As bob's Unix user: the exchange's inbound and feedback folders cannot be listed (a
    page there is named by a secret only its student holds), and alice's home and the
    instructor's grading folder cannot be entered."""
    hub_class = feedback_fetched
    alice = hub_class.people[ALICE]
    exchange = hub_class.hub.exchange / COURSE_ID
    assert stat.S_IMODE((exchange / "feedback").stat().st_mode) & 0o777 == 0o711
    [alice_page] = sorted((alice.home / "rnn" / "feedback").rglob("01-gradients.html"))
    attempts = {
        "list inbound": ["ls", exchange / "inbound"],
        "list feedback": ["ls", exchange / "feedback"],
        "read alice's fetched feedback": ["cat", alice_page],
        "read alice's submission secret": ["ls", alice.home / ".local"],
        "list the instructor's grades": ["ls", hub_class.course / "submitted"],
        "read the instructor's feedback": ["cat", hub_class.course / "feedback" / ALICE],
    }
    for what, command in attempts.items():
        tried = run_as(hub_class.people[BOB], [str(part) for part in command])
        assert tried.returncode != 0, f"bob could {what}: {tried.stdout}"
        assert "Permission denied" in tried.stderr, (what, tried.stderr)
    own = run_as(hub_class.people[BOB], ["ls", hub_class.people[BOB].home / "rnn" / "feedback"])
    assert own.returncode == 0, own.stderr


def test_another_students_token_cannot_reach_a_students_server(feedback_fetched):
    bob = feedback_fetched.student(BOB)
    for path in (
        "api/contents/rnn",
        "files/rnn/01-gradients.ipynb",
        f"assignments?course_id={COURSE_ID}",
        "api/status",
    ):
        answer = bob.call("GET", path, owner=ALICE)
        assert answer.status_code == 403, (path, answer.status_code)
    forbidden = bob.call(
        "POST",
        "assignments/fetch_feedback",
        owner=ALICE,
        json={"course_id": COURSE_ID, "assignment_id": "rnn"},
    )
    assert forbidden.status_code == 403
    assert bob.hub_api("GET", f"users/{ALICE}").status_code in (403, 404)


def test_the_hub_students_and_instructor_use_one_shipped_configuration(hub_class):
    """The hub the tests ran is the file an instructor copies, changed only by RNN_HUB_*."""
    config = hub_class.environment.hub_config
    shipped = ROOT / "autograder" / "hub" / "jupyterhub_config.py"
    assert config.read_text() == shipped.read_text()
    assert set(hub_class.hub.settings) <= {
        "RNN_HUB_DOMAIN",
        "RNN_HUB_IP",
        "RNN_HUB_PORT",
        "RNN_HUB_SSL_CERT",
        "RNN_HUB_SSL_KEY",
        "RNN_HUB_HUB_PORT",
        "RNN_HUB_PROXY_API_PORT",
        "RNN_HUB_STATE",
        "RNN_HUB_EXCHANGE",
        "RNN_HUB_STUDENT_ENV",
        "RNN_HUB_GROUP",
        "RNN_HUB_INSTRUCTORS",
        "RNN_HUB_FILE_BYTES",
        "RNN_HUB_COURSE_DIR",
    }


def test_the_instructors_check_finds_the_set_up_safe_and_the_hub_answering(hub_class):
    url = f"https://127.0.0.1:{hub_class.hub.settings['RNN_HUB_PORT']}"
    command = [hub_class.environment.bin("python"), "-m", "autograder.hub", "check"]
    command += ["--hub-url", url]
    settings = hub_class.hub.settings | {"SSL_CERT_FILE": str(hub_class.hub.authority)}
    done = run_as(hub_class.people[INSTRUCTOR], command, hub_class.environment, 120, settings)
    assert done.returncode == 0, done.stderr
    assert "the hub's set-up is safe to start" in done.stderr, done.stderr
    assert f"JupyterHub {jupyterhub.__version__} answers at {url}" in done.stderr


def test_the_exchange_has_nbgraders_permissions(released):
    """Everyone may create a course's folders in the root, nobody may remove another's; the
    instructor's `release` made inbound write-only and feedback enter-only for students."""
    exchange = released.hub.exchange
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    course = exchange / COURSE_ID
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) & 0o777 for p in course.iterdir()}
    assert modes["outbound"] == 0o755 and modes["inbound"] == 0o733, modes
    owner = released.people[INSTRUCTOR].uid
    assert all(p.stat().st_uid == owner for p in [course, *course.iterdir()])


def test_an_inbound_folder_students_could_list_stops_collect_with_the_command_to_run(
    feedback_fetched,
):
    """Opened by mistake (chmod 755), inbound shows every student's submission to the others;
    collect refuses, saying what to run, until it is closed again."""
    inbound = feedback_fetched.hub.exchange / COURSE_ID / "inbound"
    before = stat.S_IMODE(inbound.stat().st_mode)
    inbound.chmod(0o755)
    try:
        listed = run_as(feedback_fetched.people[BOB], ["ls", str(inbound)])
        assert ALICE in listed.stdout  # what the check is for
        command = [feedback_fetched.environment.bin("rnn-course"), "collect"]
        command += ["--course-dir", str(feedback_fetched.course)]
        refused = run_as(feedback_fetched.people[INSTRUCTOR], command, feedback_fetched.environment)
    finally:
        inbound.chmod(before)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(f"error: {inbound} has mode 755") and line.endswith(
        f"run: chmod 733 {inbound}"
    ), line


# --- a student with a login attacks the class -------------------------------------------------


def test_a_student_cannot_read_the_solutions_or_import_the_grader(hub_class):
    """The checkout (solutions, hidden tests, the grader) is the instructor's alone; students'
    servers run an environment that holds none of it."""
    alice = hub_class.people[ALICE]
    repo = hub_class.environment.repo
    for command in (
        ["cat", repo / "source_notebooks" / "rnn" / "03-rnn-from-scratch.ipynb"],
        ["ls", repo],
        ["ls", hub_class.environment.prefix],
    ):
        tried = run_as(alice, [str(part) for part in command])
        assert tried.returncode != 0 and "Permission denied" in tried.stderr, tried
    students = hub_class.environment.students / "env" / "bin" / "python"
    imported = run_as(alice, [str(students), "-c", "import autograder"])
    assert "ModuleNotFoundError" in imported.stderr, imported
    # a hidden test's helper and a line of a reference solution, anywhere in the students' env
    for secret in ("_expected_norms", "product = (slope[:, None] * W_hh.T) @ product"):
        found = subprocess.run(
            ["grep", "-rlF", secret, str(hub_class.environment.students)],
            capture_output=True,
            text=True,
        )
        assert found.stdout == "", found.stdout


STEALER = """<!DOCTYPE html><html><body><p id="result">running</p><script>
async function attempt(name, url, options) {
  try {
    const answer = await fetch(url, Object.assign({credentials: "include"}, options));
    return name + ": " + answer.status;
  } catch (error) {
    return name + ": refused";
  }
}
(async () => {
  const hub = "HUB";
  const me = new URL(location.href).searchParams.get("victim");
  const tried = [
    document.cookie ? "cookies: " + document.cookie : "cookies: none",
    await attempt("json token", hub + "/hub/api/users/" + me + "/tokens", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({note: "stolen"})}),
    await attempt("form token", hub + "/hub/api/users/" + me + "/tokens", {
      method: "POST", mode: "no-cors", body: new URLSearchParams({note: "stolen"})}),
    await attempt("victim's files", location.protocol + "//" + me + "." +
      location.host.split(".").slice(1).join(".") + "/user/" + me + "/api/contents/rnn", {}),
  ];
  document.getElementById("result").textContent = tried.join(" | ");
})();
</script></body></html>
"""


def serve_a_page(hub_class: HubClass, author: str, page: str) -> str:
    """The author adds a static folder to their own server's configuration and restarts it, as
    any student may; returns the page's address on their server's origin (served without a
    login)."""
    account = hub_class.people[author]
    script = (
        "import pathlib, sys\n"
        "home = pathlib.Path.home()\n"
        "(home / 'public').mkdir(exist_ok=True)\n"
        "(home / 'public' / 'steal.html').write_text(sys.argv[1])\n"
        "(home / '.jupyter').mkdir(exist_ok=True)\n"
        "(home / '.jupyter' / 'jupyter_server_config.py').write_text(\n"
        "    'c.ServerApp.extra_static_paths = [%r]\\n' % str(home / 'public'))\n"
    )
    done = run_as(account, ["/usr/bin/python3", "-c", script, page])
    assert done.returncode == 0, done.stderr
    user = hub_class.student(author)
    assert user.hub_api("DELETE", f"users/{author}/server").status_code in (202, 204)
    deadline = time.monotonic() + 60
    while user.hub_api("GET", f"users/{author}").json()["servers"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    user.start_server()
    return f"{hub_class.hub.origin(author)}/user/{author}/static/steal.html"


def tokens_of(user: HubUser) -> set[str]:
    return {
        t["id"]
        for t in user.hub_api("GET", f"users/{user.account.name}/tokens").json()["api_tokens"]
    }


def test_a_page_a_student_serves_cannot_act_as_a_classmate_or_the_instructor(hub_class, browser):
    """Alice serves a page from her own server; bob, then the instructor, open it while
    logged in to the hub. On her origin, their hub cookies are out of its reach: no token is
    made for them, nothing of theirs is read."""
    victims = (BOB, INSTRUCTOR)
    before = {name: tokens_of(hub_class.student(name)) for name in victims}
    link = serve_a_page(hub_class, ALICE, STEALER.replace("HUB", hub_class.hub.url))
    seen = {}
    for name in victims:
        page, _ = lab_as(browser, hub_class, name)  # logged in, their own lab open
        page.goto(f"{link}?victim={name}")
        page.wait_for_function(
            "document.getElementById('result').textContent !== 'running'", timeout=60_000
        )
        seen[name] = page.inner_text("#result")
        page.context.close()
    for name in victims:
        made = tokens_of(hub_class.student(name)) - before[name]
        # the tokens made since are the sessions the test itself opened (one per login), never
        # one with the attacker's note
        notes = {
            t["note"]
            for t in hub_class.student(name)
            .hub_api("GET", f"users/{name}/tokens")
            .json()["api_tokens"]
            if t["id"] in made
        }
        assert "stolen" not in notes, seen[name]
        assert "json token: 201" not in seen[name] and "victim's files: 200" not in seen[name]
        assert "cookies: none" in seen[name], seen[name]


def test_the_instructor_sees_the_class_but_cannot_open_a_students_server(hub_class):
    teacher = hub_class.student(INSTRUCTOR)
    assert teacher.hub_api("GET", "users").status_code == 200  # who is there
    assert teacher.hub_api("GET", f"users/{ALICE}").status_code == 200
    assert teacher.hub_api("POST", f"users/{ALICE}/tokens", json={}).status_code == 403
    opened = teacher.call("GET", "api/contents/rnn", owner=ALICE)
    # refused, or sent to log in as someone who may: never alice's files
    assert opened.status_code in (302, 403), opened.status_code
    assert opened.status_code == 403 or "/hub/" in opened.headers["Location"]
    assert teacher.hub_api("GET", "users").json()  # listed, and nobody is an administrator
    assert not any(user["admin"] for user in teacher.hub_api("GET", "users").json())


def test_a_student_cannot_claim_or_remove_the_courses_exchange_folders(released):
    exchange = released.hub.exchange
    bob = released.people[BOB]
    for command in (
        ["mkdir", exchange / COURSE_ID],
        ["mv", exchange / COURSE_ID, exchange / "mine"],
        ["rm", "-rf", exchange / COURSE_ID / "outbound"],
        ["rmdir", exchange / COURSE_ID / "inbound"],
    ):
        tried = run_as(bob, [str(part) for part in command])
        assert tried.returncode != 0, command
    assert (exchange / COURSE_ID / "outbound" / "rnn").is_dir()
    assert (exchange / COURSE_ID).stat().st_uid == released.people[INSTRUCTOR].uid


def test_filling_the_exchange_fills_only_the_exchange(released):
    """The exchange is a file system of its own of a fixed size: a student's 2 GB file does not
    fit, and the hub's state, the homes and the system keep their free space."""
    import os as system

    exchange = released.hub.exchange
    state = Path(released.hub.settings["RNN_HUB_STATE"])
    free = {path: system.statvfs(path).f_bavail for path in (state, released.people[BOB].home)}
    bob = released.people[BOB]
    tried = run_as(bob, ["fallocate", "-l", "2G", str(exchange / "bob-fills-it")])
    assert tried.returncode != 0 and "No space left" in tried.stderr, tried
    run_as(bob, ["rm", "-f", str(exchange / "bob-fills-it")])
    for path, before in free.items():
        block = system.statvfs(path).f_frsize
        assert (before - system.statvfs(path).f_bavail) * block < 100 * 1024**2, path


def test_a_students_server_writes_no_file_larger_than_the_limit(on_time):
    """Every process of a student's server (the contents API here) has a file size limit."""
    carol = on_time.student(CAROL)
    size = int(on_time.hub.settings["RNN_HUB_FILE_BYTES"]) + 1024**2
    import base64 as encoding

    content = encoding.b64encode(b"\0" * size).decode("ascii")
    saved = carol.call(
        "PUT",
        "api/contents/too-big.bin",
        json={"type": "file", "format": "base64", "content": content},
    )
    assert saved.status_code >= 400, saved.status_code
    written = on_time.people[CAROL].home / "too-big.bin"
    assert not written.exists() or written.stat().st_size < size
