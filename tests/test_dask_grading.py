"""Grading spread over machines: a real `dask scheduler` and two `dask worker` processes on
127.0.0.1, each running the sandboxed per-core grader. A class graded through them gets exactly
the scores of a local run; `kill -9` of a worker mid-class still grades every student once; an
unreachable scheduler and a worker without bubblewrap are one line each."""

from __future__ import annotations

import contextlib
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
from helpers import commands
from helpers.assignment import solution_cells, source_notebooks, write_variant
from helpers.commands import rnn_course
from helpers.servers import free_port

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.intake.submitted import submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]

SECONDS = 1500
LIMITS = ["--cell-timeout", "60", "--notebook-timeout", "300"]


def dask_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """The cluster's certificates, made as the README says: `rnn-course dask-certificates`."""
    folder = tmp_path_factory.mktemp("tls") / "certificates"
    subprocess.run(rnn_course("dask-certificates", "--out", folder), check=True, timeout=120)
    return folder


def tls(folder: Path, role: str) -> list[str]:
    return [
        "--tls-ca-file",
        str(folder / "ca.pem"),
        "--tls-cert",
        str(folder / f"{role}.pem"),
        "--tls-key",
        str(folder / f"{role}-key.pem"),
    ]


class Cluster:
    """A scheduler and its workers, each its own process, as on separate machines, speaking
    TLS with the course's certificates (or plain TCP, where a test says so)."""

    def __init__(self, workers: int, certificates: Path | None, env: dict | None = None):
        self.port = free_port()
        self.certificates = certificates
        protocol = "tls" if certificates else "tcp"
        self.address = f"{protocol}://127.0.0.1:{self.port}"
        secure = ["--protocol", "tls", *tls(certificates, "scheduler")] if certificates else []
        self.scheduler = subprocess.Popen(
            dask_command(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-dashboard",
                *secure,
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.workers: list[subprocess.Popen] = []
        try:
            for number in range(workers):
                self.add_worker(f"w{number}", env)
            self.wait_for(workers)
        except BaseException:
            self.stop()
            raise

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
                *(tls(self.certificates, "worker") if self.certificates else []),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    @property
    def options(self) -> list[str]:
        """What `rnn-course autograde` is given to grade on this cluster."""
        if self.certificates:
            return ["--scheduler", self.address, "--tls-folder", str(self.certificates)]
        return ["--scheduler", self.address, "--allow-plain-tcp"]

    def wait_for(self, count: int) -> None:
        from distributed import Client

        from autograder.sandbox.dask_tls import client_security

        security = client_security(self.certificates) if self.certificates else None
        with Client(self.address, timeout=60, security=security) as client:
            if count:
                client.wait_for_workers(count, timeout=120)

    def stop(self) -> None:
        for worker in self.workers:  # a worker and the process it starts for its tasks
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.scheduler.pid, signal.SIGKILL)
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


def test_a_class_graded_through_a_tls_dask_cluster_gets_exactly_the_local_scores(
    class_folder, local_scores, tmp_path, certificates
):
    cluster = Cluster(workers=2, certificates=certificates)
    try:
        course = copy_course(class_folder, tmp_path / "course")
        assert scores(graded(course, *cluster.options)) == local_scores
    finally:
        cluster.stop()
    assert len(local_scores) == 8
    assert float(local_scores["reference"]["total"]) == 20.0


def test_the_local_dask_cluster_gets_the_same_scores(class_folder, local_scores, tmp_path):
    course = copy_course(class_folder, tmp_path / "course")
    assert scores(graded(course, "--engine", "dask")) == local_scores
    assert "a local cluster of" in PRINTED[course] and "dashboard: none" in PRINTED[course]
    # asked for, the local cluster's dashboard is started and its address printed
    graded(course, "--force", "--student", "reference", "--engine", "dask", "--dashboard")
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/status", PRINTED[course])


def test_a_plain_tcp_scheduler_is_refused_unless_the_instructor_says_the_network_is_theirs(
    class_folder, tmp_path
):
    course = copy_course(class_folder, tmp_path / "course")
    address = f"tcp://127.0.0.1:{free_port()}"
    finished = subprocess.run(
        rnn_course("autograde", "--course-dir", course, "--scheduler", address),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = one_line(finished)
    assert "plain, unauthenticated TCP" in line and "--allow-plain-tcp" in line
    # with the opt-out, a plain-TCP cluster grades (the student below gets the local scores)
    cluster = Cluster(workers=1, certificates=None)
    try:
        options = [*cluster.options, "--student", "reference"]
        rows = graded(course, *options)
        assert float(rows["reference"]["total"]) == 20.0
        assert "speaks plain TCP" in PRINTED[course]
    finally:
        cluster.stop()


def test_a_client_without_the_course_certificate_cannot_reach_the_scheduler(certificates, tmp_path):
    """The scheduler requires a certificate its CA signed: another CA's client is refused."""
    from distributed import Client

    from autograder.sandbox.dask_tls import client_security, make_certificates

    cluster = Cluster(workers=0, certificates=certificates)  # it answers its own clients
    stranger = tmp_path / "stranger"
    make_certificates(stranger)
    try:
        with pytest.raises((OSError, TimeoutError)):
            Client(cluster.address, timeout=10, security=client_security(stranger))
        with pytest.raises((OSError, TimeoutError)):  # and no client at all without TLS
            Client(cluster.address.replace("tls://", "tcp://"), timeout=10)
    finally:
        cluster.stop()


def test_a_worker_killed_mid_class_has_its_work_redone_and_every_student_graded_once(
    class_folder, local_scores, tmp_path, certificates
):
    cluster = Cluster(workers=2, certificates=certificates)
    try:
        course = copy_course(class_folder, tmp_path / "course")
        grader = subprocess.Popen(
            rnn_course("autograde", "--course-dir", course, *LIMITS, *cluster.options),
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
    return commands.one_line(finished, only=False)  # progress bars may come before it


def test_an_unreachable_scheduler_is_one_line(class_folder, tmp_path, certificates):
    course, certs = copy_course(class_folder, tmp_path / "course"), certificates
    started = time.monotonic()
    address = f"tls://127.0.0.1:{free_port()}"
    finished = subprocess.run(
        rnn_course(
            "autograde", "--course-dir", course, "--scheduler", address, "--tls-folder", certs
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = one_line(finished)
    assert "--scheduler" in line and "dask scheduler" in line
    assert time.monotonic() - started < 90


def test_a_worker_without_bubblewrap_refuses_to_grade(class_folder, tmp_path, certificates):
    """Its PATH has no bwrap: it must not run student code unsandboxed."""
    venv_bin = str(Path(sys.executable).parent)
    cluster = Cluster(workers=1, certificates=certificates, env=os.environ | {"PATH": venv_bin})
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
                *cluster.options,
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
    class_folder, tmp_path, certificates
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
    cluster = Cluster(workers=1, certificates=certificates, env=os.environ | {"PATH": path})
    try:
        course = copy_course(class_folder, tmp_path / "course")
        finished = subprocess.run(
            rnn_course("autograde", "--course-dir", course, *LIMITS, *cluster.options),
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


STUCK_FETCH = """
import concurrent.futures, threading
from autograder.sandbox.dask_engine import DaskEngine

class Remote:  # a finished Dask future whose result fetch waits on a loop that has stopped
    def add_done_callback(self, callback):
        self.callback = callback
    def result(self, timeout=None):
        threading.Event().wait()

class Client:
    def submit(self, *args, **kwargs):
        self.remote = Remote()
        return self.remote

engine = object.__new__(DaskEngine)
engine.client, engine.cluster = Client(), None
engine._stop, engine._fallbacks_said = threading.Event(), set()
engine.submit(None, "reference-rnn")
callbacks = concurrent.futures.ThreadPoolExecutor(1)  # as Dask runs done callbacks
callbacks.submit(engine.client.remote.callback, engine.client.remote).result(timeout=60)
print("exiting")
"""


def test_a_result_fetch_left_waiting_when_grading_stops_does_not_hold_the_exit():
    """The first worker's refusal stops the class and closes the client while other notebooks'
    results are being fetched; those fetches never end, and the command must still exit."""
    finished = subprocess.run(
        [sys.executable, "-c", STUCK_FETCH], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip() == "exiting"


def test_a_remote_workers_fallback_to_fresh_sandboxes_is_said_once(caplog):
    from autograder.sandbox.dask_engine import DaskEngine
    from autograder.sandbox.engine import RunResult

    engine = object.__new__(DaskEngine)  # what settling a remote worker's result needs
    engine.cluster, engine._fallbacks_said = None, set()
    for _ in range(3):
        engine._say_fallback(RunResult(fallback="mount_setattr is not available"))
    engine._say_fallback(RunResult())
    said = [r.getMessage() for r in caplog.records if "sandbox of their own" in r.getMessage()]
    assert len(said) == 1 and "mount_setattr is not available" in said[0]
