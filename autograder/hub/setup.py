"""Setting a class hub up, as root: the students' environment and the exchange.

* **The students' environment** holds the course's exact packages (from `uv.lock`) and not one
  file of the course's own: students' servers run from it, so no solution, hidden test or
  grading code is ever on a path they can read. Made from the checkout with
  `uv sync --no-install-project`, open to every user, with the students' Jupyter
  configuration (`jupyter/`) copied beside it and the JupyterLab extension that shows each
  student their own due dates (`labextension/`, data and a script, no course code) in it.
* **The exchange** exists, with nbgrader's folders for the course owned by the instructor,
  before any student could create them (whoever makes `rnn-course/` first owns it). It can live
  on a file system of its own of a fixed size (a loop-mounted image), so that a student who
  fills it fills nothing else: not the hub's state, not anyone's home. Per-user disk quotas
  would bound each student too; they need a kernel built with them (CONFIG_QFMT_V2), which
  not every one is, so the fixed-size file system is what this command makes (README).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.errors import CourseError
from autograder.hub.checks import COURSE_FOLDERS, COURSE_ID
from autograder.hub.settings import CHECKOUT, DATES_EXTENSION, STUDENT_CONFIG, HubSettings

OPEN_FOLDER, OPEN_FILE = 0o755, 0o644
# the exchange's course folders: nbgrader's modes (inbound: setgid, and sticky so that no
# student removes another's submission even by name)
FOLDER_MODES = {"": 0o755, "inbound": 0o3733, "outbound": 0o755, "feedback": 0o711}
assert all(FOLDER_MODES[name] & 0o7 == bits for name, bits in COURSE_FOLDERS.items())


def _run(command: list[str], what: str, **options) -> subprocess.CompletedProcess:
    finished = subprocess.run(command, capture_output=True, text=True, **options)
    if finished.returncode != 0:
        reason = (finished.stderr or finished.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CourseError(f"{what} failed: {reason[0]}")
    return finished


def student_environment(
    settings: HubSettings, python: str | None = None, checkout: Path = CHECKOUT
) -> Path:
    """The students' environment at `settings.student_env`; returns its singleuser server."""
    prefix = settings.student_env
    python = python or str(
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise CourseError("uv is not installed in this environment: run `bash .ci/setup` first")
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(OPEN_FOLDER)
    _run([uv, "venv", "--quiet", "--allow-existing", "--python", python, str(prefix / "env")],
         "making the students' environment")  # fmt: skip
    _run(
        [
            uv,
            "sync",
            "--locked",
            "--no-dev",
            "--no-install-project",
            "--compile-bytecode",
            "--quiet",
        ],
        "installing the students' packages from uv.lock",
        cwd=checkout,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(prefix / "env")},
    )
    config = prefix / "jupyter"
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(STUDENT_CONFIG, config, ignore=shutil.ignore_patterns("__pycache__"))
    extension = prefix / "env" / "share" / "jupyter" / "labextensions" / DATES_EXTENSION.name
    shutil.rmtree(extension, ignore_errors=True)
    shutil.copytree(DATES_EXTENSION, extension)
    for folder, _folders, files in os.walk(prefix):
        os.chmod(folder, OPEN_FOLDER)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | OPEN_FILE)
    return settings.singleuser


def exchange(
    settings: HubSettings, instructor: str, image: Path | None = None, size: str | None = None
) -> list[str]:
    """The exchange and the course's folders in it, owned and moded as nbgrader needs them;
    with `image`, first a file system of `size` for it (mounted). Returns what to keep
    (the fstab line), for the instructor."""
    if os.geteuid() != 0:
        raise CourseError("setting up the exchange needs root: sudo python -m autograder.hub …")
    try:
        owner = pwd.getpwnam(instructor)
    except KeyError:
        raise CourseError(f"--instructor {instructor}: no such Unix user") from None
    root = settings.exchange
    said = []
    if image is not None:
        said.append(_file_system(Path(image), size or "10G", root))
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, 0)
    root.chmod(0o1777)
    for name, mode in FOLDER_MODES.items():
        folder = root / COURSE_ID / name if name else root / COURSE_ID
        folder.mkdir(exist_ok=True)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(mode)
    return said


def _file_system(image: Path, size: str, mountpoint: Path) -> str:
    """A fixed-size ext4 file system in `image`, mounted at `mountpoint` (nodev, nosuid,
    noexec: nothing in the exchange is ever run); its line for /etc/fstab."""
    options = "loop,nodev,nosuid,noexec"
    if not image.exists():
        image.parent.mkdir(parents=True, exist_ok=True)
        _run(["truncate", "-s", size, str(image)], f"making {image}")
        image.chmod(0o600)
        _run(["mkfs.ext4", "-q", "-m", "0", str(image)], f"formatting {image}")
    mountpoint.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(mountpoint):
        _run(["mount", "-o", options, str(image), str(mountpoint)], f"mounting {image}")
    return f"{image} {mountpoint} ext4 {options} 0 2"
