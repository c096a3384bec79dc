"""The class hub's shipped configuration, without starting a class: its settings, the pinned
proxy, what students' servers read, and the one-line refusals before anything runs.

The whole class on a running hub is tests/test_hub_class.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.commands import ROOT
from helpers.servers import free_port
from traitlets.config.loader import PyFileConfigLoader

from autograder.course.folder import COURSE_ID
from autograder.errors import CourseError
from autograder.hub.settings import STUDENT_CONFIG, HubSettings

HUB = ROOT / "autograder" / "hub"


def one_line_errors(stderr: str) -> list[str]:
    """The lines of a refusal: each one starts with 'error: ', and no traceback."""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert lines and all(line.startswith("error: ") for line in lines), stderr
    return lines


def start_hub(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    """`jupyterhub -f autograder/hub/jupyterhub_config.py` with these RNN_HUB_* values."""
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "RNN_HUB_STATE": str(tmp_path / "state"),
        "RNN_HUB_PORT": str(free_port()),
        **settings,
    }
    return subprocess.run(
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


def test_the_hub_refuses_to_start_on_an_exchange_students_cannot_write_and_says_what_to_run(
    tmp_path,
):
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o755)
    exchange.chmod(0o755)
    started = start_hub(tmp_path, RNN_HUB_EXCHANGE=str(exchange))
    assert started.returncode == 1
    lines = one_line_errors(started.stderr)
    assert (
        f"error: the exchange folder {exchange} is not writable by every user (mode 755), so "
        f"students cannot submit; run: sudo chmod 1777 {exchange}"
    ) in lines
    assert not (tmp_path / "state" / "jupyterhub.sqlite").exists(), "it started anyway"


def test_the_hub_refuses_a_login_group_that_does_not_exist(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    started = start_hub(tmp_path, RNN_HUB_EXCHANGE=str(exchange), RNN_HUB_GROUP="no-such-class")
    assert started.returncode == 1
    assert any(
        "the Unix group 'no-such-class' (RNN_HUB_GROUP) does not exist" in line
        and "sudo groupadd no-such-class" in line
        for line in one_line_errors(started.stderr)
    )


@pytest.mark.skipif(
    all(os.stat(p).st_mode & 0o005 for p in Path(sys.executable).resolve().parents),
    reason="this environment's Python is readable by every user here",
)
def test_the_hub_refuses_an_environment_students_could_not_run(tmp_path):
    """The trap of a hub started from a project under /root: every student's server would fail
    to start; the hub says so before it starts."""
    started = start_hub(tmp_path, RNN_HUB_EXCHANGE=str(tmp_path))
    assert any(
        line.startswith("error: students cannot run ") and "every user can read" in line
        for line in one_line_errors(started.stderr)
    )


def test_a_hub_that_is_not_running_is_one_line_that_says_how_to_start_it(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    url = f"http://127.0.0.1:{free_port()}"
    checked = subprocess.run(
        [sys.executable, "-m", "autograder.hub", "check", "--hub-url", url, "--exchange", exchange],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 1
    [line] = one_line_errors(checked.stderr)
    assert line.startswith(f"error: no JupyterHub is running at {url} (")
    assert line.endswith(f"start it as root: jupyterhub -f {HUB / 'jupyterhub_config.py'}")


def test_hub_settings_default_to_production_and_come_from_rnn_hub_variables():
    production = HubSettings.from_environment({})
    assert (production.port, production.hub_port, production.proxy_api_port) == (8000, 8081, 8001)
    assert production.exchange == Path("/srv/nbgrader/exchange")
    assert production.state == Path("/srv/jupyterhub")
    assert production.group == "rnn-course" and not production.admins
    assert production.url == "http://127.0.0.1:8000"
    tests = HubSettings.from_environment(
        {"RNN_HUB_IP": "127.0.0.1", "RNN_HUB_PORT": "18000", "RNN_HUB_ADMINS": "ada, grace"}
    )
    assert (tests.url, tests.admins) == ("http://127.0.0.1:18000", {"ada", "grace"})


def test_a_port_that_is_not_a_number_is_one_line():
    with pytest.raises(CourseError, match=r"^RNN_HUB_PORT='80a': give a port number from 1 to"):
        HubSettings.from_environment({"RNN_HUB_PORT": "80a"})


def test_students_servers_read_the_hub_exchange_and_the_course_id(monkeypatch):
    monkeypatch.setenv("RNN_HUB_EXCHANGE", "/srv/class/exchange")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(STUDENT_CONFIG)).load_config()
    assert config.Exchange.root == "/srv/class/exchange"
    assert config.CourseDirectory.course_id == COURSE_ID


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
