"""The gradebook on a real PostgreSQL server: every command, the formgrader included; two
graders writing at once lose nothing; a bad URL, a server that is down or a wrong password is
one line naming the setting, within seconds."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers import commands
from helpers.assignment import source_notebooks
from helpers.commands import rnn_course
from helpers.servers import formgrader_api, free_port
from postgres_server import PASSWORD, start_postgres

from autograder.course.folder import Course
from autograder.intake.submitted import submit
from autograder.results.formgrade import start_formgrader

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]

SECONDS = 1800


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


def run(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    return commands.run(*args, check=check, timeout=SECONDS)


def rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def released_notebooks(course_dir: Path) -> list[Path]:
    return sorted((course_dir / "release" / "rnn").glob("*.ipynb"))


def test_the_whole_workflow_runs_on_postgresql(postgres, tmp_path):
    course_dir, url = tmp_path / "course", postgres.url()
    run("release", "--course-dir", course_dir, "--db-url", url, "--no-exchange")
    course = Course.open(course_dir, db_url=url)
    assert not (course_dir / "gradebook.db").exists()
    assert PASSWORD not in (course_dir / "nbgrader_config.py").read_text()
    submit(course, "alice", source_notebooks())
    submit(course, "bob", released_notebooks(course_dir))  # untouched: no points
    run("autograde", "--course-dir", course_dir, "--db-url", url)
    # an instructor's score for a written answer, through the formgrader's own API
    server = start_formgrader(course, free_port())
    try:
        (alice,) = [
            s
            for s in formgrader_api(server, "submitted_notebooks/rnn/01-gradients")
            if s["student"] == "alice"
        ]
        (written,) = [
            g
            for g in formgrader_api(server, f"grades?submission_id={alice['id']}")
            if g["name"] == "ex1_written"
        ]
        formgrader_api(server, f"grade/{written['id']}", {"manual_score": 1.0})
    finally:
        server.stop()
    run("feedback", "--course-dir", course_dir, "--db-url", url)
    out = tmp_path / "grades.csv"
    run("export", "--course-dir", course_dir, "--db-url", url, "--out", out)
    run("report", "--course-dir", course_dir, "--db-url", url)
    grades = rows(out)
    assert set(grades) == {"alice", "bob"}
    assert grades["alice"]["ex1_written"] == "1"
    assert float(grades["alice"]["total"]) == 20.0 + 1.0  # every test, and the written answer
    assert float(grades["bob"]["total"]) == 0.0
    assert (course_dir / "feedback" / "alice" / "rnn" / "01-gradients.html").is_file()
    assert "2 graded submissions" in (course_dir / "reports" / "rnn-report.html").read_text()
    counted = postgres.psql("SELECT count(*) FROM submitted_assignment", database="gradebook")
    assert counted.strip() == "2"


def test_two_graders_at_once_on_disjoint_halves_lose_nothing(postgres, tmp_path):
    """Two `autograde` processes, two sections, one database: the export is complete."""
    course_dir = tmp_path / "course"
    url = postgres.url()
    postgres.psql("CREATE DATABASE sections OWNER instructor")
    url = postgres.url(database="sections")
    run("release", "--course-dir", course_dir, "--db-url", url, "--no-exchange")
    course = Course.open(course_dir, db_url=url)
    full, empty = source_notebooks(), released_notebooks(course_dir)
    sections = {"one": ["ann", "ben"], "two": ["cat", "dan"]}
    answers = {"ann": full, "ben": empty, "cat": empty, "dan": full}
    for student, notebooks in answers.items():
        submit(course, student, notebooks)
    # the reference runs once first, so the two graders do not race to write its cache
    run(
        "autograde",
        "--course-dir",
        course_dir,
        "--db-url",
        url,
        "--student",
        "ann",
        "--workers",
        "1",
    )
    started = [
        subprocess.Popen(
            rnn_course(
                "autograde",
                "--course-dir",
                course_dir,
                "--db-url",
                url,
                "--force",
                "--workers",
                "1",
                *[a for s in students for a in ("--student", s)],
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for students in sections.values()
    ]
    for process in started:
        _, err = process.communicate(timeout=SECONDS)
        assert process.returncode == 0, err[-3000:]
    out = tmp_path / "grades.csv"
    run("export", "--course-dir", course_dir, "--db-url", url, "--out", out)
    grades = rows(out)
    assert set(grades) == {"ann", "ben", "cat", "dan"}
    assert {s: float(r["total"]) for s, r in grades.items()} == {
        "ann": 20.0,
        "ben": 0.0,
        "cat": 0.0,
        "dan": 20.0,
    }
    duplicates = postgres.psql(
        "SELECT count(*) FROM (SELECT notebook_id, cell_id FROM grade "
        "GROUP BY notebook_id, cell_id HAVING count(*) > 1) AS twice",
        database="sections",
    )
    assert duplicates.strip() == "0"


@pytest.mark.parametrize("problem", ["wrong password", "server down", "not a URL"])
def test_a_gradebook_that_cannot_be_reached_is_one_line_within_seconds(postgres, tmp_path, problem):
    url = {
        "wrong password": postgres.url(password="not-it"),
        "server down": f"postgresql+psycopg://instructor:x@127.0.0.1:{free_port()}/gradebook",
        "not a URL": "postgres-ql://somewhere",
    }[problem]
    (tmp_path / "course").mkdir()
    started = time.monotonic()
    finished = run(
        "export",
        "--course-dir",
        tmp_path / "course",
        "--db-url",
        url,
        "--out",
        tmp_path / "g.csv",
        check=False,
    )
    assert time.monotonic() - started < 20
    assert finished.returncode == 1 and "Traceback" not in finished.stderr
    (line,) = finished.stderr.strip().splitlines()
    assert "--db-url" in line and "RNN_COURSE_DB_URL" in line
    assert "not-it" not in line  # the password is never printed
    expected = {
        "wrong password": "password authentication failed",
        "server down": "Connection refused",
        "not a URL": "Could not parse",
    }[problem]
    assert expected in line


def test_a_url_without_its_password_reads_it_from_pgpass(postgres, tmp_path):
    from postgres_server import ROLE

    postgres.psql(f"CREATE DATABASE pgpass_book OWNER {ROLE}")
    url = f"postgresql+psycopg://{ROLE}@127.0.0.1:{postgres.port}/pgpass_book"
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:pgpass_book:{ROLE}:{PASSWORD}\n")
    passfile.chmod(0o600)
    course_dir = tmp_path / "course"
    command = rnn_course("release", "--course-dir", course_dir, "--db-url", url, "--no-exchange")
    without = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS)
    assert without.returncode == 1 and "Traceback" not in without.stderr
    assert "--db-url" in without.stderr  # one line naming the setting
    with_file = subprocess.run(
        command, capture_output=True, text=True, timeout=SECONDS,
        env=os.environ | {"PGPASSFILE": str(passfile)},
    )  # fmt: skip
    assert with_file.returncode == 0, with_file.stderr[-3000:]
    assert postgres.psql("SELECT name FROM assignment", database="pgpass_book").strip() == "rnn"
