"""Grading spread over machines: a real `dask scheduler` and two `dask worker` processes on
127.0.0.1, each running the sandboxed per-core grader. A class graded through them gets exactly
the scores of a local run; `kill -9` of a worker mid-class still grades every student once; an
unreachable scheduler and a worker without bubblewrap are one line each."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assignment_mutants import MUTANTS
from conftest import free_port, rnn_course, solution_cells, source_notebooks, write_variant

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.intake.submitted import submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]

SECONDS = 1500
LIMITS = ["--cell-timeout", "60", "--notebook-timeout", "300"]


def dask_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


class Cluster:
    """A scheduler and its workers, each its own process, as on separate machines."""

    def __init__(self, workers: int, env: dict | None = None):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = subprocess.Popen(
            dask_command(
                "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers: list[subprocess.Popen] = []
        for number in range(workers):
            self.add_worker(f"w{number}", env)
        self.wait_for(workers)

    def add_worker(self, name: str, env: dict | None = None) -> subprocess.Popen:
        worker = subprocess.Popen(
            dask_command(
                "worker",
                self.address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                name,
                "--memory-limit",
                "0",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def wait_for(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(count, timeout=120)

    def stop(self) -> None:
        for worker in self.workers:  # a worker and the process it starts for its tasks
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        self.scheduler.kill()
        self.scheduler.wait()


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    """A released course with eight students: the reference, the untouched release and six
    students with one mistake each."""
    course = Course.open(tmp_path_factory.mktemp("dask-class"))
    released = release(course)
    submit(course, "reference", source_notebooks())
    submit(course, "untouched", sorted(released.glob("*.ipynb")))
    folder = tmp_path_factory.mktemp("answers")
    answers = solution_cells()
    for number, mutant in enumerate(MUTANTS[::6][:6]):
        path, source = answers[mutant.grade_id]
        notebooks = [
            write_variant(
                path, folder / str(number) / path.name, {mutant.grade_id: mutant.apply(source)}
            )
            if p == path
            else p
            for p in source_notebooks()
        ]
        submit(course, f"mutant-{number}", notebooks)
    return course.root


def copy_course(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target, symlinks=True)
    return target


PRINTED: dict[Path, str] = {}  # what each course's last autograde printed


def graded(course_dir: Path, *args: str) -> dict[str, dict[str, str]]:
    finished = subprocess.run(
        rnn_course("autograde", "--course-dir", course_dir, *LIMITS, *args),
        capture_output=True,
        text=True,
        timeout=SECONDS,
        env=os.environ | {"COLUMNS": "300"},  # each message on one line
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    PRINTED[course_dir] = finished.stderr
    return exported(course_dir)


def exported(course_dir: Path) -> dict[str, dict[str, str]]:
    """student → their row of `rnn-course export`."""
    out = course_dir / "grades.csv"
    subprocess.run(
        rnn_course("export", "--course-dir", course_dir, "--out", out),
        check=True,
        capture_output=True,
        timeout=300,
    )
    with out.open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def scores(rows: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    skip = {"status", "submitted_at", "intake_note"}
    return {s: {k: v for k, v in row.items() if k not in skip} for s, row in rows.items()}


@pytest.fixture(scope="module")
def local_scores(class_folder, tmp_path_factory):
    """The class graded on this machine with the local process pool: the reference."""
    course = copy_course(class_folder, tmp_path_factory.mktemp("local") / "course")
    return scores(graded(course, "--engine", "pool", "--workers", "2"))


def test_a_class_graded_through_a_dask_cluster_gets_exactly_the_local_scores(
    class_folder, local_scores, tmp_path
):
    cluster = Cluster(workers=2)
    try:
        course = copy_course(class_folder, tmp_path / "course")
        assert scores(graded(course, "--scheduler", cluster.address)) == local_scores
    finally:
        cluster.stop()
    assert len(local_scores) == 8
    assert float(local_scores["reference"]["total"]) == 20.0


def test_the_default_local_cluster_gets_the_same_scores(class_folder, local_scores, tmp_path):
    course = copy_course(class_folder, tmp_path / "course")
    assert scores(graded(course)) == local_scores  # the default engine: a Dask LocalCluster
    assert "a local cluster of" in PRINTED[course] and "dashboard: none" in PRINTED[course]
    # asked for, the local cluster's dashboard is started and its address printed
    graded(course, "--force", "--student", "reference", "--dashboard")
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/status", PRINTED[course])


def test_a_worker_killed_mid_class_has_its_work_redone_and_every_student_graded_once(
    class_folder, local_scores, tmp_path
):
    cluster = Cluster(workers=2)
    try:
        course = copy_course(class_folder, tmp_path / "course")
        grader = subprocess.Popen(
            rnn_course(
                "autograde", "--course-dir", course, *LIMITS, "--scheduler", cluster.address
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"COLUMNS": "300"},  # each message on one line
        )
        # kill a worker once grading is well under way: the first student is in the gradebook
        deadline = time.monotonic() + SECONDS
        while not list((course / "autograded").glob("*/rnn/grading.json")):
            assert grader.poll() is None, grader.stderr.read()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.5)
        victim = cluster.workers[0]
        os.killpg(victim.pid, signal.SIGKILL)
        _, err = grader.communicate(timeout=SECONDS)
        assert grader.returncode == 0, err[-3000:]
        assert "was lost; its notebooks are being graded again" in err, err[-5000:]
        assert scores(exported(course)) == local_scores
        import sqlite3

        with sqlite3.connect(course / "gradebook.db") as db:
            twice = db.execute(
                "SELECT count(*) FROM (SELECT notebook_id, cell_id FROM grade "
                "GROUP BY notebook_id, cell_id HAVING count(*) > 1)"
            ).fetchone()
            submissions = db.execute("SELECT count(*) FROM submitted_assignment").fetchone()
        assert twice == (0,) and submissions == (8,)
    finally:
        cluster.stop()


def one_line(finished: subprocess.CompletedProcess) -> str:
    assert finished.returncode == 1 and "Traceback" not in finished.stderr, finished.stderr
    (line,) = [ln for ln in finished.stderr.strip().splitlines() if ln.startswith("error:")]
    return line


def test_an_unreachable_scheduler_is_one_line(class_folder, tmp_path):
    course = copy_course(class_folder, tmp_path / "course")
    started = time.monotonic()
    finished = subprocess.run(
        rnn_course(
            "autograde", "--course-dir", course, "--scheduler", f"tcp://127.0.0.1:{free_port()}"
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = one_line(finished)
    assert "--scheduler" in line and "dask scheduler" in line
    assert time.monotonic() - started < 90


def test_a_worker_without_bubblewrap_refuses_to_grade(class_folder, tmp_path):
    """Its PATH has no bwrap: it must not run student code unsandboxed."""
    venv_bin = str(Path(sys.executable).parent)
    cluster = Cluster(workers=1, env=os.environ | {"PATH": venv_bin})
    try:
        course = copy_course(class_folder, tmp_path / "course")
        finished = subprocess.run(
            rnn_course(
                "autograde",
                "--course-dir",
                course,
                *LIMITS,
                "--student",
                "reference",
                "--scheduler",
                cluster.address,
            ),
            capture_output=True,
            text=True,
            timeout=SECONDS,
        )
        line = one_line(finished)
        assert "has no bubblewrap" in line and "--unsafe-no-sandbox" in line
        assert not list((course / "autograded").glob("*/rnn/grading.json"))
    finally:
        cluster.stop()


def test_a_worker_whose_sandbox_cannot_start_stops_the_class_instead_of_zeroing_it(
    class_folder, tmp_path
):
    """bubblewrap is there but refused (as where user namespaces are off): the worker's trial
    run says so before any student's notebook runs."""
    refused = tmp_path / "bin"
    refused.mkdir()
    (refused / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
    )
    (refused / "bwrap").chmod(0o755)
    path = f"{refused}:{Path(sys.executable).parent}:/usr/bin:/bin"
    cluster = Cluster(workers=1, env=os.environ | {"PATH": path})
    try:
        course = copy_course(class_folder, tmp_path / "course")
        finished = subprocess.run(
            rnn_course(
                "autograde", "--course-dir", course, *LIMITS, "--scheduler", cluster.address
            ),
            capture_output=True,
            text=True,
            timeout=SECONDS,
            env=os.environ | {"COLUMNS": "300"},
        )
        line = one_line(finished)
        assert "does not start here" in line and "Permission denied" in line
        assert not list((course / "autograded").glob("*/rnn/grading.json"))
    finally:
        cluster.stop()


def test_a_remote_workers_fallback_to_fresh_sandboxes_is_said_once(caplog):
    from autograder.sandbox import bubblewrap as sandbox
    from autograder.sandbox.dask_engine import DaskEngine

    engine = object.__new__(DaskEngine)  # what settling a remote worker's result needs
    engine.cluster, engine._fallbacks_said = None, set()
    for _ in range(3):
        engine._say_fallback(sandbox.RunResult(fallback="mount_setattr is not available"))
    engine._say_fallback(sandbox.RunResult())
    said = [r.getMessage() for r in caplog.records if "sandbox of their own" in r.getMessage()]
    assert len(said) == 1 and "mount_setattr is not available" in said[0]
