"""The grader and the intake run by an ordinary user, as on an instructor's laptop or a server.

As root (CI, containers) the sandbox keeps root only to switch to a grading user id and puts
each worker in a control group; as an ordinary user it must hold with what such a user has:
bubblewrap in a new user namespace and resource limits only. This test reruns the sandbox's
tests (both engines, and the attacks on the forked template), the whole adversarial corpus and
the hostile-intake tests as `nobody`, in a view of the file system where what they need (the
project, its environment, the base Python) is readable by anyone and nothing else of a closed
folder such as /root is visible.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT

from autograder.sandbox import bubblewrap as sandbox

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("unprivileged")]

NOBODY = 65534
RERUN = [
    "tests/test_sandbox.py",
    "tests/test_sandbox_template.py",
    "tests/test_grading_class.py",
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


def test_the_sandbox_the_attacks_and_the_intake_hold_for_an_ordinary_user():
    if os.geteuid() != 0:
        # run by an ordinary user, the suite's own sandbox and attack tests are this test:
        # check that what they use is the user-namespace sandbox, not rerun them
        args, uid = sandbox.command(0, sandbox.Limits())
        assert "--unshare-user" in args and uid is None
        return
    needed = [ROOT, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    scratch = Path(tempfile.mkdtemp(prefix="rnn-course-nobody-"))
    try:
        os.chmod(scratch, 0o755)
        os.chown(scratch, NOBODY, NOBODY)  # pytest removes and recreates its basetemp
        home, basetemp = scratch / "home", scratch / "pytest"
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
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--basetemp={basetemp}",
            "-m",
            "not needs_root",  # tests that make a second Unix user's files
            *RERUN,
        ]
        finished = subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = finished.stdout.strip().splitlines()[-1:] or ["no output"]
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary[0])
    assert passed and int(passed.group(1)) >= 70, summary[0]
    assert not re.search(r"failed|error|skipped", summary[0]), summary[0]


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
