"""Shared fixtures: the project's root, the real SEntFiN file, the built book, the assignment."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.course.cells import answer_sources, replace_sources
from autograder.course.folder import Course
from autograder.course.release import release
from autograder.jupyter_server import NO_REDIRECTS
from autograder.site.build import build_command, site_url
from autograder.site.build import toc_pages as site_toc_pages
from autograder.site.chapter_pdf import PDF_NAME, print_pdf
from course_data import DataError, fetch_sentfin

ROOT = Path(__file__).resolve().parents[1]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def rnn_course(*args: object) -> list[str]:
    """The command line of this environment's `rnn-course` with `args`, as a user types it."""
    return [str(Path(sys.executable).with_name("rnn-course")), *map(str, args)]


def wait_for_printed(process: subprocess.Popen, pattern: str, seconds: float) -> tuple[str, str]:
    """The first match of `pattern` on `process`'s stderr (text mode), and everything read so far.

    Fails the test if the process ends, or `seconds` pass, before printing it.
    """
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line or process.poll() is None, f"the command stopped: {''.join(lines)}"
        lines.append(line)
        found = re.search(pattern, line)
        if found:
            return found.group(0), "".join(lines)
    raise AssertionError(f"nothing matching {pattern!r} was printed: {''.join(lines)}")


def start_serving(command: list[str]) -> subprocess.Popen:
    """A command that serves until Ctrl+C, started as from a terminal: Ctrl+C (SIGINT) at its
    default. A process inherits an ignored SIGINT, and Python then never raises
    KeyboardInterrupt; a test worker may have it ignored (as a shell does for background jobs)."""
    return subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "300"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def stop_with_ctrl_c(
    process: subprocess.Popen, seconds: float = 60, how: signal.Signals = signal.SIGINT
) -> int:
    """Ctrl+C (or another signal: `kill` sends SIGTERM) to a command that serves until
    stopped; its exit status.

    If it does not end in time, fails with where its threads were (the CLI dumps them on
    SIGUSR1) and the rest of what it printed, instead of a bare timeout.
    """
    process.send_signal(how)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        process.wait()
        rest = process.stderr.read() if process.stderr else ""
        raise AssertionError(
            f"{how.name} did not stop the command within {seconds} s; its threads then:\n"
            f"{rest[-8000:]}"
        ) from None


def formgrader_api(server, path: str, body: dict | None = None, token: str | None = None):
    """The formgrader's REST API, as its page calls it (PUT with a JSON body to change)."""
    request = urllib.request.Request(
        f"{server.url}formgrader/api/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "PUT",
        headers={"Authorization": f"token {server.token if token is None else token}"},
    )
    with NO_REDIRECTS.open(request, timeout=30) as answer:
        return json.load(answer)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a test's own server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def sentfin_csv() -> Path:
    """The verified data set, found as the course finds it: $SENTFIN_CSV or the download."""
    try:
        return fetch_sentfin()
    except DataError as error:
        pytest.fail(f"the SEntFiN data set is needed by this test: {error}")


# --- the book ----------------------------------------------------------------------------------


@dataclass
class Build:
    returncode: int
    log: str
    html: Path


def build_book(output: Path, *extra: str) -> Build:
    finished = subprocess.run(
        build_command(output, *extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return Build(finished.returncode, finished.stdout + finished.stderr, output / "_build" / "html")


@pytest.fixture(scope="session")
def book_build(tmp_path_factory, sentfin_csv) -> Build:
    """One clean, strict build of the book (minutes), for every test of the `book` xdist group,
    then the chapter printed to its PDF as `rnn-course site build` does."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SENTFIN_CSV", str(sentfin_csv))
        build = build_book(tmp_path_factory.mktemp("book"))
    if build.returncode == 0:
        print_pdf(build.html, toc_pages(), build.html / PDF_NAME, site_url(ROOT))
    return build


@pytest.fixture(scope="session")
def site(request) -> Path:
    """The built HTML site; fails (not errors) every test needing it if the build failed.

    `RNN_COURSE_BUILT_SITE=_build/html` reuses a site you built (`rnn-course site build`) when
    working on the site's tests; CI and the README's test command always build afresh.
    """
    reused = os.environ.get("RNN_COURSE_BUILT_SITE")
    if reused:
        return Path(reused).resolve()
    book_build = request.getfixturevalue("book_build")
    assert book_build.returncode == 0, f"the clean build failed:\n{book_build.log[-6000:]}"
    return book_build.html


def toc_pages() -> list[str]:
    """Every document named in _toc.yml, without suffix (e.g. 'book/05-forecasting')."""
    return site_toc_pages(ROOT)


# --- the `rnn` assignment --------------------------------------------------------------------

ASSIGNMENT_SOURCE = ROOT / "source_notebooks" / "rnn"


def source_notebooks() -> list[Path]:
    return sorted(ASSIGNMENT_SOURCE.glob("*.ipynb"))


def solution_cells() -> dict[str, tuple[Path, str]]:
    """grade_id → (notebook, source) of every code solution cell of the reference."""
    return {
        grade_id: (path, source)
        for path in source_notebooks()
        for grade_id, source in answer_sources(path).items()
    }


def write_variant(path: Path, target: Path, replace: dict[str, str]) -> Path:
    """A copy of notebook `path` at `target` with the named solution cells' sources replaced."""
    notebook = nbformat.read(path, as_version=4)
    replace_sources(notebook, replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Course:
    """A course directory with the assignment released (and so known to the gradebook)."""
    course = Course.open(tmp_path_factory.mktemp("course"))
    release(course)
    return course
