"""A page downloaded from the site runs on its own: in a fresh environment holding only the
site's requirements.txt (no `course_data`, no project on the path), in a kernel started in an
empty folder, fetching its data itself. Its Markdown shows no MyST role or directive."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

MYST_LEFTOVER = re.compile(r"\{[a-z:]+\}`|^`{3,}\{[\w-]+\}", re.MULTILINE)
RUN_WHOLE = ["03-bptt-and-gradients", "05-forecasting"]
# the sentiment page trains 20 networks: its data-loading part (the inlined loaders fetching
# and checking SEntFiN) and its baselines are run, up to the first recurrent network
RUN_UNTIL = {"06-financial-sentiment": "TextVectorization"}
# the forecasting page trains its RNNs from five seeds; here every cell runs, from one seed
# (the build runs all five)
FEWER_DRAWS = {"05-forecasting": ("SEEDS = [42, 1, 2, 3, 4]", "SEEDS = [42]")}


def downloaded(site: Path, page: str) -> nbformat.NotebookNode:
    return nbformat.read(site / "_sources" / "book" / f"{page}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def requirements(site) -> Path:
    index = BeautifulSoup((site / "book" / "index.html").read_text(), "html.parser")
    links = [a["href"] for a in index.find_all("a", href=True) if "requirements.txt" in a["href"]]
    assert links, "the home page does not link requirements.txt"
    path = (site / "book" / unquote(links[0])).resolve()
    assert path.is_file(), path
    return path


@pytest.fixture(scope="module")
def standalone_kernel(requirements, tmp_path_factory) -> str:
    """A kernel in a new virtual environment with only the listed requirements."""
    root = tmp_path_factory.mktemp("standalone")
    venv = root / "venv"
    uv = str(Path(sys.executable).with_name("uv"))
    base = Path(sys.base_prefix) / "bin" / "python3"
    for command in (
        [uv, "venv", "--quiet", "--python", str(base), str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(requirements),
        ],
    ):
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        assert finished.returncode == 0, finished.stderr[-3000:]
    python = venv / "bin" / "python"
    check = subprocess.run(
        [python, "-c", "import course_data"], capture_output=True, text=True, check=False
    )
    assert check.returncode != 0, "the project's own package is visible in the clean env"
    spec = root / "kernels" / "standalone"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "requirements.txt only",
                "language": "python",
            }
        )
    )
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("JUPYTER_PATH")])]
    )
    return "standalone"


def test_downloaded_pages_import_nothing_of_the_project_and_show_no_myst_syntax(site):
    for page in sorted((site / "_sources" / "book").glob("*.ipynb")):
        notebook = nbformat.read(page, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not re.search(
                    r"^\s*(from|import) (course_data|myst_nb)\b", cell.source, re.M
                ), (page.name, cell.source[:200])
            elif cell.cell_type == "markdown":
                leftover = MYST_LEFTOVER.search(cell.source)
                assert not leftover, (page.name, cell.source[max(0, leftover.start() - 60) :][:160])


@pytest.mark.parametrize("page", RUN_WHOLE + list(RUN_UNTIL))
def test_a_downloaded_page_runs_top_to_bottom_outside_the_project(
    site, standalone_kernel, tmp_path, page
):
    notebook = downloaded(site, page)
    if page in RUN_UNTIL:
        stop = next(i for i, c in enumerate(notebook.cells) if RUN_UNTIL[page] in c.source)
        notebook.cells = notebook.cells[:stop]
    if page in FEWER_DRAWS:
        every, one = FEWER_DRAWS[page]
        cell = next(c for c in notebook.cells if every in c.source)
        cell.source = cell.source.replace(every, one)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(
        notebook,
        timeout=900,
        kernel_name=standalone_kernel,
        resources={"metadata": {"path": str(tmp_path)}},  # an empty folder, not book/
    ).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(c.get("outputs") for c in notebook.cells if c.cell_type == "code")
