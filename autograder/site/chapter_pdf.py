"""The whole chapter as one PDF, for printing and offline study, built with the site.

Jupyter Book's own PDF route (`pdfhtml`) downloads a Chromium of its own, which this project
cannot (packages come from the registries only), its LaTeX route needs a TeX installation the
size of the course, and Sphinx's single-page builder does not know the nodes of collapsed
cells. Instead, the built site is served on this machine and each page of the table of
contents is printed, in order, by the Debian Chromium the browser tests use (driven by
Playwright), after MathJax has typeset every equation; pypdf joins the pages into one PDF with
a bookmark per page. It lands in the site as `rnn-chapter.pdf`, linked from the home page.

Links between the chapter's pages (citations into the references, "see the BPTT page") jump
inside the PDF, to the page that holds their target; links to anything else of the site (the
downloads) go to the published site, or become plain text if it has no address yet. A PDF is
read on other machines: it never links the machine that printed it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from autograder.errors import CourseError

log = logging.getLogger(__name__)

PDF_NAME = "rnn-chapter.pdf"
PRINT_CSS = """
/* print: the chapter's text, equations, outputs and figures; nothing that needs a screen */
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .prev-next-area,
.bd-footer, .bd-footer-article, .bd-footer-content, .skip-link, #pst-back-to-top,
.headerlink, .onlyprint, details.hide, .toggle-details__summary { display: none !important; }
/* the page's title is its heading (the theme's print style hides it for a title block of its
   own, which needs the contents list hidden above) */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; margin-top: 0; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
img { break-inside: avoid; max-width: 100% !important; }
/* a figure taller than a page shrinks to fit one (else it is pushed past a blank page) */
article img { max-height: 230mm !important; width: auto !important; height: auto !important; }
/* a code cell taller than the space left on a page breaks across pages, rather than leaving an
   empty box where it would not fit (a scrolling box cannot be split: none scrolls on paper) */
div.cell, div.cell_input, div.cell_output, div[class*="highlight"], pre {
  break-inside: auto !important; overflow: visible !important; }
mjx-container[display="true"] { overflow: visible !important; }
pre, pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
/* code lines of up to 100 characters (the pages' limit) fit the printed column (A4 inside
   its margins leaves a code box about 590 px): a wrapped line would continue at the margin,
   losing the indentation Python reads; a heading never splits across pages, nor ends one */
pre { font-size: 0.6em !important; line-height: 1.35 !important;
      padding-left: 6px !important; padding-right: 6px !important; }
h1, h2, h3, h4 { break-inside: avoid !important; break-after: avoid !important; }
"""
# the site's own links are printed against `base` (the published site, or INTERNAL when it
# has none), which `link_inside` then resolves; returns each element id's first words, by which
# a link's target is found among the printed pages
LINKS_TO_SITE = """(base) => {
    for (const link of document.querySelectorAll('a[href]')) {
        const target = new URL(link.getAttribute('href'), location.href);
        if (target.origin !== location.origin) continue;
        link.href = new URL(target.pathname.slice(1) + target.hash, base).href;
    }
    const words = {};
    for (const element of document.querySelectorAll('[id]')) {
        const text = element.textContent.replace(/\\s+/g, ' ').trim().slice(0, 60);
        if (text) words[element.id] = text;
    }
    return words;
}"""
INTERNAL = "https://chapter-pdf.invalid/"  # a base that names no site; never left in the PDF
SNIPPET = 24  # characters of a target's text looked for on the printed pages
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
            starts: dict[str, int] = {}  # a site page → its first page in the PDF
            anchors: dict[str, dict[str, str]] = {}  # a site page → its ids' first words
            for number, name in enumerate(pages):
                page.goto(f"http://127.0.0.1:{port}/{name}.html", wait_until="networkidle")
                page.wait_for_function(
                    "() => !window.MathJax || (window.MathJax.startup"
                    " && window.MathJax.startup.promise)",
                    timeout=TYPESET_SECONDS * 1000,
                )
                page.evaluate("() => window.MathJax && window.MathJax.startup.promise")
                page.add_style_tag(content=PRINT_CSS)
                anchors[name] = page.evaluate(LINKS_TO_SITE, site_url or INTERNAL)
                page.emulate_media(media="print")
                printed = Path(scratch) / f"{number:02}.pdf"
                page.pdf(path=str(printed), **PAGE_FORMAT)
                title = page.locator("article h1").first.inner_text().strip().rstrip("#")
                starts[name] = len(joined.pages)
                joined.append(str(printed), outline_item=title)
            browser.close()
        link_inside(joined, starts, anchors, site_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        joined.add_metadata({"/Title": "Recurrent Neural Networks"})
        with open(target, "wb") as handle:
            joined.write(handle)
    finally:
        joined.close()
        server.shutdown()
        server.server_close()
    return target


def flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def link_inside(
    pdf, starts: dict[str, int], anchors: dict[str, dict[str, str]], site_url: str | None
) -> None:
    """Point every link to a printed page at that page inside the PDF (to the PDF page holding
    the target's first words, for a link to one place on it); drop the links left to INTERNAL,
    which had no published address to go to."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    bases = [base for base in (site_url, INTERNAL) if base]
    ends = sorted(starts.values()) + [len(pdf.pages)]
    texts: dict[int, str] = {}

    def page_text(number: int) -> str:
        if number not in texts:
            texts[number] = flat(pdf.pages[number].extract_text() or "")
        return texts[number]

    def destination(uri: str) -> int | None:
        base = next((b for b in bases if uri.startswith(b)), None)
        if base is None:
            return None
        parts = urlsplit(uri[len(base) :])
        name = parts.path.removesuffix(".html")
        if name not in starts:
            return None
        first = starts[name]
        last = next(end for end in ends if end > first)
        words = flat(anchors.get(name, {}).get(parts.fragment, ""))[:SNIPPET]
        if words:
            for number in range(first, last):
                if words in page_text(number):
                    return number
        return first

    for page in pdf.pages:
        for annotation in page.get("/Annots") or []:
            link = annotation.get_object()
            action = link.get("/A")
            if not action or action.get("/S") != "/URI":
                continue
            uri = str(action.get("/URI", ""))
            target = destination(uri)
            if target is not None:
                link[NameObject("/A")] = DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/GoTo"),
                        NameObject("/D"): ArrayObject(
                            [pdf.pages[target].indirect_reference, NameObject("/Fit")]
                        ),
                    }
                )
            elif uri.startswith(INTERNAL):  # a site file, and no site to fetch it from
                del link[NameObject("/A")]
