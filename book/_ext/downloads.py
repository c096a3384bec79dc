"""The site's generated downloads: the packages a notebook needs, and the student assignment.

Both are made before the pages are read, into `book/_generated/`, and linked with MyST's
`{download}` role:

* `requirements.txt`: the `notebooks` dependency group of `pyproject.toml`, pinned from
  `uv.lock` (`uv export`), so a page's downloaded `.ipynb` runs with exactly the versions
  that built the site;
* `rnn-student.zip`: the assignment released from `source_notebooks/` with nbgrader exactly as
  an instructor would (`rnn-course release`), so it can never hold a reference solution or a
  hidden test, plus that requirements file and a README for the student.
"""

from __future__ import annotations

import logging
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from autograder.course.folder import ASSIGNMENT, ROOT, Course
from autograder.course.release import release, student_zip
from autograder.errors import CourseError

GENERATED = Path("book") / "_generated"

STUDENT_README = """\
# Assignment `{assignment}`: recurrent neural networks

Three notebooks of tasks to code, each with visible tests; the first two also ask for short
written answers:
{notebooks}

## What you need

Python 3.11 and the packages in `requirements.txt` (the versions the course was built and
graded with: TensorFlow {tensorflow} on the CPU, Keras {keras}, NumPy {numpy}). In a terminal,
in this folder, on Linux:

    python3.11 -m venv .venv
    .venv/bin/pip install -r requirements.txt
    .venv/bin/jupyter lab

On Windows (PowerShell):

    py -3.11 -m venv .venv
    .venv\\Scripts\\pip install -r requirements.txt
    .venv\\Scripts\\jupyter lab

On a Mac, `tensorflow-cpu` has no build: first replace its line in `requirements.txt` by
`tensorflow=={tensorflow}`, then use the Linux commands.

If your course runs a JupyterHub, everything is installed there already: open the notebooks
from its Assignments tab instead.

## Working on a task

Replace the two lines `# YOUR CODE HERE` and `raise NotImplementedError()` in each task with
your code, keep the names and signatures as given, and run the notebook from top to bottom
(Kernel, Restart Kernel and Run All Cells). The cell after each task holds its **visible
tests**, in named groups: if it runs without an error, your answer passes them. Grading adds
hidden tests on more inputs, so passing the visible tests is necessary, not sufficient; each
group earns its points (stated in the task) when all of its checks pass. Each notebook links to
the pages of the course website it practises.

## Handing in

Hand in the three `.ipynb` files as your instructor asks: with the Assignments tab (or
`nbgrader submit {assignment} --course rnn-course`) on the course's JupyterHub, or by uploading
them to your learning-management system. Do not rename them. The time that counts is when the
course's server received your work, not the time on your computer.
"""


def requirements_txt() -> str:
    """The `notebooks` group, pinned from uv.lock, as a requirements file."""
    uv = Path(sys.executable).with_name("uv")
    command = [
        str(uv) if uv.is_file() else (shutil.which("uv") or "uv"),
        "export",
        "--frozen",
        "--no-hashes",
        "--only-group",
        "notebooks",
        "--no-emit-project",
        "--format",
        "requirements-txt",
    ]
    try:
        exported = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        message = f"cannot export requirements.txt from uv.lock: {detail.strip()}"
        raise ExtensionError(message) from error
    header = (
        "# The packages a page of the RNN chapter, or the assignment, needs (Python 3.11),\n"
        "# pinned from the course's uv.lock: pip install -r requirements.txt\n"
    )
    body = [line for line in exported.stdout.splitlines() if not line.startswith("#    uv ")]
    return header + "\n".join(body) + "\n"


def student_readme(released: Path) -> str:
    notebooks = "\n".join(f"- `{p.name}`" for p in sorted(released.glob("*.ipynb")))
    return STUDENT_README.format(
        assignment=ASSIGNMENT,
        notebooks=notebooks,
        tensorflow=version("tensorflow-cpu"),
        keras=version("keras"),
        numpy=version("numpy"),
        python=platform.python_version(),
    )


def make_downloads(app: Sphinx) -> None:
    folder = Path(app.srcdir) / GENERATED
    folder.mkdir(parents=True, exist_ok=True)
    requirements = requirements_txt()
    (folder / "requirements.txt").write_text(requirements)
    logging.getLogger("autograder.nbgrader").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="rnn-course-release-") as course_dir:
        try:
            course = Course.open(course_dir)
            released = release(course, ASSIGNMENT, site_url=app.config.course_site_url)
            student_zip(
                released,
                folder / f"{ASSIGNMENT}-student.zip",
                extras={
                    "requirements.txt": requirements,
                    "README.md": student_readme(released),
                },
            )
        except CourseError as error:
            raise ExtensionError(
                f"cannot make the student version of {ASSIGNMENT!r}: {error}"
            ) from error


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", make_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
