"""Shared fixtures: the real SEntFiN file, the built book, the released assignment, a course.

Helper functions live in `tests/helpers/` (imported as `helpers.<module>`), fixtures here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers.book import PUBLISHED_SITE, Build, build_book, toc_pages

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.site.chapter_pdf import PDF_NAME, print_pdf
from course_data import DataError, fetch_sentfin

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sentfin_csv() -> Path:
    """The verified data set, found as the course finds it: $SENTFIN_CSV or the download."""
    try:
        return fetch_sentfin()
    except DataError as error:
        pytest.fail(f"the SEntFiN data set is needed by this test: {error}")


# --- the book ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def book_build(tmp_path_factory, sentfin_csv) -> Build:
    """One clean, strict build of the book (minutes), for every test of the `book` xdist group,
    then the chapter printed to its PDF as `rnn-course site build` does."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SENTFIN_CSV", str(sentfin_csv))
        build = build_book(tmp_path_factory.mktemp("book"))
    if build.returncode == 0:
        print_pdf(build.html, toc_pages(), build.html / PDF_NAME, PUBLISHED_SITE)
    return build


@pytest.fixture(scope="session")
def site(request) -> Path:
    """The built HTML site; fails (not errors) every test needing it if the build failed.

    `RNN_COURSE_BUILT_SITE=_build/html` reuses a site you built (`rnn-course site build`) when
    working on the site's tests; CI and the README's test command always build afresh.
    """
    reused = os.environ.get("RNN_COURSE_BUILT_SITE")
    if reused:
        return Path(reused).resolve()
    book_build = request.getfixturevalue("book_build")
    assert book_build.returncode == 0, f"the clean build failed:\n{book_build.log[-6000:]}"
    return book_build.html


# --- the `rnn` assignment --------------------------------------------------------------------


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Course:
    """A course directory with the assignment released (and so known to the gradebook)."""
    root = tmp_path_factory.mktemp("course")
    Course.open(root).settings.updated(site_url=PUBLISHED_SITE).save(root)
    course = Course.open(root)  # with the class's website, as `configure --site-url` sets it
    release(course)
    return course


@pytest.fixture
def course(released_course, tmp_path) -> Course:
    """A fresh course folder of the test's own, sharing the release (its notebooks' names and
    the gradebook's assignment) without releasing again."""
    course = Course.open(tmp_path / "course")
    (course.root / "release").symlink_to(released_course.root / "release")
    shutil.copyfile(released_course.gradebook, course.gradebook)
    return course
