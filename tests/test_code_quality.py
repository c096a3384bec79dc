"""The code passes the project's linter and its type check, as CI runs them (via this suite).

ruff (the style guide's linter and formatter) over everything; mypy over the engine interface
and the judge, the two places where a wrong shape would silently mis-grade a class.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers.commands import ROOT

BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    checked = run(str(BIN / "ruff"), "check", ".")
    assert checked.returncode == 0, checked.stdout[-4000:]


def test_the_code_is_formatted_as_ruff_formats_it():
    formatted = run(str(BIN / "ruff"), "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout[-4000:]


def test_the_engine_interface_and_the_judge_type_check():
    checked = run(str(BIN / "mypy"))  # files: pyproject.toml [tool.mypy]
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert "engine.py" in (ROOT / "pyproject.toml").read_text()
