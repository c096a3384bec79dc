"""What must hold for a class hub to work, each said in one line with the command that fixes it.

A hub that starts with a wrong setting fails later and far away: a student's server that cannot
run the course's Python, an exchange nobody can submit to, a Unix group that lets nobody log in.
`jupyterhub_config.py` runs `startup_problems()` before the hub starts and refuses to start on
any of them; `python -m autograder.hub check` asks a running hub (`hub_version()`) and the
exchange the same questions from an instructor's account.
"""

from __future__ import annotations

import grp
import json
import os
import stat
import sys
import urllib.error
import urllib.request
from pathlib import Path

from autograder.course.exchange import check_root
from autograder.errors import CourseError
from autograder.hub.settings import HERE, PROXY, HubSettings

CONFIG = HERE / "jupyterhub_config.py"
PRIVATE = 0o700  # the hub's state folder: its cookie secret and every user's tokens


def startup_problems(settings: HubSettings) -> list[str]:
    """Every reason the hub would not serve the class, one line each (empty: ready)."""
    problems = []
    for check in (_root, _environment, _exchange, _group, _proxy, _state):
        try:
            check(settings)
        except CourseError as problem:
            problems.append(str(problem))
    return problems


def hub_version(url: str, timeout: float = 5.0) -> str:
    """The version of the JupyterHub answering at `url`, or one line saying why none does."""
    api = url.rstrip("/") + "/hub/api/"
    try:
        with urllib.request.urlopen(api, timeout=timeout) as response:
            return json.load(response)["version"]
    except urllib.error.HTTPError as error:
        raise CourseError(
            f"{url} answers HTTP {error.code} where a JupyterHub answers; check the address"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CourseError(
            f"no JupyterHub is running at {url} ({reason}); start it as root: "
            f"jupyterhub -f {CONFIG}"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise CourseError(f"{url} answers, but not as a JupyterHub; check the address") from None


def _root(settings: HubSettings) -> None:
    if os.geteuid() != 0:
        raise CourseError(
            "the hub must run as root to start each student's server as that student: "
            f"sudo {Path(sys.executable).with_name('jupyterhub')} -f {CONFIG}"
        )


def _environment(settings: HubSettings) -> None:
    """Students' servers run the hub's own environment: every user must be able to reach it."""
    singleuser = Path(settings.singleuser)
    if not singleuser.is_file():
        raise CourseError(
            f"{singleuser} is missing: run the hub from the course's environment "
            "(the one `uv sync` made from uv.lock)"
        )
    python = Path(sys.executable).resolve()  # a venv's python links to its base interpreter
    for target in (singleuser, python):
        for path in [*reversed(target.parents), target]:
            mode = path.stat().st_mode
            needed = stat.S_IXOTH | (stat.S_IROTH if path == target else 0)
            if mode & needed != needed:
                raise CourseError(
                    f"students cannot run {target}: {path} is mode {stat.S_IMODE(mode):o}; put "
                    "the course's environment, and the Python it was made from, where every "
                    "user can read them (see autograder/hub/README.md)"
                )


def _exchange(settings: HubSettings) -> None:
    check_root(settings.exchange)


def _group(settings: HubSettings) -> None:
    try:
        grp.getgrnam(settings.group)
    except KeyError:
        raise CourseError(
            f"the Unix group {settings.group!r} (RNN_HUB_GROUP) does not exist, so nobody could "
            f"log in; run: sudo groupadd {settings.group} && sudo usermod -aG {settings.group} "
            "STUDENT (for each student and instructor)"
        ) from None


def _proxy(settings: HubSettings) -> None:
    if not settings.proxy_command:
        wanted = settings.proxy or PROXY
        raise CourseError(
            f"{wanted} (the hub's proxy) is not installed; run: npm ci --prefix {HERE} "
            "(`bash .ci/setup` does), or set RNN_HUB_PROXY to its path"
        )


def _state(settings: HubSettings) -> None:
    """The state folder exists and only root can read it (made so if missing)."""
    folder = settings.state
    if not folder.exists():
        folder.mkdir(mode=PRIVATE, parents=True)
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        raise CourseError(
            f"{folder} holds the hub's cookie secret and every user's tokens, and other users "
            f"can enter it (mode {mode:o}); run: sudo chmod 700 {folder}"
        )
