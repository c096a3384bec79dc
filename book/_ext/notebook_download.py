"""Offer every executed page as a `.ipynb` download.

The pages are MyST Markdown notebooks, so Sphinx's own download button offers only the `.md`
source, which a student cannot open in Jupyter without jupytext. MyST-NB already writes each
executed page, with its outputs, to `_build/jupyter_execute/`; this extension copies that file
into the site's `_sources/` folder and tells sphinx-book-theme about it, which then adds the
".ipynb" entry to the page's download menu.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

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
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", offer_executed_notebook, priority=BEFORE_HEADER_BUTTONS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
