"""Building the book from a test, as `rnn-course site build` does."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autograder.site.build import SITE_URL_VARIABLE, build_command
from autograder.site.build import toc_pages as site_toc_pages
from helpers.commands import ROOT

# where the tests' site and class say the website is published (`--site-url`); nothing answers
PUBLISHED_SITE = "https://rnn-course.example.edu/"


@dataclass
class Build:
    returncode: int
    log: str
    html: Path


def build_book(output: Path, *extra: str) -> Build:
    """The strict build, as `rnn-course site build --site-url PUBLISHED_SITE`: every build of
    the tests' site (a rebuild too) links the same published address."""
    finished = subprocess.run(
        build_command(output, *extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, SITE_URL_VARIABLE: PUBLISHED_SITE},
    )
    return Build(finished.returncode, finished.stdout + finished.stderr, output / "_build" / "html")


def toc_pages() -> list[str]:
    """Every document named in _toc.yml, without suffix (e.g. 'book/05-forecasting')."""
    return site_toc_pages(ROOT)
