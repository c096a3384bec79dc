"""The bubblewrap sandbox: what student code can see, reach and use, measured from inside it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.course import ROOT

LIMITS = sandbox.Limits(cell_seconds=5, notebook_seconds=60, processes=64)


def run(*sources: str, limits: sandbox.Limits = LIMITS) -> sandbox.RunResult:
    group = sandbox.ControlGroup(f"rnn-course-test-{os.getpid()}", limits)
    try:
        return sandbox.run([{"source": s} for s in sources], limits, group=group)
    finally:
        group.remove()


def cell_output(result: sandbox.RunResult, index: int) -> dict:
    return next(e for e in result.events if e["event"] == "end" and e["cell"] == index)


def probe_json(result: sandbox.RunResult, index: int = 0) -> object:
    """The JSON a cell printed as its last line."""
    return json.loads(cell_output(result, index)["output"].strip().splitlines()[-1])


def test_bubblewrap_is_installed():
    assert sandbox.bubblewrap(), "install the Debian package bubblewrap (.ci/setup does)"


def test_student_code_sees_no_project_course_or_home_files(tmp_path):
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


def test_the_system_and_the_python_environment_are_read_only():
    result = run(
        "import json, sys\nresult = {}\n"
        "for path in ['/usr/lib/os-release-test', sys.prefix + '/pyvenv.cfg']:\n"
        "    try:\n        open(path, 'a').close(); result[path] = 'written'\n"
        "    except OSError as error:\n        result[path] = type(error).__name__\n"
        "print(json.dumps(result))"
    )
    assert "written" not in probe_json(result).values()


def test_student_code_runs_unprivileged_without_network():
    result = run(
        "import json, os, socket\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=3); net = 'connected'\n"
        "except OSError as error:\n    net = type(error).__name__\n"
        "print(json.dumps({'uid': os.getuid(), 'net': net, 'pid': os.getpid()}))"
    )
    seen = probe_json(result)
    assert seen["uid"] != 0 and seen["net"] != "connected"
    assert seen["pid"] < 10, "a private process namespace"


def test_the_scratch_directory_is_private_and_starts_empty():
    first = run("import os\nopen('left-behind.txt', 'w').write('x')\nprint(os.getcwd())")
    second = run("import json, os\nprint(json.dumps(os.listdir('.')))")
    assert cell_output(first, 0)["output"].strip() == sandbox.SANDBOX_HOME
    assert "left-behind.txt" not in probe_json(second)


def test_an_endless_cell_is_stopped_and_the_next_cell_still_runs():
    result = run("while True:\n    pass", "print('after')")
    assert cell_output(result, 0)["error"] == {"ename": "CellTimeout", "timeout": True}
    assert cell_output(result, 1)["output"] == "after\n"


def test_a_cell_that_ignores_the_alarm_is_stopped_by_the_notebook_limit():
    limits = sandbox.Limits(cell_seconds=2, notebook_seconds=6, processes=64)
    result = run(
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
        limits=limits,
    )
    assert result.timed_out and result.seconds < 30
    assert "timed out" in result.ending


def test_memory_is_limited():
    result = run("b = bytearray(8 * 1024**3)", "print('alive')")
    assert cell_output(result, 0)["error"]["ename"] == "MemoryError"
    assert cell_output(result, 1)["output"] == "alive\n"


def test_a_fork_bomb_is_contained():
    result = run(
        "import os\nwhile True:\n    os.fork()",
        "print('the runner survived')",
    )
    assert cell_output(result, 0)["error"]["ename"] in {"BlockingIOError", "CellTimeout"}
    assert cell_output(result, 1)["output"] == "the runner survived\n"
    # forked children never go on to run later cells
    assert sum(e["event"] == "end" and e["cell"] == 1 for e in result.events) == 1


def test_huge_output_is_capped_not_kept():
    result = run("print('x' * 100_000_000)", "import os\nos.write(1, b'y' * 10_000_000)")
    output = cell_output(result, 0)["output"]
    assert len(output) < 100_000 and "characters of output were dropped" in output
    assert cell_output(result, 1)["error"] is None


def test_a_crash_is_reported_with_its_signal():
    result = run("import ctypes\nctypes.string_at(0)", "print('never')")
    assert result.ending == "crashed (SIGSEGV)"
    assert not any(e["event"] == "end" and e["cell"] == 0 for e in result.events)


def test_grading_refuses_to_run_without_bubblewrap_unless_told(monkeypatch):
    from autograder.errors import CourseError
    from autograder.grading import check_sandbox

    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    with pytest.raises(CourseError, match="--unsafe-no-sandbox"):
        check_sandbox(sandboxed=True)
    check_sandbox(sandboxed=False)  # allowed, with a warning


def test_a_cell_may_carry_its_own_time_limit():
    """The grader gives the instructor's setup cells (slow imports) the notebook's limit."""
    limits = sandbox.Limits(cell_seconds=1, notebook_seconds=60, processes=64)
    cells = [
        {"source": "import time\ntime.sleep(2)", "seconds": 30},
        {"source": "import time\ntime.sleep(2)"},
    ]
    result = sandbox.run(cells, limits)
    assert cell_output(result, 0)["error"] is None
    assert cell_output(result, 1)["error"] == {"ename": "CellTimeout", "timeout": True}
