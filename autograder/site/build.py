"""Build the course website with Jupyter Book and serve it on this machine, with live code.

The build is strict (any cell error or Sphinx warning fails it) and cached: a page whose source
has not changed is read back from the execution cache instead of retraining its models.
Serving starts a Jupyter server beside the site for the pages' "Live Code" button
(book/_ext/live_code.py): bound to this machine, behind a fresh token, and answering only pages
from the site's own address.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from autograder.course.settings import public_site_url
from autograder.errors import CourseError
from autograder.jupyter_server import JupyterServer, start_jupyter
from autograder.site import chapter_pdf
from course_data import DataError, fetch_sentfin

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
JUPYTER_PORT = (
    8888  # also live_code.port's default (book/_ext/live_code.py); the link names any other
)


def jupyter_book_command() -> str:
    """The `jupyter-book` of this environment (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("jupyter-book")
    found = str(beside) if beside.is_file() else shutil.which("jupyter-book")
    if not found:
        raise CourseError("jupyter-book is not installed; run `bash .ci/setup` first")
    return found


def build_command(output: Path, *extra: str, root: Path = ROOT) -> list[str]:
    """The strict build: any cell error or Sphinx warning (a cell's stderr included) fails it."""
    return [
        jupyter_book_command(),
        "build",
        str(root),
        "--path-output",
        str(output),
        "-W",
        "--keep-going",
        *extra,
    ]


def build_site(
    root: Path = ROOT, output: Path | None = None, pdf: bool = True, url: str | None = None
) -> Path:
    """Build the book under `output` (default: the project root) and return the HTML folder;
    with `pdf`, also the whole chapter as one PDF (`chapter_pdf.py`), put into the site.

    `url` is where the site will be published (default: `course_site_url` in `_config.yml`):
    the PDF, the page downloads and the student notebooks link there. Without one they name
    the pages instead; the site's own pages always link to each other relatively.

    The data set is fetched first, on the terminal, so a download shows its progress here
    rather than as stderr noise inside a page (which the strict build would reject).
    """
    try:
        fetch_sentfin()
    except DataError as error:
        raise CourseError(str(error)) from error
    if pdf:
        chapter_pdf.chromium()  # before minutes of building, say what is missing
    url = public_site_url(url) if url else site_url(root)
    if url is None:
        log.warning(
            "no --site-url: the PDF, downloads and student notebooks name the site's pages "
            "without links; give the address where the site will be published"
        )
    output = Path(output or root)
    command = build_command(output, root=root)
    log.info("building the book: %s", " ".join(command))
    environment = {**os.environ, SITE_URL_VARIABLE: url or ""}
    finished = subprocess.run(command, cwd=root, check=False, env=environment)
    if finished.returncode != 0:
        raise CourseError(
            f"the book build failed (jupyter-book exit code {finished.returncode}); the messages "
            f"above name the page and cell, and {output / '_build' / 'html' / 'reports'} holds "
            f"the tracebacks of failed cells"
        )
    html = output / "_build" / "html"
    if pdf:
        log.info("printing the chapter to %s", html / chapter_pdf.PDF_NAME)
        chapter_pdf.print_pdf(html, toc_pages(root), html / chapter_pdf.PDF_NAME, url)
    return html


def built_site(output: Path | None = None) -> Path:
    """The HTML folder a build left under `output` (default: the project root)."""
    return (output or ROOT) / "_build" / "html"


SITE_URL_VARIABLE = "RNN_COURSE_SITE_URL"  # how the build hands `url` to the book's extensions


def site_url(root: Path = ROOT) -> str | None:
    """Where the site is published: $RNN_COURSE_SITE_URL, else `course_site_url` in
    `_config.yml`; None if neither says. A loopback address is refused in one line."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    configured = ((config.get("sphinx") or {}).get("config") or {}).get("course_site_url")
    url = os.environ.get(SITE_URL_VARIABLE) or configured
    return public_site_url(url) if url and url.strip() else None


def toc_pages(root: Path = ROOT) -> list[str]:
    """Every page of `_toc.yml`, in order, without suffix (e.g. 'book/05-forecasting')."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return [str(Path(page).with_suffix("")) for page in pages]


COMPRESSED_TYPES = (".html", ".css", ".js", ".json", ".svg", ".txt", ".map", ".ipynb", ".md")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request to the terminal, text gzipped for a browser
    that accepts it, as any static host does: MathJax and the theme's style sheet are most of a
    page's weight, and a fifth of it on the wire."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        log.debug(format, *args)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = Path(self.translate_path(self.path))
        accepts = self.headers.get("Accept-Encoding", "")
        if "gzip" not in accepts or path.suffix not in COMPRESSED_TYPES or not path.is_file():
            super().do_GET()
            return
        try:
            body = gzipped(path, path.stat().st_mtime_ns)
        except OSError:
            super().do_GET()  # its own 404 or 403
            return
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        self.wfile.write(body)


@functools.lru_cache(maxsize=512)
def gzipped(path: Path, modified_ns: int) -> bytes:
    """The file gzipped, once per version of it (`modified_ns` keys the cache)."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def serve_site(html: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.HTTPServer:
    """A server for the built site, bound to this machine only by default; call serve_forever."""
    if not (html / "index.html").is_file():
        raise CourseError(f"{html}: no built site here; run `rnn-course site build` first")
    handler = functools.partial(QuietHandler, directory=str(html))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as error:
        raise CourseError(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another with --port"
        ) from error


def live_code_link(server: JupyterServer, site_url: str) -> str:
    """The site's address with what live-code.js reads: the token and the server's port."""
    return f"{site_url}?token={server.token}&port={server.port}"


def site_origins(host: str, port: int) -> str:
    """A pattern for the origins the site is read from: CORS lets only these pages use Jupyter."""
    hosts = {"127.0.0.1", "localhost", host}
    alternatives = "|".join(sorted(re.escape(name) for name in hosts))
    return rf"^http://({alternatives}):{port}$"


def start_live_code_server(
    origins: str,
    port: int = JUPYTER_PORT,
    root_dir: Path = BOOK,
    log: Path | None = None,
) -> JupyterServer:
    """Start Jupyter on 127.0.0.1:`port`, serving kernels in `root_dir` to pages from `origins`.

    No Jupyter configuration or server extension (JupyterLab, nbgrader's formgrader, terminals)
    is loaded: the pages need kernels only.
    """
    return start_jupyter(
        "jupyter_server",
        [f"--ServerApp.allow_origin_pat={origins}", "--ServerApp.terminals_enabled=False"],
        port=port,
        root_dir=root_dir,
        log=log or Path(tempfile.gettempdir()) / f"rnn-course-jupyter-{port}.log",
        ready="api/status",
        what="live-code Jupyter server",
        port_option="--jupyter-port, or --no-live-code",
        load_config=False,
    )


def read_page_table(page: Path, match: str) -> pd.DataFrame:
    """The first table of a built page whose text contains `match`, indexed by its first column.

    Tests and benchmarks read the numbers a reader sees, not the ones a cell computed.
    """
    tables = pd.read_html(
        io.StringIO(page.read_text(encoding="utf-8")), match=match, index_col=0, header=0
    )
    # a DataFrame with a named index has a second header row, read as an all-empty row
    return tables[0].dropna(how="all")
