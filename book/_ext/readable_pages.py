"""The built pages readable by everyone: at phone width, with assistive technology, offline.

* `static/readable.css`: display equations and outputs wider than the column scroll inside
  their own box, figures shrink to the column, so no page scrolls sideways on a phone;
* the theme's primary sidebar (the book's title and table of contents) is a labelled
  landmark, so that every part of a page is inside one (axe-core's `region` rule);
* a table in the text, which scrolls inside its own box on a phone, can take the keyboard's
  focus, so it can be scrolled without a mouse (axe-core's `scrollable-region-focusable`);
* the bibliography's entries are list items of docutils' citation list (docutils marks them
  `doc-biblioentry`, a role ARIA deprecated and a list may not hold);
* MathJax's `latest.js`, a loader that fetches "the latest MathJax" from a CDN and that no page
  uses, is not published with the site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

STATIC = Path(__file__).with_name("static")
SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
LABELLED_SIDEBAR = SIDEBAR.replace(">", ' role="complementary" aria-label="Chapter contents">')
UNUSED_CDN_LOADERS = ["_static/mathjax/latest.js"]
REPLACEMENTS = {
    SIDEBAR: LABELLED_SIDEBAR,
    'role="doc-biblioentry"': 'role="listitem"',
    # a table in the text scrolls inside its box on a phone: keyboard users can reach it
    '<table class="table">': '<table class="table" tabindex="0">',
}


def add_stylesheet(app: Sphinx, config: Any) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))
    app.add_css_file("readable.css")


def label_landmarks(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = original = page.read_text(encoding="utf-8")
        for old, new in REPLACEMENTS.items():
            text = text.replace(old, new)
        if text != original:
            page.write_text(text, encoding="utf-8")
    for name in UNUSED_CDN_LOADERS:
        (out / name).unlink(missing_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_stylesheet)
    app.connect("build-finished", label_landmarks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
