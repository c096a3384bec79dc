"""The bubblewrap sandbox: what student code can see, reach and use, measured from inside it.

Every test that runs cells runs them with both engines: a child forked from a worker's
pre-imported template (`sandbox/template.py`, grading's default) and a fresh sandbox per
notebook (`bubblewrap.run`). Attacks aimed at the template itself: test_sandbox_template.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sandboxes import job, job_of, raw_events

from autograder.course.folder import ROOT
from autograder.errors import CourseError
from autograder.sandbox import bubblewrap as sandbox
from autograder.sandbox.cgroups import ControlGroup
from autograder.sandbox.engine import Limits, RunResult
from autograder.sandbox.pool import SandboxPool
from autograder.sandbox.template import Template

LIMITS = Limits(cell_seconds=5, notebook_seconds=60, processes=64)
ENGINES = ["forked", "per-notebook"]


class Engine:
    """Runs cells with one engine; the forked one keeps a template (and a control group) per
    set of limits for the whole test, so that later runs are forked from the same template."""

    def __init__(self, name: str):
        self.name = name
        self.slots: dict[Limits, tuple] = {}  # limits → (group, template or None)

    def run_cells(self, cells: list[dict], limits: Limits = LIMITS) -> RunResult:
        if limits not in self.slots:
            group = ControlGroup(f"rnn-course-test-{os.getpid()}-{len(self.slots)}", limits)
            forked = self.name == "forked"
            self.slots[limits] = (group, Template(0, group) if forked else None)
        group, template = self.slots[limits]
        if template is None:
            return sandbox.run(job_of(cells), limits, group=group)
        return template.run(job_of(cells), limits)

    def __call__(self, *sources: str, limits: Limits = LIMITS) -> RunResult:
        return self.run_cells([{"source": s} for s in sources], limits)

    def close(self) -> None:
        for group, template in self.slots.values():
            if template is not None:
                template.close()
            group.remove()


@pytest.fixture(params=ENGINES)
def run(request) -> Iterator[Engine]:
    engine = Engine(request.param)
    try:
        yield engine
    finally:
        engine.close()


def cell_output(result: RunResult, index: int) -> dict:
    return next(e for e in raw_events(result) if e["event"] == "end" and e["cell"] == index)


def probe_json(result: RunResult, index: int = 0) -> object:
    """The JSON a cell printed as its last line."""
    return json.loads(cell_output(result, index)["output"].strip().splitlines()[-1])


def test_bubblewrap_is_installed():
    assert sandbox.bubblewrap(), "install the Debian package bubblewrap (.ci/setup does)"


def test_the_sandbox_identity_fits_who_grades():
    """As root, bubblewrap keeps only what switching to a grading user id needs; as an
    ordinary user (this module is rerun as nobody), a new user namespace maps them to nobody."""
    args, uid = sandbox.command(0, LIMITS)
    if os.geteuid() == 0:
        assert "--cap-drop" in args and "--unshare-user" not in args and uid is not None
    else:
        assert "--unshare-user" in args and uid is None


def test_an_environment_the_sandbox_would_hide_is_refused_in_one_line(monkeypatch):
    assert sandbox.environment_problem() is None  # this project's own environment
    monkeypatch.setattr(sys, "prefix", "/tmp/checkout/.venv")
    pool = SandboxPool(1, LIMITS)
    try:
        with pytest.raises(CourseError, match=r"/tmp/checkout/\.venv is under /tmp.*elsewhere"):
            pool.prepare()
    finally:
        pool.close()


def test_student_code_sees_no_project_course_or_home_files(run: Engine, tmp_path):
    secret, home = ROOT / "source_notebooks", Path.home()
    result = run(
        "import json, os\n"
        f"paths = {[str(secret), str(tmp_path), '/etc/passwd', str(ROOT / 'README.md')]!r}\n"
        f"home = {str(home)!r}\n"
        "print(json.dumps({'seen': [p for p in paths if os.path.exists(p)],\n"
        "                  'home': os.listdir(home) if os.path.isdir(home) else []}))"
    )
    seen = probe_json(result)
    assert seen["seen"] == []
    # only the folders leading to the (read-only) Python installation, if it lives in the home
    python_dirs = {
        Path(p).relative_to(home).parts[0]
        for p in (sys.prefix, sys.base_prefix)
        if Path(p).is_relative_to(home)
    }
    assert set(seen["home"]) <= python_dirs


def test_the_system_and_the_python_environment_are_read_only(run: Engine):
    result = run(
        "import json, sys\nresult = {}\n"
        "for path in ['/usr/lib/os-release-test', sys.prefix + '/pyvenv.cfg']:\n"
        "    try:\n        open(path, 'a').close(); result[path] = 'written'\n"
        "    except OSError as error:\n        result[path] = type(error).__name__\n"
        "print(json.dumps(result))"
    )
    assert "written" not in probe_json(result).values()


def test_student_code_runs_unprivileged_without_network(run: Engine):
    result = run(
        "import json, os, socket\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=3); net = 'connected'\n"
        "except OSError as error:\n    net = type(error).__name__\n"
        "print(json.dumps({'uid': os.getuid(), 'net': net, 'pid': os.getpid()}))"
    )
    seen = probe_json(result)
    assert seen["uid"] != 0 and seen["net"] != "connected"
    assert seen["pid"] < 10, "a private process namespace"


def test_the_scratch_directory_is_private_and_starts_empty(run: Engine):
    first = run("import os\nopen('left-behind.txt', 'w').write('x')\nprint(os.getcwd())")
    second = run("import json, os\nprint(json.dumps(os.listdir('.')))")
    assert cell_output(first, 0)["output"].strip() == sandbox.SANDBOX_HOME
    assert "left-behind.txt" not in probe_json(second)


def test_an_endless_cell_is_stopped_and_the_next_cell_still_runs(run: Engine):
    result = run("while True:\n    pass", "print('after')")
    assert cell_output(result, 0)["error"] == {"ename": "CellTimeout", "timeout": True}
    assert cell_output(result, 1)["output"] == "after\n"


def test_a_cell_that_ignores_the_alarm_is_stopped_by_the_notebook_limit(run: Engine):
    limits = Limits(cell_seconds=2, notebook_seconds=6, processes=64)
    result = run(
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
        limits=limits,
    )
    assert result.timed_out and result.seconds < 30
    assert "timed out" in result.ending


def test_memory_is_limited(run: Engine):
    result = run("b = bytearray(8 * 1024**3)", "print('alive')")
    assert cell_output(result, 0)["error"]["ename"] == "MemoryError"
    assert cell_output(result, 1)["output"] == "alive\n"


def test_a_fork_bomb_is_contained(run: Engine):
    result = run(
        "import os\nwhile True:\n    os.fork()",
        "print('the runner survived')",
    )
    assert cell_output(result, 0)["error"]["ename"] in {"BlockingIOError", "CellTimeout"}
    assert cell_output(result, 1)["output"] == "the runner survived\n"
    # forked children never go on to run later cells
    assert sum(e["event"] == "end" and e["cell"] == 1 for e in raw_events(result)) == 1


def test_huge_output_is_capped_not_kept(run: Engine):
    result = run("print('x' * 100_000_000)", "import os\nos.write(1, b'y' * 10_000_000)")
    output = cell_output(result, 0)["output"]
    assert len(output) < 100_000 and "characters of output were dropped" in output
    assert cell_output(result, 1)["error"] is None


def test_a_crash_is_reported_with_its_signal(run: Engine):
    result = run("import ctypes\nctypes.string_at(0)", "print('never')")
    assert result.ending == "crashed (SIGSEGV)"
    assert not any(e["event"] == "end" and e["cell"] == 0 for e in raw_events(result))


def test_grading_refuses_to_run_without_bubblewrap_unless_told(monkeypatch):
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    for sandboxed in (True, False):
        pool = SandboxPool(1, LIMITS, sandboxed=sandboxed)
        try:
            if sandboxed:
                with pytest.raises(CourseError, match="--unsafe-no-sandbox"):
                    pool.prepare()
            else:
                pool.prepare()  # allowed, with a warning
        finally:
            pool.close()


def test_a_cell_may_carry_its_own_time_limit(run: Engine):
    """The grader gives the instructor's setup cells (slow imports) the notebook's limit."""
    limits = Limits(cell_seconds=1, notebook_seconds=60, processes=64)
    cells = [
        {"source": "import time\ntime.sleep(2)", "seconds": 30},
        {"source": "import time\ntime.sleep(2)"},
    ]
    result = run.run_cells(cells, limits)
    assert cell_output(result, 0)["error"] is None
    assert cell_output(result, 1)["error"] == {"ename": "CellTimeout", "timeout": True}


SPIN_SECONDS = 4
SPIN_IN_SESSIONS = (
    "import os, subprocess, sys, time\n"
    "spin = 'import os\\nos.setsid()\\nwhile True:\\n    pass'\n"
    "start = time.monotonic()\n"
    "spinners = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(12)]\n"
    f"time.sleep({SPIN_SECONDS})\n"
    "for spinner in spinners:\n    spinner.kill()\n"
    "for spinner in spinners:\n    spinner.wait()\n"
    "spent = os.times()\n"
    "used = spent.children_user + spent.children_system\n"
    "print(len(spinners), round(used, 2), round(time.monotonic() - start, 2))"
)


def test_processes_in_sessions_of_their_own_share_the_runs_one_cpu(run: Engine):
    """12 spinning processes, each in a session of its own (out of the reach of a process
    group's signal): the run's control group holds all of them to one CPU's time, so they can
    only slow their own run. Without control groups (an ordinary user), the fallback is the
    process limit, as the README says."""
    limits = Limits(cell_seconds=40, notebook_seconds=60, processes=64)
    result = run(SPIN_IN_SESSIONS, limits=limits)
    count, used, wall = cell_output(result, 0)["output"].split()
    assert count == "12", result.ending
    group, _ = run.slots[limits]
    if os.geteuid() == 0:
        assert group.cpu_limited
        # the 12 spinners' CPU time together: never more than one CPU's worth, and held back
        # whenever they asked for more (on a machine busy with other work they may not get the
        # chance to: then they did not reach one CPU's worth either)
        used, wall = float(used), float(wall)
        assert used <= limits.cpus * wall * 1.1 + 0.3, (used, wall)
        assert group.cpu_throttled() > 0 or used < limits.cpus * wall * 0.9, (used, wall)
    else:
        assert not group.cpu_limited and not group.paths


SPIN_AND_MEASURE = (
    "import os, subprocess, sys, time\n"
    "spin = 'import os\\nos.setsid()\\nwhile True:\\n    pass'\n"
    "start = time.monotonic()\n"
    "spinners = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(24)]\n"
    "time.sleep(4)\n"
    "for spinner in spinners:\n    spinner.kill()\n"
    "for spinner in spinners:\n    spinner.wait()\n"
    "used = os.times()\n"
    "print(used.children_user + used.children_system, time.monotonic() - start)"
)


def test_a_run_spinning_in_many_sessions_does_not_take_a_siblings_cpu():
    """Two slots at once: one spins in 24 sessions, the other runs an honest cell that needs
    a CPU for a while; the honest run finishes in its own time limit, and the 24 spinners
    together had no more than the run's one CPU."""
    honest = "import time\nt = time.process_time()\nwhile time.process_time() - t < 3:\n    pass"
    limits = Limits(cell_seconds=40, notebook_seconds=90, processes=64)
    pool = SandboxPool(2, limits)
    try:
        futures = [pool.submit(job_of([{"source": SPIN_AND_MEASURE}])), pool.submit(job(honest))]
        results = [future.result() for future in futures]
    finally:
        pool.close()
    assert cell_output(results[1], 0)["error"] is None, results[1].ending
    spun = cell_output(results[0], 0)["output"]
    assert spun, results[0].ending
    cpu, wall = (float(number) for number in spun.split())
    if os.geteuid() == 0:
        # bounded, not throttled: on a busy machine they get less than a CPU and are never
        # held back, so the bound is what holds however busy the machine is
        assert cpu <= limits.cpus * wall * 1.1 + 0.3, (cpu, wall)
