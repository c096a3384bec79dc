"""Run each notebook in a child forked from a pre-imported template: grading at the cost of the
student's own code, with no weaker isolation than a fresh sandbox per notebook.

Why. A fresh sandbox per notebook spends about 3 s importing TensorFlow and Keras and 1 s
ending a Python that holds them (measured 2026-11-27, README "Grading speed"), against 0.2-1.2 s
for the student's code and the tests. So each worker keeps a template (a "zygote", as
Chromium's Linux sandbox and Android call theirs): a Python in a bubblewrap sandbox with the
same view of the machine as the per-notebook one (`bubblewrap.view`), which has imported IPython,
NumPy and whatever the instructor's setup cells import, and forks one child per notebook.

The threat: student code that tries to reach the template, to reach or outlast its own run, or
to leave something behind for the next student graded by the same worker. How each is answered
(`inside/zygote.py` does it, inside the template's sandbox):

* The template never runs student code and never receives it. It gets the instructor's setup
  cells (the `setup` cells of the *source* notebooks, by grade_id), runs them once in a scratch
  namespace, and gets requests to fork; the grader writes the cells of a run straight into the
  child, after the child has confined itself and said so. So no student's answers, and not the
  reference solution, are in the memory the next child is forked from. Every child runs all of
  its notebook's cells, setup cells included, in a fresh namespace, as a fresh sandbox would:
  the template only makes their imports instant. It forks only while it runs a single thread
  (no lock held by a thread that the child would not have), and it is replaced when it dies,
  after MAX_FORKS forks, and with every grading run (so a changed setup cell never meets an
  older template).
* The child cannot write back into the template: it has its own memory (fork), every mount it
  sees is made read-only and private (`mount_setattr`), it gets its own fresh size-limited tmpfs
  /tmp and home, and its own IPC (System V shared memory outlives processes) and network
  namespaces (abstract sockets).
* The child cannot see or touch the template or another child: it is PID 2 of its own PID
  namespace under a small init, with a /proc of that namespace only, so the template's and other
  runs' processes have no PID it could signal, ptrace or read (/proc/<pid>/mem); ptrace,
  process_vm_readv and pidfd_getfd are refused by seccomp besides.
* Nothing the child starts outlives it: when the runner ends (or the grader kills the run at
  the notebook time limit), the init exits and the kernel kills every process left in the
  namespace: threads, daemons, fork bombs.
* The same limits as a fresh sandbox: the grading user id (root grader) or nobody in a nested
  user namespace (ordinary user), every rlimit of the job (time per cell, memory, processes,
  file size, open files), the notebook time limit kept by the grader, no_new_privs and no
  capabilities. Each run's processes (not the template) are put into the worker's control
  group, which bounds their memory and number together, as a fresh sandbox's are. Exhausting
  them costs the student's own run: the template is outside the group, the kernel's
  out-of-memory killer takes the run's processes before the template (oom_score_adj 500) and
  the processes the student's code forks before the runner that reports on them (1000). A
  seccomp filter also refuses namespaces, mounts, keyrings (which a user id's runs would
  otherwise share), ptrace, BPF, perf, userfaultfd and io_uring (x86_64 only; elsewhere the
  run relies on the rest, and the grader says so).

Where a step is impossible (a kernel without `mount_setattr`, setup cells that leave threads
running, a bubblewrap that refuses the capabilities the template needs), the template raises
TemplateUnavailable and grading falls back to a fresh sandbox per notebook, with a warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import signal
import socket
import struct
import subprocess
import threading
import time
from contextlib import ExitStack

from autograder.sandbox import bubblewrap
from autograder.sandbox.cgroups import ControlGroup
from autograder.sandbox.engine import Job, Limits, RunResult
from autograder.sandbox.gather import gather

log = logging.getLogger(__name__)

ZYGOTE = bubblewrap.INSIDE / "zygote.py"
MAX_FORKS = 100  # then a fresh template: nothing can accumulate in one for long
REPLY_SECONDS = 120.0  # for the template's answers; starting and warming may take long on a
# loaded machine (warming is the instructor's imports: the notebook limit applies to it too)
# what the template keeps of root to make each child's namespaces and drop to its user id;
# in a user namespace also CAP_SETFCAP, without which the kernel refuses to map its root (the
# only id bubblewrap maps) into the child's nested user namespace as nobody
CAPABILITIES = ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_NET_ADMIN"]


class TemplateUnavailable(Exception):
    """Forked children cannot be isolated here: grade with a fresh sandbox per notebook."""


class TemplateFailed(Exception):
    """This template stopped working (it died or stopped answering); a new one may work."""


def template_command(limits: Limits, control_fd: int) -> list[str]:
    """The bwrap command line of a template: the per-notebook sandbox's view, and root (in a
    user namespace for an ordinary user) with CAPABILITIES. Its own scratch folders are writable
    for the imports' sake; no child sees them (each mounts fresh ones over them)."""
    bwrap = bubblewrap.bubblewrap()
    if bwrap is None:
        raise TemplateUnavailable("bubblewrap (bwrap) is not installed")
    as_root = os.geteuid() == 0
    identity = [] if as_root else ["--unshare-user", "--uid", "0", "--gid", "0"]
    identity += ["--cap-drop", "ALL"]
    for capability in CAPABILITIES + ([] if as_root else ["CAP_SETFCAP"]):
        identity += ["--cap-add", capability]
    args = [bwrap, *identity, *bubblewrap.view(limits)]
    zygote = f"{bubblewrap.GRADER_DIR}/{ZYGOTE.name}"  # beside the runner, which it loads
    return [*args, "--", bubblewrap.sandbox_python(), "-I", zygote, str(control_fd)]


class _ForkedRun:
    """One child of a template as `gather` sees it: its supervisor's socket."""

    def __init__(self, channel: socket.socket):
        self.channel = channel
        self.status: int | None = None

    def _message(self, timeout: float | None) -> dict | None:
        self.channel.settimeout(timeout)
        data = self.channel.recv(1 << 16)  # TimeoutError when nothing came in time
        return json.loads(data) if data else None

    def start(self, group: ControlGroup | None, timeout: float) -> None:
        """Put the supervisor into the worker's control group (it tells its PID by sending a
        message: the kernel gives it as this process sees it), then let it start the run."""
        self.channel.settimeout(timeout)
        credentials = socket.CMSG_SPACE(struct.calcsize("3i"))
        try:
            data, ancillary, _, _ = self.channel.recvmsg(1 << 16, credentials)
        except TimeoutError:
            raise TemplateFailed("the supervisor did not start in time") from None
        pids = [
            struct.unpack("3i", item[: struct.calcsize("3i")])[0]
            for level, kind, item in ancillary
            if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
        ]
        if not data or not pids:
            raise TemplateFailed(f"the supervisor did not start ({data!r})")
        if group is not None:
            try:
                group.add(pids[0])
            except OSError as error:
                raise TemplateFailed(f"cannot put the run in its control group: {error}") from None
        self.channel.send(b"go")

    def ready(self, timeout: float) -> None:
        """Return once the child is confined; the job must not be written before."""
        try:
            message = self._message(timeout)
        except TimeoutError:
            raise TemplateFailed("the child did not confine itself in time") from None
        if message and message.get("ready"):
            return
        if message and "failed" in message:
            raise TemplateUnavailable(f"a forked child cannot be isolated: {message['failed']}")
        raise TemplateFailed(f"the child ended before it was ready ({message})")

    def wait(self, timeout: float | None) -> int:
        while self.status is None:
            message = self._message(timeout)
            if message is None:  # the supervisor vanished with the template
                self.status = -signal.SIGKILL
            elif "exit" in message:
                self.status = os.waitstatus_to_exitcode(message["exit"])
        return self.status

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.send(b"kill")


class Template:
    """One worker's template: started on first use, warmed with each new setup, replaced when
    it dies or has forked MAX_FORKS children. Used by one thread at a time. The template itself
    stays out of the worker's control group; each run's processes go into it."""

    def __init__(self, slot: int, group: ControlGroup | None = None):
        self.slot, self.group = slot, group
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.warmed: set[tuple[str, ...]] = set()
        self.forks = 0
        self.start_seconds = self.warm_seconds = 0.0  # of the current template
        self._stderr = b""
        self._stderr_reader: threading.Thread | None = None

    def run(self, job: Job, limits: Limits, running: set | None = None) -> RunResult:
        """Run the cells in a fresh child; never raises for student faults. TemplateFailed if
        the template fails twice (a new one is started for the second try), TemplateUnavailable
        if children cannot be isolated here: either way no cell of this run has been sent."""
        for attempt in (1, 2):
            try:
                self._prepare(limits, job.setup)
                return self._fork_and_collect(job, limits, running)
            except TemplateFailed as error:
                log.debug("slot %d: template failed (%s); attempt %d", self.slot, error, attempt)
                self.close()
                if attempt == 2:
                    raise
            except TemplateUnavailable:
                self.close()
                raise
        raise AssertionError("unreachable")

    @property
    def pid(self) -> int | None:
        """The template's bubblewrap process (tests check that attacks did not replace it)."""
        return self.process.pid if self.process and self.process.poll() is None else None

    def _prepare(self, limits: Limits, setup: tuple[str, ...]) -> None:
        if self.process is not None and (
            self.process.poll() is not None or self.forks >= MAX_FORKS
        ):
            self.close()
        if self.process is None:
            self._start(limits)
        if setup and setup not in self.warmed:
            started = time.monotonic()
            reply = self._request({"op": "warm", "cells": list(setup)})
            if not reply.get("ok"):
                raise TemplateUnavailable(
                    f"the setup cells leave {reply.get('threads')} threads running in the "
                    "template, so forking it would not be safe"
                )
            for error in reply.get("errors", []):
                log.debug("slot %d: a setup cell failed while warming: %s", self.slot, error)
            self.warmed.add(setup)
            self.warm_seconds += time.monotonic() - started

    def _start(self, limits: Limits) -> None:
        started = time.monotonic()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            args = template_command(limits, theirs.fileno())
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        self.control, self.forks, self.warmed, self._stderr = ours, 0, set(), b""
        self._stderr_reader = threading.Thread(target=self._keep_stderr, daemon=True)
        self._stderr_reader.start()
        try:
            hello = self._receive()
        except TemplateFailed as error:
            raise TemplateUnavailable(f"the template sandbox does not start: {error}") from None
        if hello.get("threads") != 1:
            raise TemplateUnavailable(f"the template starts with {hello.get('threads')} threads")
        self.start_seconds, self.warm_seconds = time.monotonic() - started, 0.0
        if platform.machine() != "x86_64":
            log.warning(
                "no seccomp filter on %s: forked sandboxes rely on namespaces, user ids and "
                "limits alone",
                platform.machine(),
            )

    def _keep_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while block := self.process.stderr.read1(1 << 16):
            self._stderr = (self._stderr + block)[-8192:]

    def _receive(self) -> dict:
        assert self.control is not None
        self.control.settimeout(REPLY_SECONDS)
        try:
            data = self.control.recv(1 << 16)
        except (TimeoutError, OSError) as error:
            raise TemplateFailed(f"no answer ({error})") from None
        if not data:
            raise TemplateFailed(self._last_words())
        return json.loads(data)

    def _last_words(self) -> str:
        """Why the template ended: the last line it wrote to stderr."""
        assert self.process is not None and self._stderr_reader is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self._stderr_reader.join(timeout=5)
        last = self._stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        return last[0] if last else f"the template exited ({self.process.poll()})"

    def _request(self, message: dict, fds: list[int] = ()) -> dict:
        assert self.control is not None
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
        except OSError as error:
            raise TemplateFailed(f"cannot reach the template ({error})") from None
        return self._receive()

    def _fork_and_collect(self, job: Job, limits: Limits, running: set | None) -> RunResult:
        uid = bubblewrap.grader_uid(self.slot) if os.geteuid() == 0 else None
        message = bubblewrap.job_message(job, limits, uid, None)
        with ExitStack() as stack:
            job_read, job_write = os.pipe()
            events_read, events_write = os.pipe()
            diagnostics_read, diagnostics_write = os.pipe()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            job_input = stack.enter_context(os.fdopen(job_write, "wb"))
            events = stack.enter_context(os.fdopen(events_read, "rb"))
            diagnostics = stack.enter_context(os.fdopen(diagnostics_read, "rb"))
            stack.enter_context(ours)
            theirs_fds = [job_read, events_write, diagnostics_write, theirs.fileno()]
            started = time.monotonic()
            try:
                request = {"op": "fork", "uid": uid, "scratch_bytes": limits.scratch_bytes}
                reply = self._request(request, theirs_fds)
            finally:
                for fd in theirs_fds[:3]:
                    os.close(fd)
                theirs.close()
            if "unsafe" in reply:
                raise TemplateUnavailable(reply["unsafe"])
            if not reply.get("forked"):
                raise TemplateFailed(reply.get("error", "the template did not fork"))
            self.forks += 1
            child = _ForkedRun(ours)
            child.start(self.group, REPLY_SECONDS)
            child.ready(REPLY_SECONDS)
            return gather(child, events, diagnostics, job_input, message, started, running)

    def close(self) -> None:
        """Stop the template (its children die with it) and wait for it."""
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=5)
            self._stderr_reader = None
