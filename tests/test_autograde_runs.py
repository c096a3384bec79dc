"""An `autograde` run as the instructor starts it: alone on its students, stopped with Ctrl+C,
and invisible on the network.

* Two runs over the same students cannot both grade (the second says who holds the class);
  runs over disjoint sections can.
* Ctrl+C says how many students were graded and recorded, and how to resume.
* Nothing of `autograde` listens on the network by default; with `--engine dask --dashboard`
  only on loopback; Dask's scratch folder is a private one, removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers.classes import make_class
from helpers.commands import one_line, rnn_course, run
from helpers.servers import start_serving

from autograder.course.folder import Course

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("runs")]

LIMITS = ["--cell-timeout", "45", "--notebook-timeout", "300"]
LOOPBACK = {"127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    """Three students, graded once (the reference's records are then cached)."""
    course = make_class(tmp_path_factory.mktemp("runs") / "course", tmp_path_factory.mktemp("w"), 3)
    run("autograde", "--course-dir", course.root, *LIMITS, check=True, timeout=900)
    return course.root


def grading(course: Path, *args: str) -> subprocess.Popen:
    return start_serving(rnn_course("autograde", "--course-dir", course, *LIMITS, *args))


def wait_until_grading(course: Path, process: subprocess.Popen) -> None:
    """Until the run holds the class's lock and its sandboxes have started (a few seconds of
    a --no-fork run, which takes some ten seconds a notebook, are then left)."""
    deadline = time.monotonic() + 300
    while not list((course / "autograder" / "locks").glob("holder-*.json")):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.1)
    time.sleep(3)


def test_a_second_run_over_the_same_students_is_refused_and_names_the_first(class_folder):
    first = grading(class_folder, "--force", "--no-fork")
    try:
        wait_until_grading(class_folder, first)
        for students in ([], ["--student", "s1"]):
            second = run("autograde", "--course-dir", class_folder, "--force", *students)
            line = one_line(second)
            assert "another autograde is grading" in line and f"pid {first.pid}" in line
        # a section of other students may be graded at the same time (as on PostgreSQL)
    finally:
        _, rest = first.communicate(timeout=900)
    assert first.returncode == 0, rest[-3000:]
    assert not list((class_folder / "autograder" / "locks").glob("holder-*"))


def test_disjoint_sections_are_graded_at_the_same_time(class_folder):
    sections = [grading(class_folder, "--force", "--student", s) for s in ("s0", "s1")]
    for process in sections:
        _, rest = process.communicate(timeout=900)
        assert process.returncode == 0, rest[-3000:]


def test_ctrl_c_says_what_was_done_and_how_to_resume(class_folder):
    process = grading(class_folder, "--force", "--no-fork")
    wait_until_grading(class_folder, process)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=300)
    assert process.returncode == 130, rest[-3000:]
    assert re.search(r"interrupted: \d+ students were graded and recorded", rest), rest[-3000:]
    assert "run the same command again" in rest and "Traceback" not in rest
    finished = run("autograde", "--course-dir", class_folder, *LIMITS, check=True, timeout=900)
    assert "graded" in finished.stderr


# --- the network ------------------------------------------------------------------------------


def tree(pid: int) -> set[int]:
    """A process and all of its descendants, now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo += children.get(current, [])
    return found


def address(hexed: str) -> str:
    host = hexed.split(":")[0]
    if len(host) == 8:
        return ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
    words = [bytes.fromhex(host[i : i + 8])[::-1].hex() for i in range(0, 32, 8)]
    full = "".join(words)
    return "::1" if int(full, 16) == 1 else ":".join(full[i : i + 4] for i in range(0, 32, 4))


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, pid) of every listening TCP socket of `pid`'s tree that others could reach:
    processes in a network namespace of their own (the sandboxes: loopback only, unreachable)
    are left out, and said to be so."""
    own_net = os.readlink(f"/proc/{pid}/ns/net")
    found = set()
    for member in tree(pid):
        try:
            if os.readlink(f"/proc/{member}/ns/net") != own_net:
                continue
            inodes = {
                target[8:-1]
                for fd in os.listdir(f"/proc/{member}/fd")
                if (target := os.readlink(f"/proc/{member}/fd/{fd}")).startswith("socket:[")
            }
            for table in ("tcp", "tcp6"):
                for line in Path(f"/proc/{member}/net/{table}").read_text().splitlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and fields[9] in inodes:
                        found.add((address(fields[1]), member))
        except OSError:  # the process ended while it was looked at
            continue
    return found


def listened_while_grading(course: Path, *args: str) -> tuple[set[tuple[str, int]], int]:
    process = grading(course, "--force", *args)
    seen, samples = set(), 0
    while process.poll() is None:
        seen |= listening(process.pid)
        samples += 1
        time.sleep(0.1)
    _, rest = process.communicate()
    assert process.returncode == 0, rest[-3000:]
    return seen, samples


def dask_scratch() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("dask-scratch-space*")}


def test_by_default_nothing_of_autograde_listens_on_the_network(class_folder):
    seen, samples = listened_while_grading(class_folder)
    assert samples > 10, "looked while it graded"
    assert seen == set()


def test_a_local_dask_cluster_listens_on_loopback_only_and_scratches_privately(class_folder):
    before = dask_scratch()
    private = {p.name for p in Path(tempfile.gettempdir()).glob("rnn-course-dask-*")}
    seen, samples = listened_while_grading(class_folder, "--engine", "dask", "--dashboard")
    assert samples > 10 and seen, "the dashboard listens"
    assert {host for host, _ in seen} <= LOOPBACK, seen
    assert dask_scratch() == before, "Dask's shared /tmp scratch folder was not used"
    left = {p.name for p in Path(tempfile.gettempdir()).glob("rnn-course-dask-*")} - private
    assert not left, "the run's private scratch folder is removed"


def test_the_engine_options_are_checked_in_one_line(class_folder, tmp_path):
    course = Course.existing(class_folder)
    for options, words in [
        (["--engine", "pool", "--dashboard"], "--dashboard is Dask's"),
        (["--engine", "threads"], "choose pool or dask"),
        (["--workers", "0"], "at least 1"),
        (["--scheduler", "tls://127.0.0.1:9"], "--tls-folder"),
        (["--scheduler", "http://127.0.0.1:9"], "tls://"),
    ]:
        assert words in one_line(run("autograde", "--course-dir", course.root, *options))
    shutil.rmtree(tmp_path, ignore_errors=True)
