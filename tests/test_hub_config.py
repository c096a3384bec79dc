"""The class hub's shipped configuration, without starting a class: its settings, the pinned
proxy, what students' servers read, and every refusal of `hub check` (and of the hub itself,
which runs the same checks before it starts), each one line naming its fix.

A safe set-up is made here as the README's steps make it (real Unix accounts with private
homes, an instructor-only checkout, a students' environment without course code, TLS files,
the exchange on a file system of its own and set up by the shipped command); each test breaks
one thing and reads the refusal. The whole class on a running hub is tests/test_hub_class.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.commands import ROOT
from helpers.servers import free_port
from hub_fixtures import accounts, temporary_base
from traitlets.config.loader import PyFileConfigLoader

from autograder.course.folder import COURSE_ID
from autograder.errors import CourseError
from autograder.hub import checks
from autograder.hub.settings import STUDENT_CONFIG, HubSettings
from autograder.hub.setup import exchange

HUB = ROOT / "autograder" / "hub"
GROUP, TEACHER, STUDENTS = "rnnc-class", "rnnc-teacher", ("rnnc-s1", "rnnc-s2")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes Unix accounts and mounts (root)")
# accounts are made one test module at a time (useradd locks /etc/passwd): with the hub's
pytestmark = [pytest.mark.xdist_group("hub")]


def one_line_errors(stderr: str) -> list[str]:
    """The lines of a refusal: each one starts with 'error: ', and no traceback."""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert lines and all(line.startswith("error: ") for line in lines), stderr
    return lines


def make_student_environment(folder: Path) -> None:
    """What the checks look at in a students' environment: its server, Python and config."""
    (folder / "env" / "bin").mkdir(parents=True)
    server = folder / "env" / "bin" / "jupyterhub-singleuser"
    server.write_text("#!/bin/sh\n")
    (folder / "env" / "bin" / "python").symlink_to("/usr/bin/python3.11")
    (folder / "env" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (folder / "jupyter").mkdir()
    (folder / "jupyter" / "nbgrader_config.py").write_text("c = get_config()\n")
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755)


@pytest.fixture(scope="module")
def safe() -> Iterator[HubSettings]:
    """A set-up the hub would start on: `hub check` finds nothing wrong."""
    base = temporary_base("rnn-hub-check-")
    try:
        with accounts([TEACHER, *STUDENTS], GROUP, base / "home"):
            checkout = base / "checkout"
            (checkout / "source_notebooks").mkdir(parents=True)
            checkout.chmod(0o700)
            make_student_environment(base / "students")
            (base / "tls").mkdir()
            for name in ("hub.pem", "hub-key.pem"):
                (base / "tls" / name).write_text("certificate\n")
            (base / "exchange").mkdir()
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(base / "exchange")],
                check=True,
            )
            settings = HubSettings(
                domain="hub.example.edu",
                ssl_cert=str(base / "tls" / "hub.pem"),
                ssl_key=str(base / "tls" / "hub-key.pem"),
                state=base / "state",
                exchange=base / "exchange",
                student_env=base / "students",
                group=GROUP,
                instructors=frozenset({TEACHER}),
                checkout=checkout,
            )
            exchange(settings, TEACHER)
            try:
                yield settings
            finally:
                subprocess.run(["umount", "-l", str(base / "exchange")], check=False)
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def refusals(settings: HubSettings) -> list[str]:
    return checks.startup_problems(settings)


@as_root
@pytest.mark.needs_root
def test_a_safe_set_up_passes_every_check(safe):
    assert refusals(safe) == []


@as_root
@pytest.mark.needs_root
@pytest.mark.parametrize(
    "change, words",
    [
        ({"domain": ""}, "RNN_HUB_DOMAIN is not set"),
        ({"ssl_cert": "/nonexistent/hub.pem"}, "RNN_HUB_SSL_CERT is not a file"),
        ({"student_env": Path("/nonexistent")}, "the students' environment); make it"),
        ({"instructors": frozenset({"no-such-teacher"})}, "no such Unix user"),
        ({"group": "no-such-class"}, "sudo groupadd no-such-class"),
        ({"proxy": "/nonexistent/configurable-http-proxy"}, "npm ci --prefix"),
        ({"exchange": Path("/nonexistent/exchange")}, "does not exist; run: sudo"),
    ],
    ids=[
        "no domain",
        "no certificate",
        "no students' env",
        "unknown instructor",
        "no group",
        "no proxy",
        "no exchange",
    ],  # fmt: skip
)
def test_each_missing_piece_is_refused_in_one_line_with_its_fix(safe, change, words):
    problems = refusals(dataclasses.replace(safe, **change))
    assert any(words in problem for problem in problems), problems


@as_root
@pytest.mark.needs_root
def test_behind_a_tls_proxy_the_hub_needs_no_certificate_of_its_own(safe):
    behind = dataclasses.replace(safe, ssl_cert="", ssl_key="", behind_proxy=True)
    assert refusals(behind) == []


def opened(path: Path, mode: int):
    """A context where `path` has `mode`, then its old one again."""
    import contextlib

    @contextlib.contextmanager
    def changed() -> Iterator[None]:
        before = path.stat().st_mode & 0o7777
        path.chmod(mode)
        try:
            yield
        finally:
            path.chmod(before)

    return changed()


@as_root
@pytest.mark.needs_root
def test_a_checkout_students_could_read_is_refused(safe):
    with opened(safe.checkout, 0o755), opened(safe.checkout / "source_notebooks", 0o755):
        (problem,) = refusals(safe)
    assert problem.startswith(f"students can read {safe.checkout / 'source_notebooks'}")
    assert f"sudo chmod 700 {safe.checkout / 'source_notebooks'}" in problem


@as_root
@pytest.mark.needs_root
def test_an_instructors_home_students_could_enter_is_refused(safe):
    home = Path(os.path.expanduser(f"~{TEACHER}"))
    with opened(home, 0o755):
        (problem,) = refusals(safe)
    assert f"students can read {home}" in problem and "chmod 700" in problem


@as_root
@pytest.mark.needs_root
def test_a_students_home_open_to_classmates_is_refused(safe):
    home = Path(os.path.expanduser(f"~{STUDENTS[0]}"))
    with opened(home, 0o755):
        (problem,) = refusals(safe)
    assert problem.startswith(f"{home} is open to other students (mode 755)")
    assert f"sudo chmod 700 {home}" in problem


@as_root
@pytest.mark.needs_root
def test_a_students_environment_with_the_course_code_in_it_is_refused(safe):
    leaked = safe.student_env / "env" / "lib" / "python3.11" / "site-packages" / "autograder"
    leaked.mkdir()
    try:
        (problem,) = refusals(safe)
    finally:
        leaked.rmdir()
    assert "holds the course's own code" in problem


@as_root
@pytest.mark.needs_root
def test_a_students_environment_students_cannot_read_is_refused(safe):
    with opened(safe.student_env, 0o700):
        (problem,) = refusals(safe)
    assert problem.startswith("students cannot read ")


@as_root
@pytest.mark.needs_root
def test_an_exchange_a_student_claimed_or_opened_is_refused(safe):
    course = safe.exchange / COURSE_ID
    student = os.stat(os.path.expanduser(f"~{STUDENTS[0]}")).st_uid
    teacher = os.stat(os.path.expanduser(f"~{TEACHER}")).st_uid
    os.chown(course, student, -1)  # as if the student had made it before release
    try:
        (problem,) = refusals(safe)
    finally:
        os.chown(course, teacher, -1)
    assert "not to an instructor" in problem and "autograder.hub exchange" in problem
    with opened(course / "inbound", 0o755):  # every submission listed to every student
        (problem,) = refusals(safe)
    assert problem.startswith(f"{course / 'inbound'} has owner uid")
    with opened(safe.exchange, 0o755):
        (problem,) = refusals(safe)
    assert "must belong to root with mode 1777" in problem


@as_root
@pytest.mark.needs_root
def test_an_exchange_on_a_shared_file_system_is_refused(safe, tmp_path):
    shared = dataclasses.replace(safe, exchange=tmp_path / "exchange")
    exchange(shared, TEACHER)
    (problem,) = refusals(shared)
    assert "is on the same file system as" in problem and "--image" in problem


@as_root
@pytest.mark.needs_root
def test_a_state_folder_others_can_enter_is_refused(safe):
    safe.state.mkdir(mode=0o700, exist_ok=True)
    with opened(safe.state, 0o755):
        (problem,) = refusals(safe)
    assert problem.endswith(f"run: sudo chmod 700 {safe.state}")


def test_the_hub_must_run_as_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(CourseError, match="the hub must run as root"):
        checks._root(HubSettings())  # the check itself, without root


def hub_environment(tmp_path: Path, settings: HubSettings) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "RNN_HUB_DOMAIN": settings.domain,
        "RNN_HUB_SSL_CERT": settings.ssl_cert,
        "RNN_HUB_SSL_KEY": settings.ssl_key,
        "RNN_HUB_STATE": str(settings.state),
        "RNN_HUB_EXCHANGE": str(settings.exchange),
        "RNN_HUB_STUDENT_ENV": str(settings.student_env),
        "RNN_HUB_GROUP": settings.group,
        "RNN_HUB_INSTRUCTORS": ",".join(settings.instructors),
        "RNN_HUB_PORT": str(free_port()),
    }


@as_root
@pytest.mark.needs_root
def test_the_hub_itself_refuses_to_start_on_any_problem_in_one_line_each(safe, tmp_path):
    """This checkout is readable by everyone here (a CI clone): the hub refuses to start from
    it, says so, and makes no state."""
    environment = hub_environment(tmp_path, dataclasses.replace(safe, domain=""))
    started = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyterhub")),
            "-f",
            str(HUB / "jupyterhub_config.py"),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1
    lines = one_line_errors(started.stderr)
    assert any("RNN_HUB_DOMAIN is not set" in line for line in lines), lines
    assert not (safe.state / "jupyterhub.sqlite").exists(), "it started anyway"


@as_root
@pytest.mark.needs_root
def test_hub_check_prints_every_refusal_and_its_fix(safe, tmp_path):
    environment = hub_environment(tmp_path, dataclasses.replace(safe, domain=""))
    checked = subprocess.run(
        [sys.executable, "-m", "autograder.hub", "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 1
    lines = one_line_errors(checked.stderr)
    assert any("RNN_HUB_DOMAIN is not set" in line for line in lines), lines


def test_a_hub_that_is_not_running_is_one_line_that_says_how_to_start_it():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CourseError) as refused:
        checks.hub_version(url)
    line = str(refused.value)
    assert line.startswith(f"no JupyterHub is running at {url} (")
    assert line.endswith(f"start it as root: jupyterhub -f {HUB / 'jupyterhub_config.py'}")


def test_hub_settings_default_to_production_and_come_from_rnn_hub_variables():
    production = HubSettings.from_environment({})
    assert (production.port, production.hub_port, production.proxy_api_port) == (443, 8081, 8001)
    assert production.exchange == Path("/srv/nbgrader/exchange")
    assert production.state == Path("/srv/jupyterhub")
    assert production.student_env == Path("/opt/rnn-course-students")
    assert production.group == "rnn-course" and not production.instructors
    tests = HubSettings.from_environment(
        {
            "RNN_HUB_DOMAIN": "Hub.Example.EDU",
            "RNN_HUB_PORT": "18000",
            "RNN_HUB_INSTRUCTORS": "ada, grace",
        }
    )
    assert tests.url == "https://hub.example.edu:18000"
    assert tests.subdomain_host == "https://hub.example.edu:18000"
    assert tests.instructors == {"ada", "grace"}
    behind = HubSettings.from_environment(
        {"RNN_HUB_DOMAIN": "hub.example.edu", "RNN_HUB_BEHIND_PROXY": "1"}
    )
    assert behind.subdomain_host == "https://hub.example.edu"


def test_a_port_that_is_not_a_number_is_one_line():
    with pytest.raises(CourseError, match=r"^RNN_HUB_PORT='80a': give a port number from 1 to"):
        HubSettings.from_environment({"RNN_HUB_PORT": "80a"})


def test_students_servers_read_the_hub_exchange_and_the_course_id(monkeypatch):
    monkeypatch.setenv("RNN_HUB_EXCHANGE", "/srv/class/exchange")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(STUDENT_CONFIG)).load_config()
    assert config.Exchange.root == "/srv/class/exchange"
    assert config.CourseDirectory.course_id == COURSE_ID
    assert "autograder" not in (STUDENT_CONFIG / "nbgrader_config.py").read_text().split("\n#")[-1]


def test_students_servers_run_the_assignments_panel_without_instructor_tools():
    server = json.loads((STUDENT_CONFIG / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.assignment_list"]
    assert extensions["nbgrader.server_extensions.validate_assignment"]
    assert not extensions["nbgrader.server_extensions.formgrader"]
    lab = json.loads((STUDENT_CONFIG / "labconfig" / "page_config.json").read_text())
    assert lab["disabledExtensions"]["@jupyter/nbgrader:create-assignment"]
    assert lab["disabledExtensions"]["@jupyter/nbgrader:formgrader"]


def test_the_proxy_is_pinned_and_npm_ci_installed_that_version():
    wanted = json.loads((HUB / "package.json").read_text())["dependencies"]
    locked = json.loads((HUB / "package-lock.json").read_text())["packages"]
    proxy = "configurable-http-proxy"
    assert locked[f"node_modules/{proxy}"]["version"] == wanted[proxy]
    assert locked[f"node_modules/{proxy}"]["integrity"].startswith("sha512-")
    installed = HUB / "node_modules" / ".bin" / proxy
    assert installed.is_file(), "run `bash .ci/setup` (npm ci --prefix autograder/hub)"
    version = subprocess.run([str(installed), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == wanted[proxy]


def test_the_systemd_unit_starts_the_shipped_hub_with_known_settings():
    """The unit an instructor copies: it runs this configuration with RNN_HUB_* values the hub
    knows, after the exchange's file system is mounted."""
    lines = (HUB / "rnn-course-hub.service").read_text().splitlines()
    values: dict[str, list[str]] = {}
    for line in lines:
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    (start,) = values["ExecStart"]
    assert start.split()[0].endswith("/.venv/bin/jupyterhub")
    assert start.split()[-1].endswith("autograder/hub/jupyterhub_config.py")
    assert values["User"] == ["root"]
    fields = {f.name.upper() for f in dataclasses.fields(HubSettings)}
    set_here = [entry.split("=", 1)[0] for entry in values["Environment"]]
    assert set_here and all(
        name.startswith("RNN_HUB_") and name.removeprefix("RNN_HUB_") in fields for name in set_here
    ), set_here
    assert {"RNN_HUB_DOMAIN", "RNN_HUB_SSL_CERT", "RNN_HUB_SSL_KEY"} <= set(set_here)
    assert values["RequiresMountsFor"] == [str(HubSettings().exchange)]


@as_root
@pytest.mark.needs_root
def test_a_course_folder_that_is_not_an_instructors_own_is_refused(safe, tmp_path):
    teacher = Path(os.path.expanduser(f"~{TEACHER}")).stat()
    base = temporary_base("rnn-hub-course-")  # a place every user can enter
    try:
        folder = base / "rnn-course"
        folder.mkdir(mode=0o700)
        os.chown(folder, teacher.st_uid, teacher.st_gid)
        with_folder = dataclasses.replace(safe, course_dir=folder)
        assert refusals(with_folder) == []  # the instructor's, private
        assert refusals(dataclasses.replace(safe, course_dir=base / "not-yet")) == []
        with opened(folder, 0o755):
            (problem,) = refusals(with_folder)
        assert problem.startswith("students can read ") and f"chmod 700 {folder}" in problem
        os.chown(folder, Path(os.path.expanduser(f"~{STUDENTS[0]}")).stat().st_uid, -1)
        (problem,) = refusals(with_folder)  # a student's folder: they would write the dates
        assert "is not an instructor's folder" in problem
    finally:
        shutil.rmtree(base, ignore_errors=True)
