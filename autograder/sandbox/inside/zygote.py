"""The forked template inside its sandbox: a pre-imported Python that forks one confined child
per notebook and never runs, or even receives, student code itself.

This file runs *inside* bubblewrap as a plain script, beside `runner.py` (the run's cells),
`confine.py` (each confinement step) and `seccomp_filter.py`, and imports nothing of the
project. The design, and the threat each step answers, is told in `sandbox/template.py`, the
grader's side. The processes, per notebook:

    template      waits on its control socket: "warm" runs the instructor's setup cells in a
      |           scratch namespace (what stays is the modules they imported); "fork" forks
      |           a supervisor and hands it the run's pipes, which the grader opened
      supervisor  waits for the grader to put it into the worker's control group, unshares new
        |         PID, mount, IPC, network and UTS namespaces, forks their init, tells the
        |         grader "ready" and the exit status, and kills the init when the grader asks
        |         (the notebook time limit, too much output)
        init      PID 1: makes every mount read-only, mounts a fresh /proc and fresh size-limited
          |       tmpfs /tmp and home, brings the loopback up, forks the runner and reaps; when
          |       the runner ends it reports its status and exits, and the kernel kills all that
          |       is left in the namespace
          runner  PID 2: becomes the grading user (root grader) or nobody in a nested user
                  namespace, sets no_new_privs, drops every capability, installs a seccomp
                  filter, says "ready", and only then reads the job from the grader and runs it
                  with `runner.run_job`

Messages on the sockets are JSON, one per SOCK_SEQPACKET packet.
"""

import fcntl
import gc
import json
import os
import resource
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # this folder, read-only

import confine  # noqa: E402
import runner  # noqa: E402

EVENTS_FD, JOB_FD, DIAGNOSTICS_FD, CONTROL_FD = 3, 4, 5, 6  # the supervisor's layout
FAILED = 121  # the exit status of a child that could not confine itself


def _threads():
    return len(os.listdir("/proc/self/task"))


# --- the template -----------------------------------------------------------------------------


def _send(channel, message):
    channel.send(json.dumps(message).encode())


def serve(control):
    """Answer the grader's requests until it closes the control socket."""
    import numpy  # noqa: F401 - what every run needs, imported once here
    import pyseccomp  # noqa: F401 - and what each run's lock-down needs (it finds libseccomp)
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _send(control, {"started": True, "threads": _threads()})
    while True:
        _reap()
        data, fds, _, _ = socket.recv_fds(control, 1 << 22, 8)
        if not data:
            return
        request = json.loads(data)
        if request.get("op") == "warm":
            _send(control, warm(request["cells"]))
        elif request.get("op") == "fork" and len(fds) == 4:
            _send(control, fork(control, fds, request))
        else:
            for fd in fds:
                os.close(fd)
            _send(control, {"error": f"unknown request {request.get('op')!r}"})


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def warm(cells):
    """Run the instructor's setup cells, as IPython would, in a namespace thrown away after:
    the modules they import stay imported. Errors are reported, not raised: every child runs
    the same cells again anyway, so warming changes only how long imports take."""
    from IPython.core.inputtransformer2 import TransformerManager

    started = time.monotonic()
    namespace, errors = {"__name__": "__main__"}, []
    for source in cells:
        try:
            code = compile(TransformerManager().transform_cell(source), "<setup>", "exec")
            exec(code, namespace)
        except BaseException as error:  # noqa: BLE001 - reported to the grader
            errors.append(f"{type(error).__name__}: {error}"[:300])
    namespace.clear()
    gc.collect()  # what the cells left unreachable, before the template's objects are frozen
    threads = _threads()
    return {
        "ok": threads == 1,
        "threads": threads,
        "errors": errors,
        "seconds": round(time.monotonic() - started, 3),
    }


def fork(control, fds, request):
    """Fork the supervisor of one run; the template only ever forks while single-threaded, so
    the child holds no lock another thread had taken."""
    threads = _threads()
    if threads != 1:
        for fd in fds:
            os.close(fd)
        return {"unsafe": f"the template runs {threads} threads; forking it would not be safe"}
    # the template's objects out of the garbage collector's sight: a collection in a child
    # (or in each process of a fork bomb) would otherwise write to every one of them and so
    # copy all of the template's memory, page by page
    gc.freeze()
    try:
        pid = os.fork()
    except OSError as error:
        for fd in fds:
            os.close(fd)
        return {"error": f"fork: {error}"}
    if pid == 0:
        code = 0
        try:
            control.detach()  # the template's socket is closed with every other descriptor
            supervise(fds, request)
        except BaseException:  # noqa: BLE001 - the grader sees the supervisor vanish
            code = FAILED
        os._exit(code)
    for fd in fds:
        os.close(fd)
    return {"forked": True}


# --- the supervisor: outside the run's namespaces ---------------------------------------------


def _keep_only(layout):
    """Descriptors `layout` (target → current) and /dev/null as 0, 1 and 2; all else closed."""
    devnull = os.open(os.devnull, os.O_RDWR)
    parked = {target: fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for target, fd in layout.items()}
    parked_null = fcntl.fcntl(devnull, fcntl.F_DUPFD, 100)
    for target in (0, 1, 2):
        os.dup2(parked_null, target)
    for target, fd in parked.items():
        os.dup2(fd, target)
    os.closerange(max(layout) + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def supervise(fds, request):
    job, events, diagnostics, control = fds
    confine.prctl("die with the template", confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    _keep_only({EVENTS_FD: events, JOB_FD: job, DIAGNOSTICS_FD: diagnostics, CONTROL_FD: control})
    channel = socket.socket(fileno=CONTROL_FD)
    # the grader learns this process's PID from the message (SO_PASSCRED), puts it into the
    # worker's control group, and says go: the run's processes are counted there, not the
    # template
    _send(channel, {"supervisor": True})
    if channel.recv(64) != b"go":
        return
    report_read, report_write = os.pipe()
    try:
        confine.unshare(confine.RUN_NAMESPACES, "new namespaces")
        pid = os.fork()
    except OSError as error:
        _send(channel, {"failed": str(error)})
        return
    if pid == 0:
        channel.detach()
        os.close(CONTROL_FD)
        os.close(report_read)
        init(report_write, request)
    for fd in (EVENTS_FD, JOB_FD, DIAGNOSTICS_FD, report_write):
        os.close(fd)
    relay(channel, report_read, pid)


def relay(channel, report, pid):
    """Pass the run's reports to the grader, and its kill request to the run, until it ends."""
    poller = select.poll()
    process = os.pidfd_open(pid)
    for fd in (channel.fileno(), report, process):
        poller.register(fd, select.POLLIN)
    pending, status = b"", None

    def read_reports(block):
        nonlocal pending, status
        pending += block
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            word, _, rest = line.decode("utf-8", "replace").partition(" ")
            if word == "ready":
                _send(channel, {"ready": True})
            elif word == "failed":
                _send(channel, {"failed": rest})
            elif word == "status":
                status = int(rest)

    while True:
        for fd, _ in poller.poll():
            if fd == report:
                block = os.read(report, 4096)
                if not block:
                    poller.unregister(report)
                read_reports(block)
            elif fd == channel.fileno():
                if not channel.recv(64):  # the grader went away: nothing more to run for
                    poller.unregister(fd)
                os.kill(pid, signal.SIGKILL)
            elif fd == process:
                _, ended = os.waitpid(pid, 0)
                while block := os.read(report, 4096):
                    read_reports(block)
                _send(channel, {"exit": ended if status is None else status})
                return


# --- the run: the init of its namespaces, and the runner --------------------------------------


def init(report, request):
    """PID 1 of the run's namespaces: confine them, start the runner, reap."""
    try:
        confine.confine_namespaces(request)
        pid = confine.step("fork the runner", os.fork)
    except OSError as error:
        os.write(report, f"failed {error}\n".encode())
        os._exit(FAILED)
    if pid == 0:
        run(report, request)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as PID 1, no signal from inside reaches it
    for fd in (EVENTS_FD, JOB_FD, DIAGNOSTICS_FD):
        os.close(fd)
    while True:
        try:
            ended, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(FAILED)
        if ended == pid:
            break
    os.write(report, f"status {status}\n".encode())
    os._exit(0)


def run(report, request):
    """The runner: confined before it reads the job; it never returns."""
    try:
        os.dup2(JOB_FD, 0)
        os.dup2(DIAGNOSTICS_FD, 2)
        os.close(JOB_FD)
        os.close(DIAGNOSTICS_FD)
        confine.step("the unprivileged user", confine.become_unprivileged, request.get("uid"))
        confine.step("lock-down", confine.lock_down)
    except OSError as error:
        os.write(report, f"failed {error}\n".encode())
        os._exit(FAILED)
    os.write(report, b"ready\n")
    os.close(report)
    code = 0
    try:
        job = runner.read_job()
        job["events_fd"] = EVENTS_FD
        runner.set_limits(job["limits"])
        runner.run_job(job)
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else int(leaving.code is not None)
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends Python
        code = 1
    # no interpreter shutdown in a forked child: nothing runs after the last cell
    os._exit(code)


def main():
    control = socket.socket(fileno=int(sys.argv[1]))
    serve(control)
    os._exit(0)


if __name__ == "__main__":
    main()
