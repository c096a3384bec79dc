"""Offer every executed page as a `.ipynb` download that runs on its own.

The pages are MyST Markdown notebooks, so Sphinx's own download button offers only the `.md`
source, which a student cannot open in Jupyter without jupytext. MyST-NB already writes each
executed page to `_build/jupyter_execute/`; this extension puts that notebook into the site's
`_sources/` folder and tells sphinx-book-theme about it, which then adds the ".ipynb" entry to
the page's download menu.

The offered notebook is the executed page rewritten by `standalone.py` to run in a plain Jupyter
with the packages of the site's `requirements.txt`: the data loaders are included, MyST roles
become Markdown and links to the published site: `rnn-course site build --site-url URL`, which
reaches this extension as RNN_COURSE_SITE_URL, or `course_site_url` in `_config.yml`. A loopback
address is refused (a student's download would open their own machine); with no address the
links become the pages' names.

When a page's outputs come from the execution cache, MyST-NB 1.x writes the notebook without
them (it merges the cached outputs into a copy it renders, and writes the original), so the
outputs are merged in here from the same cache: a rebuilt site offers what a fresh one does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from jupyter_cache import get_cache
from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from standalone import standalone

from autograder.course.settings import public_site_url
from autograder.errors import CourseError

SITE_URL_VARIABLE = "RNN_COURSE_SITE_URL"

# sphinx-book-theme builds its header buttons at priority 501; we must run before it.
BEFORE_HEADER_BUTTONS = 500


def offer_executed_notebook(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if doctree is None or app.builder.format != "html":
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():  # a page without code cells (the index) is not a notebook
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = with_cached_outputs(app, nbformat.read(executed, as_version=4))
    site_url = app.config.course_site_url or None
    bib = [Path(app.srcdir) / name for name in getattr(app.config, "bibtex_bibfiles", [])]
    nbformat.write(standalone(notebook, pagename, site_url, bib[0] if bib else None), target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def with_cached_outputs(app: Sphinx, notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with its outputs from the execution cache, if the cache holds its code."""
    config = app.env.mystnb_config  # with the cache's path resolved by MyST-NB
    cache_path = config.execution_cache_path
    if config.execution_mode != "cache" or not cache_path or not Path(cache_path).is_dir():
        return notebook
    try:
        _, merged = get_cache(cache_path).merge_match_into_notebook(notebook)
    except KeyError:  # not in the cache: the file holds this build's own execution
        return notebook
    return merged


def published_site_url(app: Sphinx, config: Any) -> None:
    """`course_site_url`, from the build command if it gave one, checked and ending in "/"."""
    url = os.environ.get(SITE_URL_VARIABLE) or config.course_site_url or ""
    try:
        config.course_site_url = public_site_url(url) if url.strip() else ""
    except CourseError as error:
        raise ConfigError(str(error)) from None


def setup(app: Sphinx) -> dict[str, Any]:
    # where the site is published: downloads, the student notebooks and the PDF link to it
    app.add_config_value("course_site_url", "", "html")
    app.connect("config-inited", published_site_url)
    app.connect("html-page-context", offer_executed_notebook, priority=BEFORE_HEADER_BUTTONS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
