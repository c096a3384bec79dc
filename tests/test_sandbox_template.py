"""Attacks aimed at the forked template: at it, at a sibling, and at the next student.

Every notebook of a slot is forked from the same pre-imported template (sandbox/template.py),
so each attack below runs as a student's helper cell through a real worker, and after it an
honest submission is graded through the same worker and template: it must get full marks, and
the template must be the same process (not one restarted because the attack broke it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from helpers.assignment import solution_cells
from helpers.sandboxes import ends, job

from autograder.grading.events import CheckRecord, parse
from autograder.grading.jobs import JobCell, job_cells, sandbox_job
from autograder.grading.judge import NotebookResult, Run, judge, reference_records
from autograder.grading.plan import NotebookPlan, plan_assignment
from autograder.grading.submission import Answers
from autograder.sandbox import template as sandbox_template
from autograder.sandbox.engine import Limits, RunResult
from autograder.sandbox.pool import SandboxPool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("template")]

LIMITS = Limits(cell_seconds=45, notebook_seconds=300)
NOTEBOOK = "01-gradients"
FIRST_ANSWER = "jacobian_norms"

SIGNAL_TRACE_AND_READ = """
import ctypes, json, os, signal
libc = ctypes.CDLL(None, use_errno=True)
me = os.getpid()
mine = {int(t) for t in os.listdir('/proc/self/task')}  # this process's threads
seen = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
report = {'me': me, 'seen': seen, 'ptrace': {}, 'mem': {}, 'vm_read': {}}
for pid in range(1, 64):
    if pid in mine:
        continue
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    failed = libc.ptrace(16, pid, 0, 0) == -1  # PTRACE_ATTACH
    report['ptrace'][pid] = ctypes.get_errno() if failed else 0
    buffer = ctypes.create_string_buffer(64)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 64)
    remote = (ctypes.c_void_p * 2)(0x400000, 64)
    failed = libc.process_vm_readv(pid, local, 1, remote, 1, 0) == -1
    report['vm_read'][pid] = ctypes.get_errno() if failed else 0
for pid in seen:
    if pid != me:
        try:
            open(f'/proc/{pid}/mem', 'rb').close()
            report['mem'][pid] = 'opened'
        except OSError as error:
            report['mem'][pid] = error.errno
try:
    os.kill(-1, signal.SIGKILL)  # every process this one may signal, but itself
    report['kill_all'] = 'sent'
except OSError as error:
    report['kill_all'] = error.errno
print(json.dumps(report))
"""

LEAVE_BEHIND = """
import ctypes, os, socket, sys, threading, time, types
import numpy as np
LEAKED_ANSWER = 42
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
sys.modules['keras'] = types.ModuleType('keras')
sys.modules['student_module'] = types.ModuleType('student_module')
def patch_forever():
    while True:
        np.allclose = lambda *a, **k: True
        time.sleep(0.01)
threading.Thread(target=patch_forever).start()  # not a daemon: it would keep a process alive
for folder in ('/tmp', os.path.expanduser('~'), '/dev/shm', '/var/tmp', '/', '/opt/grader'):
    try:
        open(os.path.join(folder, 'left-behind'), 'w').write('x')
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget(0x5EED, 4096, 0o1666)  # IPC_CREAT: System V memory outlives its processes
libc.syscall(248, b'user', b'left-behind', b'x', 1, -4)  # add_key to the user id's keyring
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # a daemon, holding an abstract socket, writing a file now and then
        server = socket.socket(socket.AF_UNIX)
        server.bind('\\0left-behind')
        server.listen()
        while True:
            try:
                open('/tmp/daemon', 'w').write('x')
            except OSError:
                pass
            time.sleep(0.05)
    os._exit(0)
time.sleep(0.5)
"""

WHAT_WAS_LEFT = """
import ctypes, gc, json, os, socket, sys
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
found = {'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), 'me': os.getpid()}
places = ['/tmp', os.path.expanduser('~'), '/dev/shm', '/var/tmp', '/', '/opt/grader']
found['files'] = [p for p in places for name in ('left-behind', 'daemon')
                  if os.path.exists(os.path.join(p, name))]
found['shared_memory'] = libc.shmget(0x5EED, 0, 0) != -1
found['key'] = libc.syscall(250, 10, -4, b'user', b'left-behind', 0) != -1  # KEYCTL_SEARCH
try:
    socket.socket(socket.AF_UNIX).connect('\\0left-behind')
    found['socket'] = True
except OSError:
    found['socket'] = False
found['numpy_patched'] = bool(np.allclose([1.0], [2.0]))
import keras
found['keras_replaced'] = not hasattr(keras, 'layers')
found['modules'] = 'student_module' in sys.modules
name = 'LEAKED_' + 'ANSWER'
found['namespace'] = any(isinstance(o, dict) and name in o for o in gc.get_objects())
import threading
found['patcher'] = any('patch_forever' in t.name for t in threading.enumerate())
print(json.dumps(found))
"""

NOTHING_LEFT = {
    "files": [],
    "shared_memory": False,
    "key": False,
    "socket": False,
    "numpy_patched": False,
    "keras_replaced": False,
    "modules": False,
    "namespace": False,
    "patcher": False,
}

FORK_BOMB_THAT_STAYS = """
import os, time
if os.fork() == 0:
    while True:  # holds every process the limits allow, until the run is over
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
time.sleep(3)
"""

MEMORY_THAT_STAYS = """
import subprocess, sys, time
hog = "b = bytearray(1024**3); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(60)"
hogs = [subprocess.Popen([sys.executable, '-c', hog]) for _ in range(4)]
time.sleep(8)
"""


def judged(plan: NotebookPlan, cells: list[JobCell], run: RunResult, reference) -> NotebookResult:
    events = parse(run.stream, len(cells))
    return judge(plan, cells, events, reference, Run(run.ending, run.seconds))


@dataclass
class Grader:
    plan: NotebookPlan
    workers: SandboxPool
    reference: dict[str, list[CheckRecord]]

    def grade(self, answers: Answers) -> tuple[NotebookResult, list[JobCell]]:
        cells = job_cells(self.plan, answers)
        run = self.workers.submit(sandbox_job(cells, LIMITS)).result()
        return judged(self.plan, cells, run, self.reference), cells

    def run_alone(self, source: str) -> dict:
        """A student cell run on its own through the worker; the JSON it printed last."""
        run = self.workers.submit(job(source)).result()
        end = ends(run)[0]
        assert end["error"] is None, end
        return json.loads(end["output"].strip().splitlines()[-1])

    @property
    def template_pid(self) -> int | None:
        return self.workers.templates[0].pid


def honest_answers() -> Answers:
    answers = Answers()
    for grade_id, (path, source) in solution_cells().items():
        if path.stem == NOTEBOOK:
            answers.code[grade_id] = [source]
    return answers


def attacking(code: str) -> Answers:
    """The honest answers, with `code` as a helper cell of the student's above the first."""
    answers = honest_answers()
    answers.code[FIRST_ANSWER] = [code, *answers.code[FIRST_ANSWER]]
    return answers


@pytest.fixture(scope="module")
def grader(released_course):
    plan = next(p for p in plan_assignment(released_course) if p.name == NOTEBOOK)
    workers = SandboxPool(1, LIMITS, sandboxed=True)
    try:
        cells = job_cells(plan, None)
        run = workers.submit(sandbox_job(cells, LIMITS)).result()
        records = reference_records(plan, cells, parse(run.stream, len(cells)), Run(run.ending))
        yield Grader(plan, workers, records)
    finally:
        workers.close()


def assert_full_marks(grader: Grader) -> None:
    result, _ = grader.grade(honest_answers())
    assert result.problems == [], result.problems
    assert {t.grade_id: t.score for t in result.tasks.values()} == {
        t.grade_id: t.max_score for t in result.tasks.values()
    }, {t.grade_id: t.reason for t in result.tasks.values()}


def attack_output(result: NotebookResult, cells: list[JobCell]) -> dict:
    index = next(i for i, c in enumerate(cells) if c.kind == "helper")
    return json.loads(result.outputs[index].strip().splitlines()[-1])


def test_grading_forks_every_notebook_from_one_template(grader):
    assert_full_marks(grader)
    pid = grader.template_pid
    assert pid is not None and grader.workers.fallback is None
    assert_full_marks(grader)
    assert grader.template_pid == pid and grader.workers.templates[0].forks >= 3


def test_a_child_can_neither_see_signal_trace_nor_read_the_template_or_a_sibling(grader):
    pid = grader.template_pid
    result, cells = grader.grade(attacking(SIGNAL_TRACE_AND_READ))
    report = attack_output(result, cells)
    assert set(report["seen"]) <= {1, report["me"]}, "only its own init and itself"
    assert all(report["ptrace"].values()), report["ptrace"]
    assert all(report["vm_read"].values()), report["vm_read"]
    assert all(value != "opened" for value in report["mem"].values()), report["mem"]
    assert result.tasks["test_jacobian_norms"].score == 3.0, "the attacker's own run went on"
    assert_full_marks(grader)
    assert grader.template_pid == pid


def test_a_sibling_running_at_the_same_time_is_out_of_reach(released_course):
    # the victim reports when it started and ended (wall clock, shared by both sandboxes), so
    # the test knows the attack ran while it was alive
    victim = (
        "import json, time\nstarted = time.time()\ntime.sleep(8)\n"
        "print(json.dumps({'alive': True, 'from': started, 'to': time.time()}))"
    )
    attacker = "import time\ntime.sleep(2)\nattacked = time.time()\n" + SIGNAL_TRACE_AND_READ
    attacker += "\nprint(json.dumps({'at': attacked}))"
    workers = SandboxPool(2, LIMITS, sandboxed=True)
    try:
        futures = [workers.submit(job(victim)), workers.submit(job(attacker))]
        victim_run, attack_run = (future.result() for future in futures)
    finally:
        workers.close()
    victim_end = ends(victim_run)[0]
    assert victim_end["error"] is None, victim_run.ending
    alive = json.loads(victim_end["output"])
    attack_lines = ends(attack_run)[0]["output"].strip().splitlines()
    report, when = json.loads(attack_lines[-2]), json.loads(attack_lines[-1])
    assert alive["alive"] and alive["from"] <= when["at"] <= alive["to"], "the runs overlapped"
    assert set(report["seen"]) <= {1, report["me"]}


def test_nothing_a_child_leaves_behind_reaches_the_next_student(grader):
    pid = grader.template_pid
    grader.grade(attacking(LEAVE_BEHIND))
    found = grader.run_alone(WHAT_WAS_LEFT)
    assert set(found["pids"]) <= {1, found["me"]}, "the daemon died with its run"
    assert {k: found[k] for k in NOTHING_LEFT} == NOTHING_LEFT
    assert_full_marks(grader)
    assert grader.template_pid == pid


@pytest.mark.parametrize(
    "attack", [FORK_BOMB_THAT_STAYS, MEMORY_THAT_STAYS], ids=["processes", "memory"]
)
def test_exhausting_the_limits_does_not_starve_the_template_or_the_next_student(grader, attack):
    pid = grader.template_pid
    grader.grade(attacking(attack))
    assert_full_marks(grader)
    assert grader.template_pid == pid


# --- the template's own rules -------------------------------------------------------------


def test_a_template_is_replaced_after_its_last_fork(monkeypatch):
    monkeypatch.setattr(sandbox_template, "MAX_FORKS", 2)
    template = sandbox_template.Template(0)
    try:
        pids = []
        for _ in range(3):
            run = template.run(job("print(1)"), LIMITS)
            assert run.returncode == 0
            pids.append(template.pid)
    finally:
        template.close()
    assert pids[0] == pids[1] != pids[2]


def test_a_dead_template_is_replaced_and_the_run_still_happens():
    template = sandbox_template.Template(0)
    try:
        template.run(job("print(1)"), LIMITS)
        template.process.kill()
        template.process.wait()
        run = template.run(job("print(2)"), LIMITS)
    finally:
        template.close()
    assert [e["output"] for e in ends(run)] == ["2\n"]


def test_setup_cells_that_leave_a_thread_running_make_grading_fall_back(caplog):
    threaded = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()"
    cells = [JobCell("setup", "setup", threaded), JobCell("helper", None, "print('graded')")]
    workers = SandboxPool(1, LIMITS, sandboxed=True)
    try:
        with caplog.at_level(logging.WARNING):
            run = workers.submit(sandbox_job(cells, LIMITS)).result()
    finally:
        workers.close()
    assert "threads running" in workers.fallback and "threads running" in caplog.text
    assert [e["output"] for e in ends(run)] == ["", "graded\n"]


def test_where_children_cannot_be_isolated_grading_falls_back_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(sandbox_template, "CAPABILITIES", [])  # no namespaces for the children
    workers = SandboxPool(1, LIMITS, sandboxed=True)
    try:
        with caplog.at_level(logging.WARNING):
            run = workers.submit(job("print('graded')")).result()
    finally:
        workers.close()
    assert "cannot be isolated" in workers.fallback
    assert "forked sandboxes are not possible here" in caplog.text
    assert [e["output"] for e in ends(run)] == ["graded\n"]


KERNEL_ATTACK_SURFACE = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
def errno(result):
    return ctypes.get_errno() if result == -1 else 0
print(json.dumps({
    'unshare_user': errno(libc.unshare(0x10000000)),
    'unshare_mount': errno(libc.unshare(0x00020000)),
    'mount': errno(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)),
    'umount': errno(libc.umount2(b'/tmp', 2)),
    'io_uring': errno(libc.syscall(425, 8, ctypes.create_string_buffer(120))),
    'bpf': errno(libc.syscall(321, 0, None, 0)),
    'userfaultfd': errno(libc.syscall(323, 0)),
}))
pid = os.fork()  # a plain fork still works
if pid == 0:
    os._exit(7)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_a_child_cannot_reach_namespaces_mounts_or_rare_kernel_interfaces():
    template = sandbox_template.Template(0)
    try:
        run = template.run(job(KERNEL_ATTACK_SURFACE), LIMITS)
    finally:
        template.close()
    end = ends(run)[0]
    refused, forked = end["output"].splitlines()
    assert all(json.loads(refused).values()), refused
    assert forked == "7"
