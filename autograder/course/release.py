"""Release: the student version of an assignment, with its solutions and hidden tests removed.

nbgrader's `generate_assignment` does the removal; this module then checks its output for any
marker of a solution or hidden test before anything is handed out, because a leaked hidden test
cannot be taken back. `release_assignment` is the whole `rnn-course release`: the due date
checked and stored, the student version made, zipped if asked, and published to the exchange.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

from autograder.course.deadlines import due_date, parse_due, set_due_date, shown_time
from autograder.course.exchange import check_exchange
from autograder.course.folder import ASSIGNMENT, Course, nbgrader_failure
from autograder.course.settings import public_site_url
from autograder.errors import CourseError

log = logging.getLogger(__name__)

SITE_URL_PLACEHOLDER = "{site_url}"
SITE_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\(" + re.escape(SITE_URL_PLACEHOLDER) + r"[^)]*\)")
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def due_notice(course: Course, due: dt.datetime) -> str:
    """The first cell of every released notebook: when it is due, and what lateness costs."""
    zone = course.settings.timezone
    local = shown_time(due, zone)
    utc = f" ({shown_time(due, 'UTC')})" if zone != "UTC" else ""
    return (
        f"**Due {local}**{utc}. Late work: {course.settings.late.describe()}. An extension or "
        "late tokens your instructor gave you move your own due date; on the class hub, the "
        "Assignments panel shows yours and says when a submission would be late."
    )


def with_site_links(markdown: str, site: str | None) -> str:
    """The sources' links to the course website (`[text]({site_url}book/…)`) pointed at
    `site`; with no website published yet, the link's text alone (never a dead address)."""
    if site is None:
        markdown = SITE_LINK.sub(lambda link: link["text"], markdown)
    elif SITE_URL_PLACEHOLDER in markdown:
        markdown = markdown.replace(SITE_URL_PLACEHOLDER, site)
    if SITE_URL_PLACEHOLDER in markdown:
        raise CourseError(f"{SITE_URL_PLACEHOLDER} outside a Markdown link: {markdown[:200]!r}")
    return markdown


def release(course: Course, assignment: str = ASSIGNMENT, site_url: str | None = None) -> Path:
    """Generate `release/<assignment>/` from the sources, check it, and return its path.

    The sources' Markdown links to the course website as `[text]({site_url}book/…)`; the
    release links to `site_url` (default: the course's `site_url` setting), or keeps the text
    alone if neither is set. If the assignment has a due date, each notebook begins with it.
    """
    source = course.folder("source", ".", assignment)
    if not sorted(source.glob("*.ipynb")):
        raise CourseError(f"{source}: no notebooks to release; is the assignment name right?")
    log.info("generating the student version of %s from %s", assignment, source)
    site = site_url or course.settings.site_url
    site = public_site_url(site) if site else None
    if site is None:
        log.warning(
            "no course website address: the notebooks name its pages without links (set one "
            "with `rnn-course configure --site-url`)"
        )
    due = due_date(course, assignment)
    with tempfile.TemporaryDirectory(prefix="rnn-course-sources-") as staging:
        staged = Path(staging) / assignment
        shutil.copytree(source, staged)
        for path in staged.glob("*.ipynb"):
            notebook = nbformat.read(path, as_version=4)
            for cell in notebook.cells:
                if cell.cell_type == "markdown":
                    cell.source = with_site_links(cell.source, site)
            if due:
                notebook.cells.insert(0, nbformat.v4.new_markdown_cell(due_notice(course, due)))
            nbformat.write(notebook, path)
        staged_course = dataclasses.replace(course, source=Path(staging))
        result = staged_course.api().generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise nbgrader_failure("generate_assignment", result)
    released = course.folder("release", ".", assignment)
    leaks = find_leaks(released)
    if leaks:
        for notebook in released.glob("*.ipynb"):
            notebook.unlink()
        raise CourseError(f"the release was deleted because it leaks {leaks[0]}")
    return released


def publish(course: Course, assignment: str = ASSIGNMENT) -> Path:
    """Put the release into the course's nbgrader exchange, for `nbgrader fetch`/`submit`."""
    api = course.api(**{"ExchangeReleaseAssignment.force": True})
    result = api.release_assignment(assignment)
    if not result["success"]:
        raise nbgrader_failure("release_assignment", result)
    return course.exchange


def find_leaks(folder: Path) -> list[str]:
    """Every solution or hidden-test marker left in a folder's notebooks, as 'file: marker'."""
    leaks = []
    for path in sorted(folder.rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            leaks += [
                f"{path.name}: {marker!r}" for marker in LEAK_MARKERS if marker in cell.source
            ]
    return leaks


def student_zip(released: Path, target: Path, extras: dict[str, str] | None = None) -> Path:
    """A zip of the released notebooks, as students download it (`<assignment>/<notebook>`),
    with `extras` (file name → text, e.g. a README) beside them."""
    notebooks = sorted(released.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"{released}: nothing released yet; run `rnn-course release` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for notebook in notebooks:
            archive.write(notebook, f"{released.name}/{notebook.name}")
        for name, text in (extras or {}).items():
            entry = zipfile.ZipInfo(f"{released.name}/{name}", date_time=(2026, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16  # readable like the notebooks, not owner-only
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text)
    return target


@dataclasses.dataclass(frozen=True)
class Released:
    folder: Path  # release/<assignment>/
    zip: Path | None  # the student zip, if asked for
    exchange: Path | None  # where it was published, if it was
    due: dt.datetime | None  # the due date now in force (aware, UTC)


def release_assignment(
    course: Course,
    assignment: str = ASSIGNMENT,
    due: str | None = None,
    timezone: str | None = None,
    allow_past_due: bool = False,
    zip_to: Path | None = None,
    publish_to_exchange: bool = True,
) -> Released:
    """`rnn-course release`: a due date that has passed is refused unless allowed, and the
    exchange is checked before and after publishing, so a class never gets half a release."""
    course.check_database()
    zone = timezone or course.settings.timezone
    deadline = parse_due(due, zone) if due else None
    if deadline and deadline < dt.datetime.now(dt.UTC) and not allow_past_due:
        raise CourseError(
            f"the due date {due} ({zone}) has passed; check it, or pass --allow-past-due"
        )
    if publish_to_exchange:
        check_exchange(course)
    if deadline:
        set_due_date(course, assignment, deadline)
    folder = release(course, assignment)
    zipped = student_zip(folder, zip_to) if zip_to else None
    exchange = None
    if publish_to_exchange:
        exchange = publish(course, assignment)
        check_exchange(course)
    return Released(folder, zipped, exchange, due_date(course, assignment))
