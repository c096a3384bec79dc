"""The whole chapter as one PDF, for printing and offline study, built with the site.

Jupyter Book's own PDF route (`pdfhtml`) downloads a Chromium of its own, which this project
cannot (packages come from the registries only), its LaTeX route needs a TeX installation the
size of the course, and Sphinx's single-page builder does not know the nodes of collapsed
cells. Instead, the built site is served on this machine and each page of the table of
contents is printed, in order, by the Debian Chromium the browser tests use (driven by
Playwright), after MathJax has typeset every equation; pypdf joins the pages into one PDF with
a bookmark per page. It lands in the site as `rnn-chapter.pdf`, linked from the home page.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from autograder.errors import CourseError

log = logging.getLogger(__name__)

PDF_NAME = "rnn-chapter.pdf"
PRINT_CSS = """
/* print: the chapter's text, equations, outputs and figures; nothing that needs a screen */
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .prev-next-area,
.bd-footer, .bd-footer-article, .bd-footer-content, .skip-link, #pst-back-to-top,
.headerlink, .onlyprint, details.hide, .toggle-details__summary { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
img { break-inside: avoid; max-width: 100% !important; }
mjx-container[display="true"] { overflow: visible !important; }
pre, pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
"""
# links between the site's pages point at the published site (a local server's port would be
# dead in a PDF); without a site address they become plain text
LINKS_TO_SITE = """(site) => {
    for (const link of document.querySelectorAll('a[href]')) {
        const target = new URL(link.getAttribute('href'), location.href);
        if (target.origin !== location.origin) continue;
        if (site) link.href = new URL(target.pathname.slice(1) + target.hash, site).href;
        else link.removeAttribute('href');
    }
}"""
TYPESET_SECONDS = 120
PAGE_FORMAT = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
    "display_header_footer": True,
    "header_template": "<span></span>",
    "footer_template": (
        '<div style="font-size:8px;width:100%;text-align:center;"><span class="title"></span></div>'
    ),
}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise CourseError(
            "the chapter's PDF is printed by Chromium, which is not installed: install it "
            "(Debian: sudo apt-get install chromium) or build with --no-pdf"
        )
    return found


def print_pdf(site: Path, pages: list[str], target: Path, site_url: str | None = None) -> Path:
    """Print `pages` of the built `site` (paths without .html, in order) into one PDF; links
    between pages point at `site_url`, where the site is published."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfWriter

    from autograder.site.build import serve_site  # the site's own quiet, local server

    server = serve_site(site, "127.0.0.1", 0)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    joined = PdfWriter()
    try:
        with sync_playwright() as driver, tempfile.TemporaryDirectory() as scratch:
            browser = driver.chromium.launch(
                executable_path=chromium(),
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                ],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            for number, name in enumerate(pages):
                page.goto(f"http://127.0.0.1:{port}/{name}.html", wait_until="networkidle")
                page.wait_for_function(
                    "() => !window.MathJax || (window.MathJax.startup"
                    " && window.MathJax.startup.promise)",
                    timeout=TYPESET_SECONDS * 1000,
                )
                page.evaluate("() => window.MathJax && window.MathJax.startup.promise")
                page.add_style_tag(content=PRINT_CSS)
                page.evaluate(LINKS_TO_SITE, site_url)
                page.emulate_media(media="print")
                printed = Path(scratch) / f"{number:02}.pdf"
                page.pdf(path=str(printed), **PAGE_FORMAT)
                title = page.locator("article h1").first.inner_text().strip().rstrip("#")
                joined.append(str(printed), outline_item=title)
            browser.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        joined.add_metadata({"/Title": "Recurrent Neural Networks"})
        with open(target, "wb") as handle:
            joined.write(handle)
    finally:
        joined.close()
        server.shutdown()
        server.server_close()
    return target
