"""Releasing the `rnn` assignment: what students receive holds no solution and no hidden test."""

from __future__ import annotations

import re
import subprocess
import zipfile

import nbformat
import pytest
from helpers.assignment import ASSIGNMENT_SOURCE, source_notebooks
from helpers.commands import rnn_course

from autograder.course.release import find_leaks
from autograder.course.settings import public_site_url
from autograder.errors import CourseError

SECRET_BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", flags=re.S)


def secret_lines() -> set[str]:
    """Substantive lines of the reference solutions and hidden tests found nowhere else."""
    secrets, public = set(), set()
    for path in source_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            for _, block in SECRET_BLOCK.findall(cell.source):
                secrets |= {line.strip() for line in block.splitlines() if len(line.strip()) > 12}
            public |= {line.strip() for line in SECRET_BLOCK.sub("", cell.source).splitlines()}
    return secrets - public


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(rnn_course(*args), capture_output=True, text=True, check=False)


def test_release_through_the_cli_holds_no_solution_and_no_hidden_test(tmp_path):
    finished = run_cli(
        "release", "--course-dir", str(tmp_path / "course"), "--zip", str(tmp_path / "rnn.zip")
    )
    assert finished.returncode == 0, finished.stderr
    released = sorted((tmp_path / "course" / "release" / "rnn").glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in source_notebooks()]
    secrets = secret_lines()
    assert len(secrets) > 100  # the search below would prove nothing without them
    texts = {p.name: p.read_text() for p in released}
    with zipfile.ZipFile(tmp_path / "rnn.zip") as archive:
        texts |= {name: archive.read(name).decode() for name in archive.namelist()}
    for name, text in texts.items():
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS"):
            assert marker not in text, f"{name} contains {marker!r}"
        # compare line by line, as JSON escapes the notebook's source
        lines = {
            line.strip()
            for cell in nbformat.reads(text, 4).cells
            for line in cell.source.splitlines()
        }
        leaked = secrets & lines
        assert not leaked, f"{name} leaks {sorted(leaked)[:3]}"


def test_a_class_without_a_website_address_gets_page_names_not_dead_links(tmp_path):
    """No site URL configured: the notebooks name the chapter's pages without a link (a
    loopback address would open the student's own machine), and the release says so."""
    finished = run_cli("release", "--course-dir", str(tmp_path / "course"))
    assert finished.returncode == 0, finished.stderr
    assert "no course website address" in finished.stderr
    for path in sorted((tmp_path / "course" / "release" / "rnn").glob("*.ipynb")):
        markdown = "\n".join(
            c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown"
        )
        assert (
            "Backpropagation through time" in markdown or path.name != "03-rnn-from-scratch.ipynb"
        )
        for dead in ("{site_url}", "127.0.0.1", "localhost", "](book/"):
            assert dead not in markdown, (path.name, dead)


def test_a_loopback_website_address_is_refused_in_one_line(tmp_path):
    for url in ("http://127.0.0.1:8000/", "http://localhost:8000", "http://[::1]/", "ftp://x.org"):
        finished = run_cli("configure", "--course-dir", str(tmp_path / "c"), "--site-url", url)
        assert finished.returncode != 0, url
        assert "site URL" in finished.stderr and "Traceback" not in finished.stderr, url
    finished = run_cli(
        "configure", "--course-dir", str(tmp_path / "c"), "--site-url", "https://rnn.example.edu"
    )
    assert "website: https://rnn.example.edu/" in finished.stderr, finished.stderr


def test_release_keeps_the_visible_tests_and_the_task_skeletons(released_course):
    released = released_course.folder("release", ".")
    text = (released / "03-rnn-from-scratch.ipynb").read_text()
    assert "def rnn_backward(dH, cache):" in text
    assert "class MySimpleRNNCell(keras.layers.Layer):" in text
    assert "raise NotImplementedError()" in text
    assert "check_close(_zero, [np.zeros_like(g) for g in _grads]" in text  # a visible test
    assert "return H_all, (x, h0, W_xh, W_hh, H_all)" in text  # the cache format, given


def test_the_leak_check_finds_a_planted_hidden_test(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n"
            )
        ]
    )
    nbformat.write(notebook, tmp_path / "leaky.ipynb")
    assert find_leaks(tmp_path) == ["leaky.ipynb: 'BEGIN HIDDEN TESTS'"]
    assert find_leaks(ASSIGNMENT_SOURCE)  # the sources themselves are full of markers


def test_releasing_an_unknown_assignment_is_one_clear_error(tmp_path):
    finished = run_cli("release", "--course-dir", str(tmp_path), "--assignment", "rnn2")
    assert finished.returncode == 1
    assert "no notebooks to release" in finished.stderr
    assert "Traceback" not in finished.stderr


PAGES_PRACTISED = {
    "01-gradients.ipynb": ["03-bptt-and-gradients"],
    "02-sequences-and-models.ipynb": ["05-forecasting", "04-deep-and-bidirectional"],
    "03-rnn-from-scratch.ipynb": ["07-rnn-from-scratch", "03-bptt-and-gradients"],
}


def test_release_notebooks_render_as_markdown_in_jupyter_and_link_the_pages_they_practise(
    released_course,
):
    """Parsed as Jupyter's Markdown renderer does (CommonMark): no heading or paragraph turns
    into a code block (an indented first line once made the title and instructions one), and
    each notebook links to the site's pages it practises, at the course's site address."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    site = released_course.settings.site_url
    for path in sorted((released_course.root / "release" / "rnn").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        links = []
        for number, cell in enumerate(notebook.cells):
            if cell.cell_type != "markdown":
                continue
            tokens = parser.parse(cell.source)
            blocks = [t for t in tokens if t.type == "code_block"]
            assert not blocks, f"{path.name}, cell {number}: {blocks[0].content[:80]!r}"
            links += [
                child.attrs["href"]
                for token in tokens
                if token.type == "inline"
                for child in token.children or []
                if child.type == "link_open"
            ]
        assert notebook.cells[0].source.startswith("# Assignment `rnn`"), path.name
        for page in PAGES_PRACTISED[path.name]:
            assert f"{site}book/{page}.html" in links, (path.name, page, links)
        assert not any("{site_url}" in link for link in links), path.name


LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:8000/", "http://127.1/", "http://0x7f000001/", "http://2130706433/",
    "http://LOCALHOST./", "http://rnn.localhost/", "http://0.0.0.0:8000/", "http://0/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/",
]  # fmt: skip
NOT_A_LINK = [
    "javascript:alert(1)", "ftp://x.org/", "https://user:pw@x.org/", "https://x.org/a)b",
    "https://x.org/a b", "https://x.org/\"><script>", "https://x.org/?token=1", "https:///path",
]  # fmt: skip


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS + NOT_A_LINK)
def test_a_site_url_students_could_not_follow_is_refused(url):
    with pytest.raises(CourseError, match="site URL"):
        public_site_url(url)


def test_a_published_site_url_is_kept_with_one_trailing_slash():
    assert public_site_url(" https://Course.example.edu/rnn ") == "https://Course.example.edu/rnn/"
    assert public_site_url("http://[2001:db8::1]:8080/") == "http://[2001:db8::1]:8080/"
    assert public_site_url("https://10.0.0.5/") == "https://10.0.0.5/"  # a campus address
