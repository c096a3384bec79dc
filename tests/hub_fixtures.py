"""A real class hub for the tests: Unix accounts, a readable environment, JupyterHub, its proxy.

Everything is made as a university's hub has it, and removed afterwards even when a test fails:

* **An environment every user can run.** The project's `.venv` may sit under a closed folder
  (/root), as the CI clone may; a hub's students need the course's Python where they can read
  it. `readable_environment()` copies the project's files (what git tracks, plus new files not
  ignored) into a folder open to all and makes an environment there from Debian's Python 3.11
  and `uv.lock`, with uv's cache (so it takes seconds) and compiled bytecode.
* **Real accounts.** `accounts()` creates Unix users with passwords (PAM checks them at the
  hub's login page) and private homes, in a group the hub lets in; all are marked in their
  GECOS field, so an account left by a killed run is recognised and removed by the next.
* **The shipped configuration.** `running_hub()` starts `jupyterhub -f
  autograder/hub/jupyterhub_config.py` from that environment as root (it must be, to start
  each student's server as that student), with only the `RNN_HUB_*` values changed.
* **Students as browsers are.** `HubUser` logs in through the hub's login form, asks the hub
  for a token, starts its server and talks to it through the proxy, as JupyterLab does.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from helpers.commands import ROOT
from helpers.servers import free_port

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
MARK = "rnn-course hub test account"  # GECOS of every account the tests make
OPEN = 0o755
COURSE_ID = "rnn-course"
HUB_START_SECONDS = 90
SERVER_START_SECONDS = 120
REQUEST_SECONDS = 300  # a validation runs the notebook (TensorFlow's import included)

# --- an environment every user can run --------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    repo: Path  # the copy of the project (editable-installed in `prefix`)
    prefix: Path

    def bin(self, name: str) -> str:
        return str(self.prefix / "bin" / name)

    @property
    def hub_config(self) -> Path:
        return self.repo / "autograder" / "hub" / "jupyterhub_config.py"


def project_files() -> list[str]:
    """The project as a clone has it: tracked files and new ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def copy_project(target: Path) -> None:
    """The project's files, readable by everyone whatever the clone's umask was."""
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True, mode=OPEN)
        shutil.copyfile(ROOT / name, destination)
        destination.chmod(0o644)
    for folder in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        folder.chmod(OPEN)
    # the pinned proxy that `npm ci` installed (ignored by git): the hub runs it as root
    modules = ROOT / "autograder" / "hub" / "node_modules"
    if modules.is_dir():
        shutil.copytree(modules, target / "autograder" / "hub" / "node_modules", symlinks=True)


def readable_environment(base: Path) -> Environment:
    """The course's environment under `base` (made open to all), from uv.lock and Debian's
    Python, with the project installed editable from a copy (its SOURCE_NOTEBOOKS included)."""
    if not DEBIAN_PYTHON.is_file():
        raise RuntimeError(f"{DEBIAN_PYTHON} is missing: `bash .ci/setup` installs python3.11")
    base.chmod(OPEN)
    environment = Environment(base / "project", base / "env")
    copy_project(environment.repo)
    uv = str(Path(sys.executable).with_name("uv"))
    quiet = {"capture_output": True, "text": True, "timeout": 900}
    made = subprocess.run(
        [uv, "venv", "--quiet", "--python", str(DEBIAN_PYTHON), str(environment.prefix)], **quiet
    )
    assert made.returncode == 0, made.stderr
    synced = subprocess.run(
        [uv, "sync", "--locked", "--no-dev", "--compile-bytecode", "--quiet"],
        cwd=environment.repo,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment.prefix)},
        **quiet,
    )
    assert synced.returncode == 0, synced.stderr
    return environment


# --- Unix accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    uid: int
    gid: int
    home: Path


def run_as(
    account: Account,
    command: list[str],
    environment: Environment | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """`command` as that Unix user, with their groups, home and only their own environment."""
    path = f"{environment.prefix / 'bin'}:/usr/bin:/bin" if environment else "/usr/bin:/bin"
    variables = {
        "HOME": str(account.home),
        "USER": account.name,
        "LOGNAME": account.name,
        "PATH": path,
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        ["setpriv", f"--reuid={account.uid}", f"--regid={account.gid}", "--init-groups", "--"]
        + command,
        env=variables,
        cwd=account.home,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def processes_of(uid: int) -> list[int]:
    """Process ids running as `uid` (a test account's servers and kernels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
    return found


def end_processes(pids: list[int], seconds: float = 10) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def remove_account(name: str) -> None:
    """An account the tests made (checked by its mark), its processes and its home."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if entry.pw_gecos != MARK:
        raise RuntimeError(f"the Unix user {name} exists and was not made by the tests; remove it")
    end_processes(processes_of(entry.pw_uid))
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        raise RuntimeError(f"could not remove the test account {name}")


@contextlib.contextmanager
def accounts(names: list[str], group: str, homes: Path) -> Iterator[dict[str, Account]]:
    """Unix users with random passwords and private homes under `homes`, in `group`."""
    made: list[str] = []
    group_made = False
    try:
        for name in names:  # left by a run that was killed before its cleanup
            remove_account(name)
        subprocess.run(["groupdel", group], capture_output=True, check=False)
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        group_made = True
        homes.mkdir(mode=OPEN, exist_ok=True)
        found = {}
        for name in names:
            subprocess.run(
                ["useradd", "--create-home", "--base-dir", str(homes), "--shell", "/bin/bash"]
                + ["--comment", MARK, "--user-group", "--groups", group, name],
                check=True,
                capture_output=True,
            )
            made.append(name)
            password = secrets.token_urlsafe(12)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
            entry = pwd.getpwnam(name)
            home = Path(entry.pw_dir)
            home.chmod(0o700)  # as a university sets it: nobody else reads a student's files
            found[name] = Account(name, password, entry.pw_uid, entry.pw_gid, home)
        yield found
    finally:
        for name in made:
            remove_account(name)
        if group_made:
            subprocess.run(["groupdel", group], capture_output=True, check=False)


# --- the hub ------------------------------------------------------------------------------------


@dataclass
class Hub:
    url: str
    environment: Environment
    settings: dict[str, str]  # the RNN_HUB_* values it was started with
    log: Path
    process: subprocess.Popen | None = None

    @property
    def exchange(self) -> Path:
        return Path(self.settings["RNN_HUB_EXCHANGE"])

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def hub_settings(base: Path, group: str, admins: list[str]) -> dict[str, str]:
    """The shipped configuration's values for a hub on this machine's loopback only."""
    return {
        "RNN_HUB_IP": "127.0.0.1",
        "RNN_HUB_PORT": str(free_port()),
        "RNN_HUB_HUB_PORT": str(free_port()),
        "RNN_HUB_PROXY_API_PORT": str(free_port()),
        "RNN_HUB_STATE": str(base / "hub-state"),
        "RNN_HUB_EXCHANGE": str(base / "exchange"),
        "RNN_HUB_GROUP": group,
        "RNN_HUB_ADMINS": ",".join(admins),
    }


def hub_command(environment: Environment) -> list[str]:
    return [environment.bin("jupyterhub"), "-f", str(environment.hub_config)]


def hub_environment(environment: Environment, settings: dict[str, str]) -> dict[str, str]:
    """What root's shell would hand the hub: the course's environment first on PATH."""
    return {
        "PATH": f"{environment.prefix / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
        ":/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        **settings,
    }


@contextlib.contextmanager
def running_hub(environment: Environment, settings: dict[str, str]) -> Iterator[Hub]:
    """JupyterHub with the shipped configuration, until the block ends; then it, its proxy and
    every server it started are stopped."""
    state = Path(settings["RNN_HUB_STATE"])
    log = state.parent / "hub.log"
    hub = Hub(f"http://127.0.0.1:{settings['RNN_HUB_PORT']}", environment, settings, log)
    with log.open("w") as output:
        hub.process = subprocess.Popen(
            hub_command(environment),
            cwd=state.parent,
            env=hub_environment(environment, settings),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(hub)
        yield hub
    finally:
        proxy = _pid_in(state / "proxy.pid")
        hub.process.send_signal(signal.SIGTERM)  # the hub stops the students' servers itself
        try:
            hub.process.wait(60)
        except subprocess.TimeoutExpired:
            end_processes([hub.process.pid])
        if proxy:
            end_processes([proxy])


def wait_until_up(hub: Hub) -> None:
    deadline = time.monotonic() + HUB_START_SECONDS
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise AssertionError(f"the hub stopped on its own:\n{hub.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{hub.url}/hub/api/", timeout=5).ok:
                return
        time.sleep(0.5)
    raise AssertionError(f"the hub did not answer in {HUB_START_SECONDS} s:\n{hub.log_tail()}")


def _pid_in(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None


# --- a student (or instructor) at the hub -------------------------------------------------------


@dataclass
class HubUser:
    """One person's session: logged in with their password, holding a token of their own."""

    hub: Hub
    account: Account
    session: requests.Session = field(default_factory=requests.Session)
    token: str | None = None

    @property
    def server(self) -> str:
        return f"{self.hub.url}/user/{self.account.name}/"

    def login(self) -> requests.Response:
        """The hub's login form, as a browser posts it (its _xsrf field included)."""
        form = self.session.get(f"{self.hub.url}/hub/login", timeout=30)
        form.raise_for_status()
        xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', form.text)
        return self.session.post(
            f"{self.hub.url}/hub/login",
            data={
                "username": self.account.name,
                "password": self.account.password,
                "_xsrf": xsrf.group(1) if xsrf else "",
            },
            allow_redirects=False,
            timeout=60,
        )

    def start(self) -> None:
        """Log in, get a token (as the hub's Token page makes one), start the server."""
        answer = self.login()
        assert answer.status_code == 302, f"login of {self.account.name}: {answer.status_code}"
        made = self.session.post(
            f"{self.hub.url}/hub/api/users/{self.account.name}/tokens",
            json={"note": "rnn-course hub tests", "expires_in": 3600},
            headers={"X-XSRFToken": self.session.cookies.get("_xsrf", "")},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        self.token = made.json()["token"]
        if not self.hub_api("GET", f"users/{self.account.name}").json()["servers"]:
            started = self.hub_api("POST", f"users/{self.account.name}/server")
            assert started.status_code in (201, 202), started.text
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{self.account.name}").json()
            if model["servers"].get("", {}).get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.account.name}'s server did not start:\n{self.hub.log_tail()}")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.hub.url}/hub/api/{path}", headers=self.headers(), timeout=60, **kwargs
        )

    def call(self, method: str, path: str, owner: str | None = None, **kwargs) -> requests.Response:
        """A request to a user's server (this user's, unless `owner` names another)."""
        base = f"{self.hub.url}/user/{owner or self.account.name}/"
        return requests.request(
            method,
            base + path,
            headers=self.headers(),
            timeout=REQUEST_SECONDS,
            allow_redirects=False,
            **kwargs,
        )

    # nbgrader's assignment list, as JupyterLab's Assignments panel calls it
    def assignments(self, action: str | None = None, assignment: str = "rnn") -> list[dict]:
        if action is None:
            answer = self.call("GET", f"assignments?course_id={COURSE_ID}")
        else:
            answer = self.call(
                "POST",
                f"assignments/{action}",
                json={"course_id": COURSE_ID, "assignment_id": assignment},
            )
        answer.raise_for_status()
        result = answer.json()
        if not result.get("success"):  # {"success": false, "value": traceback}
            raise AssertionError(f"{action or 'list'} by {self.account.name}: {result}")
        return result["value"]

    def validate(self, path: str) -> dict:
        answer = self.call("POST", "assignments/validate", json={"path": path})
        answer.raise_for_status()
        return answer.json()

    # the Jupyter contents API, as JupyterLab saves and opens files
    def read(self, path: str) -> dict:
        answer = self.call("GET", f"api/contents/{path}?content=1")
        answer.raise_for_status()
        return answer.json()

    def write_notebook(self, path: str, notebook: dict) -> None:
        answer = self.call(
            "PUT",
            f"api/contents/{path}",
            json={"type": "notebook", "format": "json", "content": notebook},
        )
        assert answer.status_code in (200, 201), answer.text

    def rename(self, path: str, new_path: str) -> None:
        answer = self.call("PATCH", f"api/contents/{path}", json={"path": new_path})
        assert answer.status_code == 200, answer.text


def temporary_base(prefix: str) -> Path:
    """A folder every user can enter (pytest's own tmp is private to root), in /var/tmp: the
    grading sandbox puts an empty /tmp over the real one, and the environment must stay seen."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    base.chmod(OPEN)
    return base
