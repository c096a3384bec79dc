"""A real class hub for the tests: Unix accounts, two environments, TLS, JupyterHub, its proxy.

Everything is made as a university's hub has it, and removed afterwards even when a test fails:

* **Two environments.** The instructor's: a copy of the project (what git tracks, plus new
  files not ignored: the solutions and hidden tests among them) with an environment made from
  Debian's Python 3.11 and `uv.lock`, owned by the instructor and closed to everyone else (the
  hub, as root, runs from it). The students': made by the shipped command
  (`python -m autograder.hub student-environment`), the course's packages and none of its
  code, open to all; students' servers run from it. Both with uv's cache, so they take seconds.
* **TLS and a domain.** A certificate authority made here signs the hub's certificate for
  `hub.localhost` and `*.hub.localhost` (names Chromium resolves to loopback; this process
  resolves them so too, `localhost_names()`); every user's server has an origin of its own.
* **The exchange**, set up by the shipped command before any student logs in, on a file system
  of its own (a loop-mounted image of `EXCHANGE_SIZE`).
* **Real accounts.** `accounts()` creates Unix users with passwords (PAM checks them at the
  hub's login page) and private homes, in a group the hub lets in; all are marked in their
  GECOS field, so an account left by a killed run is recognised and removed by the next.
* **The shipped configuration.** `running_hub()` starts `jupyterhub -f
  autograder/hub/jupyterhub_config.py` from the instructor's environment as root (it must be,
  to start each student's server as that student), with only the `RNN_HUB_*` values changed.
* **Students as browsers are.** `HubUser` logs in through the hub's login form, asks the hub
  for a token, starts its server and talks to it through the proxy, on its own origin, as
  JupyterLab does.
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

from autograder import limits

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
MARK = "rnn-course hub test account"  # GECOS of every account the tests make
OPEN = 0o755
COURSE_ID = "rnn-course"
DOMAIN = "hub.localhost"
EXCHANGE_SIZE = "600M"
FILE_BYTES = 50 * limits.MiB  # the largest file a student's server may write, in the tests
HUB_START_SECONDS = 90
SERVER_START_SECONDS = 120
REQUEST_SECONDS = 300  # a validation runs the notebook (TensorFlow's import included)

# --- an environment every user can run --------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    repo: Path  # the instructor's copy of the project (editable-installed in `prefix`)
    prefix: Path
    students: Path  # the students' environment (RNN_HUB_STUDENT_ENV)

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


def environments(base: Path, instructor: Account) -> Environment:
    """The instructor's environment under `base` (closed to everyone but them), and the
    students' one beside it, made by the shipped command (open to all)."""
    if not DEBIAN_PYTHON.is_file():
        raise RuntimeError(f"{DEBIAN_PYTHON} is missing: `bash .ci/setup` installs python3.11")
    base.chmod(OPEN)
    environment = Environment(base / "project", base / "env", base / "students")
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
    students = subprocess.run(
        [environment.bin("python"), "-m", "autograder.hub", "student-environment"]
        + ["--python", str(DEBIAN_PYTHON)],
        cwd=environment.repo,
        env={  # uv, from the project's (development) environment, on the PATH root has
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "RNN_HUB_STUDENT_ENV": str(environment.students),
        },
        **quiet,
    )
    assert students.returncode == 0, students.stderr
    for private in (environment.repo, environment.prefix):  # the instructor's, and only theirs
        subprocess.run(
            ["chown", "-R", f"{instructor.uid}:{instructor.gid}", str(private)], check=True
        )
        private.chmod(0o700)
    return environment


# --- TLS, and names under localhost --------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    authority: Path  # what clients trust (requests' verify=, SSL_CERT_FILE)
    cert: Path
    key: Path


def certificates(folder: Path) -> Certificates:
    """A certificate authority of the test's own, and the hub's certificate it signed for
    `DOMAIN`, `*.DOMAIN` and 127.0.0.1 (the key readable by root only)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(mode=0o755)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rnn-course hub tests CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(DOMAIN), x509.DNSName(f"*.{DOMAIN}")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    made = Certificates(folder / "ca.pem", folder / "hub.pem", folder / "hub-key.pem")
    made.authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    made.key.chmod(0o600)
    return made


@contextlib.contextmanager
def localhost_names() -> Iterator[None]:
    """This process resolves every name under `localhost` to 127.0.0.1, as Chromium does
    (RFC 6761): the hub's and each user's origin, without touching /etc/hosts."""
    import socket

    original = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        yield
    finally:
        socket.getaddrinfo = original


# --- the exchange, on a file system of its own ----------------------------------------------


@contextlib.contextmanager
def exchange_set_up(environment: Environment, base: Path, instructor: str) -> Iterator[Path]:
    """The exchange as the shipped command sets it up: on a loop-mounted image of its own,
    course folders made for the instructor; unmounted and removed afterwards."""
    exchange = base / "exchange"
    done = subprocess.run(
        [environment.bin("python"), "-m", "autograder.hub", "exchange", "--instructor", instructor]
        + ["--image", str(base / "exchange.img"), "--size", EXCHANGE_SIZE],
        cwd=environment.repo,
        env={**os.environ, "RNN_HUB_EXCHANGE": str(exchange)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    try:
        yield exchange
    finally:
        subprocess.run(["umount", "-l", str(exchange)], capture_output=True, check=False)


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
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`command` as that Unix user, with their groups, home and only their own environment
    (and the `extra` variables)."""
    path = f"{environment.prefix / 'bin'}:/usr/bin:/bin" if environment else "/usr/bin:/bin"
    variables = {
        "HOME": str(account.home),
        "USER": account.name,
        "LOGNAME": account.name,
        "PATH": path,
        "LANG": "C.UTF-8",
        **(extra or {}),
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
    url: str  # the hub's own origin: https://hub.localhost:PORT
    environment: Environment
    settings: dict[str, str]  # the RNN_HUB_* values it was started with
    log: Path
    authority: Path  # the certificate authority clients trust
    process: subprocess.Popen | None = None

    @property
    def exchange(self) -> Path:
        return Path(self.settings["RNN_HUB_EXCHANGE"])

    def origin(self, user: str) -> str:
        """A user's server's own origin: https://<user>.hub.localhost:PORT."""
        return f"https://{user}.{DOMAIN}:{self.settings['RNN_HUB_PORT']}"

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def hub_settings(
    base: Path,
    group: str,
    instructors: list[str],
    environment: Environment,
    tls: Certificates,
) -> dict[str, str]:
    """The shipped configuration's values for a hub on this machine's loopback only."""
    return {
        "RNN_HUB_DOMAIN": DOMAIN,
        "RNN_HUB_IP": "127.0.0.1",
        "RNN_HUB_PORT": str(free_port()),
        "RNN_HUB_SSL_CERT": str(tls.cert),
        "RNN_HUB_SSL_KEY": str(tls.key),
        "RNN_HUB_HUB_PORT": str(free_port()),
        "RNN_HUB_PROXY_API_PORT": str(free_port()),
        "RNN_HUB_STATE": str(base / "hub-state"),
        "RNN_HUB_EXCHANGE": str(base / "exchange"),
        "RNN_HUB_STUDENT_ENV": str(environment.students),
        "RNN_HUB_GROUP": group,
        "RNN_HUB_INSTRUCTORS": ",".join(instructors),
        "RNN_HUB_FILE_BYTES": str(FILE_BYTES),
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
def running_hub(
    environment: Environment, settings: dict[str, str], authority: Path
) -> Iterator[Hub]:
    """JupyterHub with the shipped configuration, until the block ends; then it, its proxy and
    every server it started are stopped."""
    state = Path(settings["RNN_HUB_STATE"])
    log = state.parent / "hub.log"
    url = f"https://{DOMAIN}:{settings['RNN_HUB_PORT']}"
    hub = Hub(url, environment, settings, log, authority)
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
            if requests.get(f"{hub.url}/hub/api/", timeout=5, verify=hub.authority).ok:
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

    def __post_init__(self) -> None:
        # the test's own CA, whatever REQUESTS_CA_BUNDLE the machine sets (it would win)
        self.session.trust_env = False
        self.session.verify = str(self.hub.authority)

    @property
    def server(self) -> str:
        return f"{self.hub.origin(self.account.name)}/user/{self.account.name}/"

    def xsrf(self) -> str:
        """The hub's xsrf cookie, under its host-locked name or its plain one."""
        jar = self.session.cookies
        return jar.get("__Host-_xsrf") or jar.get("_xsrf") or ""

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
        assert answer.status_code == 302, (
            f"login of {self.account.name}: {answer.status_code}\n{self.hub.log_tail(30)}"
        )
        made = self.session.post(
            f"{self.hub.url}/hub/api/users/{self.account.name}/tokens",
            json={"note": "rnn-course hub tests", "expires_in": 3600},
            headers={"X-XSRFToken": self.xsrf()},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        self.token = made.json()["token"]
        self.start_server()

    def start_server(self) -> None:
        """Start this user's server (with their token), and wait until it is ready."""
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
            method,
            f"{self.hub.url}/hub/api/{path}",
            headers=self.headers(),
            timeout=60,
            verify=str(self.hub.authority),
            **kwargs,
        )

    def call(self, method: str, path: str, owner: str | None = None, **kwargs) -> requests.Response:
        """A request to a user's server (this user's, unless `owner` names another), on that
        server's own origin."""
        name = owner or self.account.name
        return requests.request(
            method,
            f"{self.hub.origin(name)}/user/{name}/{path}",
            headers=self.headers(),
            timeout=REQUEST_SECONDS,
            allow_redirects=False,
            verify=str(self.hub.authority),
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
