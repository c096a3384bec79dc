"""A Jupyter server on this machine only, behind a fresh token: for live code and the formgrader.

Both the site's live code and the instructor's formgrader need a Jupyter server that nobody
else can reach: bound to 127.0.0.1, with a token made for this run and passed in the
environment (the command line is readable by every user of the machine), refusing with one
line that names the option to change when its port is taken.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import CourseError

START_SECONDS = 60


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect (to the login page, for a token this server does not know) is no answer."""

    def redirect_request(self, *args, **kwargs):
        return None


# an opener that raises a redirect as HTTPError instead of following it
NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


@dataclass
class JupyterServer:
    """A running server; `url` ends with a slash, `stop` ends it and its kernels."""

    process: subprocess.Popen
    port: int
    token: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def answers(self, path: str) -> bool:
        """Whether `path` (below the server's root URL) answers 200 to this server's token."""
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        try:
            with NO_REDIRECTS.open(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_jupyter(
    module: str,
    options: list[str],
    *,
    port: int,
    root_dir: Path,
    log: Path,
    ready: str,
    what: str,
    port_option: str,
    load_config: bool,
    env: dict[str, str] | None = None,
) -> JupyterServer:
    """Start `python -m module` on 127.0.0.1:`port` in `root_dir`; return once `ready` answers.

    `load_config=False` loads no Jupyter configuration at all, hence no server extension;
    `what` and `port_option` name the server and the option to change in error messages.
    """
    token = secrets.token_urlsafe(32)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        module,
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root_dir}",
        *options,
    ]
    if os.geteuid() == 0:  # containers and CI run as root; Jupyter refuses unless told
        command.append("--ServerApp.allow_root=True")
    environment = os.environ | (env or {}) | {"JUPYTER_TOKEN": token}
    if not load_config:
        environment["JUPYTER_NO_CONFIG"] = "1"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=root_dir, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    server = JupyterServer(process, port, token, log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise CourseError(
                f"the {what} did not start on port {port} ({last[0].strip()}); "
                f"choose another with {port_option} (log: {log})"
            )
        if server.answers(ready):
            return server
        time.sleep(0.2)
    reachable = server.answers("api/status")
    server.stop()
    if reachable:
        raise CourseError(f"the {what} started but {ready} does not answer (log: {log})")
    raise CourseError(
        f"the {what} did not answer on port {port} within {START_SECONDS} s (log: {log})"
    )
