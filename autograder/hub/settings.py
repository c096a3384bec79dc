"""The class hub's site-specific values, read from `RNN_HUB_*` environment variables.

A university's hub differs from the tests' hub only in a few places: its address and ports,
where the hub keeps its state, where nbgrader's exchange is, which Unix group may log in and
who the instructors are. `jupyterhub_config.py` reads them here, with a production default for
each, so the tests run the very file an instructor copies and only change these values.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import CourseError

HERE = Path(__file__).resolve().parent
PROXY = "configurable-http-proxy"
# what each student's server reads: nbgrader's course and exchange, which extensions run
STUDENT_CONFIG = HERE / "jupyter"


@dataclass(frozen=True)
class HubSettings:
    ip: str = ""  # the public address the proxy listens on; "" is every interface
    port: int = 8000  # the public port (put the university's TLS proxy in front of it)
    hub_port: int = 8081  # the hub's own API, on 127.0.0.1 only
    proxy_api_port: int = 8001  # the proxy's REST API, on 127.0.0.1 only
    state: Path = Path("/srv/jupyterhub")  # database, cookie secret, pid files (root only)
    exchange: Path = Path("/srv/nbgrader/exchange")  # nbgrader's exchange, shared by the class
    group: str = "rnn-course"  # the Unix group whose members may log in
    admins: frozenset[str] = frozenset()  # hub administrators (the instructors' user names)
    proxy: str = ""  # configurable-http-proxy; "" means the one `npm ci` installed here

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> HubSettings:
        """The settings with every `RNN_HUB_<FIELD>` that is set (RNN_HUB_PORT=8443)."""
        environ = os.environ if environ is None else environ
        default = cls()

        def value(name: str, fallback: object) -> str:
            return environ.get(f"RNN_HUB_{name.upper()}", str(fallback))

        admins = value("admins", "")
        return cls(
            ip=value("ip", default.ip),
            port=_port(value("port", default.port), "RNN_HUB_PORT"),
            hub_port=_port(value("hub_port", default.hub_port), "RNN_HUB_HUB_PORT"),
            proxy_api_port=_port(
                value("proxy_api_port", default.proxy_api_port), "RNN_HUB_PROXY_API_PORT"
            ),
            state=Path(value("state", default.state)),
            exchange=Path(value("exchange", default.exchange)),
            group=value("group", default.group),
            admins=frozenset(name.strip() for name in admins.split(",") if name.strip()),
            proxy=value("proxy", default.proxy),
        )

    @property
    def url(self) -> str:
        """Where students point their browsers (on this machine)."""
        return f"http://{self.ip or '127.0.0.1'}:{self.port}"

    @property
    def proxy_command(self) -> str | None:
        """The proxy to run: RNN_HUB_PROXY, else the pinned one beside this file, else PATH's."""
        if self.proxy:
            return shutil.which(self.proxy)
        pinned = HERE / "node_modules" / ".bin" / PROXY
        return str(pinned) if pinned.is_file() else shutil.which(PROXY)

    @property
    def singleuser(self) -> str:
        """Each student's server: the one of the environment the hub runs from, so students
        run the course's exact packages (it must be readable by every user)."""
        return str(Path(sys.executable).with_name("jupyterhub-singleuser"))


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise CourseError(f"{name}={text!r}: give a port number from 1 to 65535")
    return int(text)
