"""The bubblewrap sandbox: what student code can see, reach and use, measured from inside it.

Every test that runs cells runs them with both engines: a child forked from a worker's
pre-imported template (`sandbox_template.py`, grading's default) and a fresh sandbox per
notebook (`sandbox.run`). Attacks aimed at the template itself: tests/test_sandbox_template.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.course.folder import ROOT
from autograder.sandbox import bubblewrap as sandbox
from autograder.sandbox import template as sandbox_template

LIMITS = sandbox.Limits(cell_seconds=5, notebook_seconds=60, processes=64)
ENGINES = ["forked", "per-notebook"]


class Engine:
    """Runs cells with one engine; the forked one keeps a template (and a control group) per
    set of limits for the whole test, so that later runs are forked from the same template."""

    def __init__(self, name: str):
        self.name = name
        self.slots: dict[sandbox.Limits, tuple] = {}  # limits → (group, template or None)

    def run_cells(self, cells: list[dict], limits: sandbox.Limits = LIMITS) -> sandbox.RunResult:
        if limits not in self.slots:
            group = sandbox.ControlGroup(f"rnn-course-test-{os.getpid()}-{len(self.slots)}", limits)
            forked = self.name == "forked"
            self.slots[limits] = (group, sandbox_template.Template(0, group) if forked else None)
        group, template = self.slots[limits]
        if template is None:
            return sandbox.run(cells, limits, group=group)
        return template.run(cells, limits, setup=())

    def __call__(self, *sources: str, limits: sandbox.Limits = LIMITS) -> sandbox.RunResult:
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


def cell_output(result: sandbox.RunResult, index: int) -> dict:
    return next(e for e in result.events if e["event"] == "end" and e["cell"] == index)


def probe_json(result: sandbox.RunResult, index: int = 0) -> object:
    """The JSON a cell printed as its last line."""
    return json.loads(cell_output(result, index)["output"].strip().splitlines()[-1])


def test_bubblewrap_is_installed():
    assert sandbox.bubblewrap(), "install the Debian package bubblewrap (.ci/setup does)"


def test_an_environment_the_sandbox_would_hide_is_refused_in_one_line(monkeypatch):
    from autograder.errors import CourseError
    from autograder.grading.run import check_sandbox

    assert sandbox.environment_problem() is None  # this project's own environment
    monkeypatch.setattr(sys, "prefix", "/tmp/checkout/.venv")
    with pytest.raises(CourseError, match=r"/tmp/checkout/\.venv is under /tmp.*elsewhere"):
        check_sandbox(sandboxed=True)


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
    limits = sandbox.Limits(cell_seconds=2, notebook_seconds=6, processes=64)
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
    assert sum(e["event"] == "end" and e["cell"] == 1 for e in result.events) == 1


def test_huge_output_is_capped_not_kept(run: Engine):
    result = run("print('x' * 100_000_000)", "import os\nos.write(1, b'y' * 10_000_000)")
    output = cell_output(result, 0)["output"]
    assert len(output) < 100_000 and "characters of output were dropped" in output
    assert cell_output(result, 1)["error"] is None


def test_a_crash_is_reported_with_its_signal(run: Engine):
    result = run("import ctypes\nctypes.string_at(0)", "print('never')")
    assert result.ending == "crashed (SIGSEGV)"
    assert not any(e["event"] == "end" and e["cell"] == 0 for e in result.events)


def test_grading_refuses_to_run_without_bubblewrap_unless_told(monkeypatch):
    from autograder.errors import CourseError
    from autograder.grading.run import check_sandbox

    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    with pytest.raises(CourseError, match="--unsafe-no-sandbox"):
        check_sandbox(sandboxed=True)
    check_sandbox(sandboxed=False)  # allowed, with a warning


def test_a_cell_may_carry_its_own_time_limit(run: Engine):
    """The grader gives the instructor's setup cells (slow imports) the notebook's limit."""
    limits = sandbox.Limits(cell_seconds=1, notebook_seconds=60, processes=64)
    cells = [
        {"source": "import time\ntime.sleep(2)", "seconds": 30},
        {"source": "import time\ntime.sleep(2)"},
    ]
    result = run.run_cells(cells, limits)
    assert cell_output(result, 0)["error"] is None
    assert cell_output(result, 1)["error"] == {"ename": "CellTimeout", "timeout": True}
