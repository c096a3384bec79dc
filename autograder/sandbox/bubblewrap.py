"""Run untrusted notebook cells in a bubblewrap sandbox, under time, memory and process limits.

This module is the per-notebook engine (a fresh sandbox for every notebook) and what both
engines share: the limits, the sandbox's view of the machine, control groups and the collection
of a run's events. The forked-template engine (`sandbox_template.py`) runs each notebook in a
child of a pre-imported template instead, with the same view and limits; grading uses it by
default (`Limits.fork_from_template`).

The sandbox sees a read-only system (/usr, the project's Python and its virtual environment),
an empty private scratch directory (a size-limited tmpfs) as its home and working directory, no
network, no other process, and nothing of the course directory, the solutions, the gradebook,
the instructor's home or other students. Cells go in on stdin and results come out on a pipe,
so no file is shared with the host.

When the grader runs as root (in a container or CI), the sandbox keeps root only to set itself
up: the runner then switches to an unprivileged user id, one per worker and grading process,
so that the process limit applies (the kernel does not limit root's processes). Run as an
ordinary user, bubblewrap maps the instructor's id to `nobody` in a new user namespace instead.

Rlimits bound each process; where the machine lets the grader create control groups (root with
cgroup v1 or v2, as in a container or CI), each worker's sandbox also gets a cgroup that bounds
the memory and the number of processes of the whole sandbox, so that a fork bomb or many
processes each allocating memory cannot take the machine down.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from autograder.errors import CourseError

log = logging.getLogger(__name__)

INSIDE = Path(__file__).with_name("inside")  # the code that runs in the sandbox, mounted read-only
RUNNER = INSIDE / "runner.py"
GRADER_DIR = "/opt/grader"  # where the in-sandbox scripts are, read-only
SANDBOX_HOME = "/submission"
FIRST_GRADER_UID = 200_000  # unused ids: one per worker of each grading process (when root)
MAX_EVENT_BYTES = 256 * 1024 * 1024  # more than any honest submission reports
GROUP_EMPTYING_SECONDS = 5.0  # for a finished run's processes to leave its control group


@dataclass(frozen=True)
class Limits:
    """Per-notebook resource limits (the defaults suit this assignment on a 2-core laptop)."""

    cell_seconds: float = 120.0  # the student's cells and the tests; setup cells: notebook limit
    notebook_seconds: float = 600.0
    memory_bytes: int = 3 * 1024**3
    processes: int = 256  # threads count as processes; TensorFlow starts dozens
    file_bytes: int = 64 * 1024**2
    open_files: int = 1024
    scratch_bytes: int = 256 * 1024**2
    # each notebook in a child forked from a pre-imported template (sandbox_template.py);
    # False: a fresh bubblewrap sandbox and Python per notebook (slower, for comparison)
    fork_from_template: bool = True


@dataclass
class RunResult:
    """What came out of one sandboxed run: events in order, and how the run ended."""

    events: list[dict] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    overflow: bool = False  # the run reported more than MAX_EVENT_BYTES
    seconds: float = 0.0
    startup_seconds: float = 0.0  # until the first event: the sandbox ready to run cells
    diagnostics: str = ""  # the runner's own start-up errors, before student code ran
    fallback: str = ""  # why this run had a fresh sandbox instead of a forked one, if it did

    @property
    def ending(self) -> str:
        """How the sandbox ended, to follow "the kernel …" in a status line."""
        if self.timed_out:
            return "timed out (notebook limit)"
        if self.overflow:
            return "was stopped: it reported too much"
        if not self.returncode:
            return "exited"
        # killed by a signal: negative for our child, 128 + n when bwrap passes it on
        number = -self.returncode if self.returncode < 0 else self.returncode - 128
        if number in {s.value for s in signal.Signals}:
            return f"crashed ({signal.Signals(number).name})"
        return f"exited with status {self.returncode}"


class ControlGroup:
    """A memory + pids control group for one worker's sandboxes, if the machine allows it."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, limits: Limits):
        self.paths: list[Path] = []
        try:
            if (self.ROOT / "cgroup.controllers").is_file():  # cgroup v2
                group = self.ROOT / name
                group.mkdir(exist_ok=True)
                self.paths = [group]
                (group / "memory.max").write_text(str(limits.memory_bytes))
                (group / "pids.max").write_text(str(limits.processes))
                if (group / "memory.swap.max").exists():
                    (group / "memory.swap.max").write_text("0")
            else:  # cgroup v1: one hierarchy per controller
                memory, pids = self.ROOT / "memory" / name, self.ROOT / "pids" / name
                for group in (memory, pids):
                    group.mkdir(exist_ok=True)
                    self.paths.append(group)
                (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                (pids / "pids.max").write_text(str(limits.processes))
        except OSError as error:
            log.debug("no control group for the sandbox (%s): rlimits only", error)
            self.remove()

    @property
    def active(self) -> bool:
        return bool(self.paths)

    def wrap(self, args: list[str]) -> list[str]:
        """`args`, started from inside the group (so every process it makes is counted)."""
        if not self.paths:
            return args
        joins = " && ".join(f"echo $$ > {p / 'cgroup.procs'}" for p in self.paths)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sandbox", *args]

    def add(self, pid: int) -> None:
        """Move a running process (and the processes it starts from now on) into the group."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Remove the group; the last processes of a run may take a moment to be gone."""
        deadline = time.monotonic() + GROUP_EMPTYING_SECONDS
        for path in self.paths:
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.debug("control group %s left behind: %s", path, error)
                        break
                    time.sleep(0.02)
        self.paths = []


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
    trial = run([{"source": "print('ok')"}], Limits(notebook_seconds=60))
    if any(e.get("event") == "end" and not e.get("error") for e in trial.events):
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


def command(worker: int, limits: Limits) -> tuple[list[str], int | None]:
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
    return args, (grader_uid(worker) if as_root else None)


def grader_uid(worker: int) -> int:
    """A user id of this grading process's worker: the process limit counts per user id, so
    sandboxes that run at the same time (other workers, other graders) never share one."""
    return FIRST_GRADER_UID + (os.getpid() % 20_000) * 64 + worker % 64


def unsandboxed_command() -> list[str]:
    """The runner without a sandbox, for `--unsafe-no-sandbox` only."""
    return [sandbox_python(), "-I", str(RUNNER)]


class Supervised(Protocol):
    """A running sandbox as `collect` sees it, whichever engine started it."""

    def wait(self, timeout: float | None) -> int:
        """The exit status (negative: killed by that signal); TimeoutError if still running."""

    def kill(self) -> None:
        """Stop the run and everything it started; safe to call more than once."""


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


def run(
    cells: list[dict],
    limits: Limits,
    worker: int = 0,
    sandboxed: bool = True,
    group: ControlGroup | None = None,
) -> RunResult:
    """Run the cells (dicts with `source`) in a fresh sandbox; never raises for student faults."""
    if sandboxed:
        args, uid = command(worker, limits)
    else:
        args, uid = unsandboxed_command(), None
    if group is not None:
        args = group.wrap(args)
    read_end, write_end = os.pipe()
    job = {"cells": cells, "limits": asdict(limits), "uid": uid, "events_fd": write_end}
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
        return collect(_Process(process), events, process.stderr, process.stdin, job, started)


def collect(
    child: Supervised,
    events: BinaryIO,
    diagnostics: BinaryIO,
    job_input: BinaryIO,
    job: dict,
    started: float,
) -> RunResult:
    """Give a started sandbox its job and gather its events until it ends or its notebook
    time is over: the same bounds (time, bytes reported) whatever engine runs the cells."""
    result = RunResult()
    chunks: list[bytes] = []
    size = 0

    def drain() -> None:
        nonlocal size
        while block := events.read1(1 << 16):
            if not chunks:
                result.startup_seconds = time.monotonic() - started
            if size + len(block) > MAX_EVENT_BYTES:
                result.overflow = True
                child.kill()
                break
            chunks.append(block)
            size += len(block)

    def drain_diagnostics() -> None:
        kept = b""
        while block := diagnostics.read1(1 << 16):
            if len(kept) < 8192:
                kept += block[: 8192 - len(kept)]
        result.diagnostics = kept.decode("utf-8", "replace")

    readers = [threading.Thread(target=drain), threading.Thread(target=drain_diagnostics)]
    for reader in readers:
        reader.start()
    try:
        job_input.write(json.dumps(job).encode())
        job_input.flush()
    except BrokenPipeError:  # the run ended before reading it: its status says why
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            job_input.close()
    deadline = started + job["limits"]["notebook_seconds"]
    try:
        result.returncode = child.wait(max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        result.timed_out = True
        child.kill()
        result.returncode = child.wait(None)
    for reader in readers:
        reader.join()
    result.seconds = time.monotonic() - started
    result.events = _parse_events(b"".join(chunks))
    return result


def _parse_events(data: bytes) -> list[dict]:
    """Well-formed event lines, in order; anything else the sandbox wrote is ignored."""
    events = []
    for line in data.split(b"\n"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    return events
