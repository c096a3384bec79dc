"""The class hub's site-specific values, read from `RNN_HUB_*` environment variables.

A university's hub differs from the tests' hub only in a few places: its domain and ports, its
TLS certificate, where the hub keeps its state, where the exchange and the students'
environment are, which Unix group may log in, who the instructors are and where the
instructor's grading folder is (for each student's due dates in their Assignments panel).
`jupyterhub_config.py` reads them here, with a production default for each, so the tests run
the very file an instructor copies and only change these values.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder import limits
from autograder.errors import CourseError

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]  # the course's checkout: solutions, hidden tests (instructors only)
PROXY = "configurable-http-proxy"
# what each student's server reads: nbgrader's course and exchange, which extensions run
STUDENT_CONFIG = HERE / "jupyter"
# the JupyterLab extension that shows each student their own due dates (no build step)
DATES_EXTENSION = HERE / "labextension" / "rnn-course-dates"


@dataclass(frozen=True)
class HubSettings:
    domain: str = ""  # the hub's host name (hub.example.edu); each user gets <name>.<domain>
    ip: str = ""  # the public address the proxy listens on; "" is every interface
    port: int = 443  # the public port
    ssl_cert: str = ""  # the hub's TLS certificate (for the domain and *.domain) and key
    ssl_key: str = ""
    behind_proxy: bool = False  # a TLS reverse proxy in front: plain HTTP on 127.0.0.1 only
    hub_port: int = 8081  # the hub's own API, on 127.0.0.1 only
    proxy_api_port: int = 8001  # the proxy's REST API, on 127.0.0.1 only
    state: Path = Path("/srv/jupyterhub")  # database, cookie secret, pid files (root only)
    exchange: Path = Path("/srv/nbgrader/exchange")  # nbgrader's exchange, shared by the class
    student_env: Path = Path("/opt/rnn-course-students")  # students' servers' environment
    group: str = "rnn-course"  # the Unix group whose members may log in
    instructors: frozenset[str] = frozenset()  # their accounts get the instructor role
    proxy: str = ""  # configurable-http-proxy; "" means the one `npm ci` installed here
    file_bytes: int = limits.NOTEBOOK_BYTES  # the largest file a student's process may write
    checkout: Path = CHECKOUT  # the instructor-only checkout the hub runs from
    course_dir: Path | None = None  # the instructor's grading folder; None: no dates shown
    course_db_url: str = ""  # its gradebook, if not the folder's SQLite one

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> HubSettings:
        """The settings with every `RNN_HUB_<FIELD>` that is set (RNN_HUB_PORT=8443)."""
        environ = os.environ if environ is None else environ
        default = cls()

        def value(name: str, fallback: object) -> str:
            return environ.get(f"RNN_HUB_{name.upper()}", str(fallback))

        names = value("instructors", "")
        return cls(
            domain=value("domain", default.domain).strip().lower(),
            ip=value("ip", default.ip),
            port=_port(value("port", default.port), "RNN_HUB_PORT"),
            ssl_cert=value("ssl_cert", default.ssl_cert),
            ssl_key=value("ssl_key", default.ssl_key),
            behind_proxy=value("behind_proxy", "") in ("1", "yes", "true"),
            hub_port=_port(value("hub_port", default.hub_port), "RNN_HUB_HUB_PORT"),
            proxy_api_port=_port(
                value("proxy_api_port", default.proxy_api_port), "RNN_HUB_PROXY_API_PORT"
            ),
            state=Path(value("state", default.state)),
            exchange=Path(value("exchange", default.exchange)),
            student_env=Path(value("student_env", default.student_env)),
            group=value("group", default.group),
            instructors=frozenset(n.strip() for n in names.split(",") if n.strip()),
            proxy=value("proxy", default.proxy),
            file_bytes=_size(value("file_bytes", default.file_bytes), "RNN_HUB_FILE_BYTES"),
            course_dir=Path(value("course_dir", "")) if value("course_dir", "") else None,
            course_db_url=value("course_db_url", ""),
        )

    @property
    def url(self) -> str:
        """Where students point their browsers: the hub's own domain, over HTTPS."""
        default = 443
        return f"https://{self.domain}" + ("" if self.port == default else f":{self.port}")

    @property
    def public_port(self) -> int:
        """The port students reach: the hub's own, or the TLS proxy's (443) in front of it."""
        return 443 if self.behind_proxy else self.port

    @property
    def subdomain_host(self) -> str:
        """JupyterHub's `subdomain_host`: each user's server on an origin of its own."""
        port = self.public_port
        return f"https://{self.domain}" + ("" if port == 443 else f":{port}")

    @property
    def proxy_command(self) -> str | None:
        """The proxy to run: RNN_HUB_PROXY, else the pinned one beside this file, else PATH's."""
        if self.proxy:
            return shutil.which(self.proxy)
        pinned = HERE / "node_modules" / ".bin" / PROXY
        return str(pinned) if pinned.is_file() else shutil.which(PROXY)

    @property
    def singleuser(self) -> Path:
        """Each student's server: from the students' environment, which holds the course's
        exact packages and none of its own code (no solutions, no hidden tests)."""
        return self.student_env / "env" / "bin" / "jupyterhub-singleuser"

    @property
    def student_config(self) -> Path:
        """The Jupyter configuration every student's server reads (JUPYTER_CONFIG_PATH)."""
        return self.student_env / "jupyter"


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise CourseError(f"{name}={text!r}: give a port number from 1 to 65535")
    return int(text)


def _size(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < limits.MiB:
        raise CourseError(f"{name}={text!r}: give a size in bytes, at least {limits.MiB}")
    return int(text)
