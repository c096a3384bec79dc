"""A notebook's run in a fresh bubblewrap sandbox, and the sandbox's view of the machine.

The sandbox sees a read-only system (/usr, the project's Python and its virtual environment),
the code that runs inside it (`inside/`, one read-only folder), an empty private scratch
directory (a size-limited tmpfs) as its home and working directory, no network, no other
process, and nothing of the course directory, the solutions, the gradebook, the instructor's
home or other students. Cells go in on stdin and the run's events come out on a pipe, so no file
is shared with the host. The forked-template engine (`template.py`) gives each notebook the same
view and limits in a child of a pre-imported template; this module's `run` is the per-notebook
sandbox, used with `--no-fork` and wherever forking is not possible.

When the grader runs as root (in a container or CI), the sandbox keeps root only to set itself
up: the runner then switches to an unprivileged user id, one per slot and grading process, so
that the process limit applies (the kernel does not limit root's processes). Run as an ordinary
user, bubblewrap maps the instructor's id to `nobody` in a new user namespace instead. Each
slot's control group (`cgroups.py`) bounds the memory, processes and CPU time of a whole run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder.errors import CourseError
from autograder.sandbox.cgroups import ControlGroup
from autograder.sandbox.engine import CellToRun, Job, Limits, RunResult
from autograder.sandbox.gather import gather

INSIDE = Path(__file__).with_name("inside")  # the code that runs in the sandbox, read-only
RUNNER = INSIDE / "runner.py"
GRADER_DIR = "/opt/grader"  # where `inside/` is mounted in every sandbox
SANDBOX_HOME = "/submission"
FIRST_GRADER_UID = 200_000  # unused ids: one per slot of each grading process (when root)
TRIAL_SECONDS = 60.0


def bubblewrap() -> str | None:
    return shutil.which("bwrap")


def _ancestors(path: Path) -> list[str]:
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


def _read_only_binds() -> list[Path]:
    """The system and the interpreter the sandbox needs: /usr, the venv and its base Python."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(p for p in paths if not str(p).startswith("/usr"))


def environment_problem() -> str | None:
    """Why this Python cannot run inside the sandbox, if it cannot: the sandbox mounts its own
    empty scratch folders over /tmp and its home, hiding an environment installed there."""
    for path in _read_only_binds():
        for scratch in ("/tmp", SANDBOX_HOME):
            if path.is_relative_to(scratch):
                return (
                    f"the Python environment {path} is under {scratch}, which every sandbox "
                    f"replaces with an empty scratch folder of its own; install the project and "
                    f"its .venv elsewhere (e.g. under /opt or your home)"
                )
    return None


def start_problem() -> str | None:
    """Why a sandbox does not start on this machine, if it does not: a trial run of one cell
    (bubblewrap may be installed and still refused, e.g. where user namespaces are off)."""
    problem = environment_problem()
    if problem:
        return problem
    # the runner exits 0 once it has run every cell (a cell's own error is an event, not a
    # status): 0 means the sandbox started and Python ran in it
    trial = run(Job((CellToRun("pass"),)), Limits(notebook_seconds=TRIAL_SECONDS))
    if trial.returncode == 0 and not trial.timed_out:
        return None
    detail = trial.diagnostics.strip().splitlines()[-1:] or [trial.ending]
    return f"the bubblewrap sandbox does not start here: {detail[0]}"


def view(limits: Limits) -> list[str]:
    """bwrap arguments shared by both engines: namespaces (but the user's), the read-only system
    and Python, a fresh /proc and /dev, size-limited scratch folders and a clean environment."""
    args = ["--die-with-parent", "--new-session"]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--hostname", "sandbox"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", name)
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    for etc in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime"):
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    created: set[str] = set()
    for path in _read_only_binds():
        for parent in _ancestors(path):
            if parent not in created:
                args += ["--perms", "0755", "--dir", parent]
                created.add(parent)
        args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.scratch_bytes), "--perms", "0777", "--tmpfs", "/tmp"]
    args += ["--size", str(limits.scratch_bytes), "--perms", "0777", "--tmpfs", SANDBOX_HOME]
    args += ["--ro-bind", str(INSIDE), GRADER_DIR, "--chdir", SANDBOX_HOME]  # one folder, read-only
    env = {
        "HOME": SANDBOX_HOME,
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "USER": "student",
        "LOGNAME": "student",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",  # the same float results whatever the grading CPU
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "JOBLIB_MULTIPROCESSING": "0",  # no /dev/shm here: serial, without a warning per cell
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    args += ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def sandbox_python() -> str:
    return str(Path(sys.prefix) / "bin" / "python")


def command(slot: int, limits: Limits) -> tuple[list[str], int | None]:
    """The bwrap command line for one run, and the user id the runner switches to (if root)."""
    bwrap = bubblewrap()
    if bwrap is None:
        raise CourseError("bubblewrap (bwrap) is not installed")
    as_root = os.geteuid() == 0
    if as_root:  # keep only what switching to the grading user needs
        identity = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        identity = ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    args = [bwrap, *identity, *view(limits)]
    args += ["--", sandbox_python(), "-I", f"{GRADER_DIR}/{RUNNER.name}"]
    return args, (grader_uid(slot) if as_root else None)


def grader_uid(slot: int) -> int:
    """A user id of this grading process's slot: the process limit counts per user id, so
    sandboxes that run at the same time (other slots, other graders) never share one."""
    return FIRST_GRADER_UID + (os.getpid() % 20_000) * 64 + slot % 64


def unsandboxed_command() -> list[str]:
    """The runner without a sandbox, for `--unsafe-no-sandbox` only."""
    return [sandbox_python(), "-I", str(RUNNER)]


class _Process:
    """A per-notebook sandbox: bwrap in its own session, killed as a process group."""

    def __init__(self, process: subprocess.Popen):
        self.process = process

    def wait(self, timeout: float | None) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError from None

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def job_message(job: Job, limits: Limits, uid: int | None, events_fd: int | None) -> dict:
    """The job as the runner reads it on stdin: cells, limits, user id, events descriptor."""
    cells = [
        {"source": cell.source} | ({"seconds": cell.seconds} if cell.seconds else {})
        for cell in job.cells
    ]
    return {"cells": cells, "limits": asdict(limits), "uid": uid, "events_fd": events_fd}


def run(
    job: Job,
    limits: Limits,
    slot: int = 0,
    sandboxed: bool = True,
    group: ControlGroup | None = None,
    running: set | None = None,
) -> RunResult:
    """Run the job in a fresh sandbox; never raises for student faults. While it runs, it is
    in `running` (see `gather`)."""
    if sandboxed:
        args, uid = command(slot, limits)
    else:
        args, uid = unsandboxed_command(), None
    if group is not None:
        args = group.wrap(args)
    read_end, write_end = os.pipe()
    message = job_message(job, limits, uid, write_end)
    started = time.monotonic()
    env = None if sandboxed else {"PATH": os.environ.get("PATH", ""), "MPLBACKEND": "Agg"}
    process = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
        start_new_session=True,
        env=env,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as events:
        child = _Process(process)
        return gather(child, events, process.stderr, process.stdin, message, started, running)
