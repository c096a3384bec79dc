"""The grader and the intake run by an ordinary user, as on an instructor's laptop or a server.

As root (CI, containers) the sandbox keeps root only to switch to a grading user id and puts
each worker in a control group; as an ordinary user it must hold with what such a user has:
bubblewrap in a new user namespace and resource limits only. This module reruns the sandbox's
tests (both engines, and the attacks on the forked template), the whole adversarial corpus and
the hostile-intake tests as `nobody`, in a view of the file system where what they need (the
project, its environment, the base Python) is readable by anyone and nothing else of a closed
folder such as /root is visible. The rerun is one pytest run as `nobody`; each of its tests is
reported here as a test of its own (`test_holds_for_an_ordinary_user[<test id>]`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from helpers.commands import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("unprivileged")]

NOBODY = 65534
RERUN = [
    "tests/test_sandbox.py",
    "tests/test_sandbox_template.py",
    "tests/test_grading_class.py",
    "tests/test_hostile_runs.py",
    "tests/test_collect.py",
    "tests/test_lms_import_hostile.py",
    "tests/test_intake_properties.py",
]


def readable_view(paths: list[Path]) -> list[str]:
    """bwrap arguments: the whole system, with each closed folder above `paths` replaced by an
    empty one that holds only the `paths` under it (read-only)."""
    closed = set()
    for path in paths:
        for folder in path.parents:
            if folder != Path("/") and not folder.stat().st_mode & 0o001:
                closed.add(folder)
    outermost = [f for f in closed if not any(f != o and f.is_relative_to(o) for o in closed)]
    args = ["--dev-bind", "/", "/"]
    for folder in sorted(outermost):
        args += ["--tmpfs", str(folder)]
    made = set()
    for path in paths:
        inside = [f for f in outermost if path.is_relative_to(f)]
        if not inside:
            continue
        for folder in reversed(path.relative_to(inside[0]).parents[:-1]):
            if inside[0] / folder not in made:  # the folders between, open to everyone
                args += ["--perms", "0755", "--dir", str(inside[0] / folder)]
                made.add(inside[0] / folder)
        args += ["--ro-bind", str(path), str(path)]
    return args


def rerun_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options]


def collected() -> list[str]:
    """The ids of the tests the rerun runs (collected here as the rerun will collect them)."""
    if os.geteuid() != 0:
        return []
    listed = subprocess.run(
        rerun_command("--collect-only", "-m", "not needs_root", *RERUN),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if "::" in line]


RERUN_IDS = collected()


def node_id(case: ElementTree.Element) -> str:
    """A junit test case's pytest id: tests.test_x + test_y[param] → tests/test_x.py::test_y[…]"""
    return f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"


@pytest.fixture(scope="module")
def rerun_as_nobody() -> dict[str, str]:
    """Run the tests as `nobody` once; each test's outcome ("passed" or what went wrong)."""
    needed = [ROOT, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    scratch = Path(tempfile.mkdtemp(prefix="rnn-course-nobody-"))
    try:
        os.chmod(scratch, 0o755)
        os.chown(scratch, NOBODY, NOBODY)  # pytest removes and recreates its basetemp
        home, basetemp, report = scratch / "home", scratch / "pytest", scratch / "report.xml"
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "HOME"))
        } | {"HOME": str(home), "USER": "nobody", "LOGNAME": "nobody"}
        command = [
            shutil.which("bwrap") or "bwrap",
            *readable_view(needed),
            "--",
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            *rerun_command(
                f"--basetemp={basetemp}",
                f"--junitxml={report}",
                "-m",
                "not needs_root",  # tests that make a second Unix user's files
                *RERUN,
            ),
        ]
        finished = subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
        )
        assert report.is_file(), finished.stdout[-6000:] + finished.stderr[-2000:]
        outcomes = {}
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            problem = next(iter(case), None)  # failure, error or skipped, if any
            outcomes[node_id(case)] = (
                "passed"
                if problem is None
                else f"{problem.tag}: {problem.get('message', '')}\n{(problem.text or '')[-3000:]}"
            )
        return outcomes
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the rerun as nobody needs root to set up")
def test_the_rerun_runs_every_test_it_should(rerun_as_nobody):
    assert len(RERUN_IDS) >= 70
    assert sorted(rerun_as_nobody) == sorted(RERUN_IDS)


@pytest.mark.parametrize("node", RERUN_IDS)
def test_holds_for_an_ordinary_user(rerun_as_nobody, node):
    assert rerun_as_nobody.get(node, "not run") == "passed", rerun_as_nobody.get(node)


def test_the_readable_view_keeps_closed_folders_closed_but_for_what_is_needed():
    scratch = Path(tempfile.mkdtemp(prefix="rnn-course-view-"))
    try:
        scratch.chmod(0o755)
        closed = scratch / "closed"
        (closed / "versions" / "3.11" / "bin").mkdir(parents=True)
        (closed / "secret").mkdir()
        closed.chmod(0o700)
        args = readable_view([closed / "versions" / "3.11", scratch])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert args[:3] == ["--dev-bind", "/", "/"]
    after = {a: [args[i + 1] for i, b in enumerate(args) if b == a] for a in ("--tmpfs", "--dir")}
    binds = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    assert after["--tmpfs"] == [str(closed)] and binds == [str(closed / "versions" / "3.11")]
    assert after["--dir"] == [str(closed / "versions")]  # made open, so the bind is reachable
    assert args[args.index("--dir") - 1] == "0755"
