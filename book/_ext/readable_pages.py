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

And light, for a student on a phone's data plan (a page's first load was 3.6-4.0 MB):

* the theme's `fontawesome.js` (1.5 MB: every icon of Font Awesome, drawn as SVG by script) is
  not loaded: the theme's stylesheet already draws the few icons a page shows from Font
  Awesome's web font, and that font is cut down (fontTools) to the icons the site uses
  (156 kB to a few kB);
* MathJax is its modular `startup.js` with TeX's base and AMS packages and CommonHTML output,
  not the combined `tex-chtml.js` with its 0.4 MB context menu; macros of other packages load
  when a page uses one (`autoload`), and the MathML screen readers read is kept
  (`assistive-mml`).

Search results quote a page's text with its equations read as plain text
(`static/search-snippets.js`), not as the TeX MathJax typesets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

STATIC = Path(__file__).with_name("static")
SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
LABELLED_SIDEBAR = SIDEBAR.replace(">", ' role="complementary" aria-label="Chapter contents">')
UNUSED_CDN_LOADERS = ["_static/mathjax/latest.js"]
ICON_SCRIPT = re.compile(
    r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)
UNUSED_SCRIPTS = ["_static/scripts/fontawesome.js", "_static/scripts/fontawesome.js.map"]
MATHJAX_PATH = "mathjax/startup.js"
TEX_PACKAGES = ["ams", "noundefined", "require", "autoload", "configmacros"]
MATHJAX_CONFIG = {
    "loader": {
        "load": [
            "input/tex-base",
            *(f"[tex]/{package}" for package in TEX_PACKAGES),
            "output/chtml",
            "a11y/assistive-mml",
        ]
    },
    "tex": {"packages": {"[+]": TEX_PACKAGES}},
}
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
    app.add_js_file("search-snippets.js")  # plain text for the TeX in search results
    app.add_js_file("readable.js")  # an equation that scrolls takes the keyboard's focus
    config.mathjax_path = MATHJAX_PATH  # after sphinx-mathjax-offline's tex-chtml.js
    config.mathjax3_config = {**(config.mathjax3_config or {}), **MATHJAX_CONFIG}


FONTS = "_static/vendor/fontawesome/webfonts"
THEME_CSS = "_static/styles/pydata-sphinx-theme.css"
ICON_NAME = re.compile(r"\bfa-([a-z0-9]+(?:-[a-z0-9]+)*)")
ICON_RULE = re.compile(r"((?:\.fa-[a-z0-9-]+:before,?)+)\{content:\"\\(f[0-9a-f]{3})\"\}")
WOFF2_SOURCE = re.compile(
    r'url\(\.\./vendor/fontawesome/webfonts/[\w-]+\.woff2\) format\("woff2"\),'
)


def icons_used(out: Path) -> set[int]:
    """The code points of the Font Awesome icons the built pages and their scripts name."""
    names = set()
    for path in [*out.rglob("*.html"), *(out / "_static").rglob("*.js")]:
        if "mathjax" not in path.parts:
            names |= set(ICON_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
    points = set()
    for selectors, point in ICON_RULE.findall((out / THEME_CSS).read_text(encoding="utf-8")):
        if names & set(re.findall(r"\.fa-([a-z0-9-]+):before", selectors)):
            points.add(int(point, 16))
    return points


def subset_icon_fonts(out: Path) -> None:
    """Font Awesome's fonts with only the icons used, as TrueType (fontTools writes WOFF2 only
    with brotli, which the site does not need otherwise): the style sheet's WOFF2 sources go."""
    from fontTools import subset

    css = out / THEME_CSS
    if not css.is_file() or not (out / FONTS).is_dir():
        return
    points = icons_used(out)
    options = subset.Options()
    options.layout_features = []
    for font_file in (out / FONTS).glob("*.ttf"):
        font = subset.load_font(str(font_file), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=points)
        subsetter.subset(font)
        subset.save_font(font, str(font_file), options)
    for woff2 in (out / FONTS).glob("*.woff2"):
        woff2.unlink()
    css.write_text(WOFF2_SOURCE.sub("", css.read_text(encoding="utf-8")), encoding="utf-8")


def label_landmarks(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = original = page.read_text(encoding="utf-8")
        for old, new in REPLACEMENTS.items():
            text = text.replace(old, new)
        text = ICON_SCRIPT.sub("", text)
        if text != original:
            page.write_text(text, encoding="utf-8")
    for name in UNUSED_CDN_LOADERS + UNUSED_SCRIPTS:
        (out / name).unlink(missing_ok=True)
    subset_icon_fonts(out)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_stylesheet)
    app.connect("build-finished", label_landmarks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
