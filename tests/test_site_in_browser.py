"""The built site in a real browser: Debian's Chromium driven by Playwright, kept off the network.

Every page of the table of contents is opened once (desktop width) and once at phone width;
what a reader would notice is recorded and each test checks one aspect of it. The live-code
test starts the Jupyter server `rnn-course site serve` starts, and runs a page's cells in it.
Screenshots of every page are written to `$RNN_COURSE_ARTIFACTS/screenshots` (default
`_build/test-artifacts/screenshots`), for CI to keep; they are not committed.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from axe_playwright_python.sync_playwright import Axe
from helpers.book import toc_pages
from helpers.browser import OFFLINE_FLAGS
from helpers.commands import ROOT
from helpers.servers import LOCAL_HOSTS, free_port
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from autograder.site.build import live_code_link, serve_site, site_origins, start_live_code_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

ARTIFACTS = Path(os.environ.get("RNN_COURSE_ARTIFACTS") or ROOT / "_build" / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# axe-core's rules for WCAG 2.1 A and AA, and two best-practice rules a review found broken
# (no preload: axe would fetch the style sheets itself, and resolve the theme's @import
# against the site's root: a request of the test's own, not of the page)
AXE_RULES = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "preload": False,
}
AXE_BEST_PRACTICE = {
    "runOnly": {"type": "rule", "values": ["region", "empty-table-header"]},
    "preload": False,
}
# the figures' style, set by every page's setup cell (checked in test_book_build.py)
FIGURE_DPI, TICK_POINTS = 100, 12
MIN_TICK_PIXELS = 9.0  # a tick label smaller than this on screen is not legible
# Chromium with no way out: every host name but loopback resolves to nothing, no proxy, and none
# of the browser's own background traffic (updates, sync, metrics, safe browsing)
AXE = Axe()
KERNEL_SECONDS = 180  # a cold kernel start plus TensorFlow's import, on a busy CI machine


def page_name(page: str) -> str:
    return Path(page).name


# --- the site, served as `rnn-course site serve` serves it ---------------------------------------


@pytest.fixture(scope="module")
def site_url(site) -> Iterator[str]:
    port = free_port()
    server = serve_site(site, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed; `bash .ci/setup` installs it (as root)")
    # Chromium's own sandbox needs user namespaces it cannot have as root in a container
    flags = OFFLINE_FLAGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=flags)
    yield launched
    launched.close()


@dataclass
class Visit:
    """What a reader's browser saw on one page."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    raw_math: list[str] = field(default_factory=list)
    typeset_equations: int = 0
    images: list[dict] = field(default_factory=list)
    overflow: int = 0  # horizontal scrolling at phone width, in CSS pixels
    violations: dict[str, list[str]] = field(default_factory=dict)  # width → axe findings
    clipped: dict[str, list[str]] = field(default_factory=dict)  # width → cut-off elements
    small_ticks: list[str] = field(default_factory=list)  # figures illegible on a phone
    weight: int = 0  # bytes the page's first load carried, at desktop width, nothing cached
    unpacked: int = 0  # and what they came to, unpacked
    icon_fonts: list[str] = field(default_factory=list)  # the icon font faces, and their status


def watch(page: Page, visit: Visit) -> None:
    """Record console errors, uncaught exceptions and every request that failed or left."""
    page.on(
        "console",
        lambda message: message.type == "error" and visit.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    page.on(
        "requestfailed",
        lambda request: visit.failed_requests.append(f"{request.url} ({request.failure})"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and visit.failed_requests.append(f"{response.url} (HTTP {response.status})")
        ),
    )
    page.on(
        "request",
        lambda request: (
            urlparse(request.url).scheme in {"http", "https", "ws", "wss"}
            and urlparse(request.url).hostname not in LOCAL_HOSTS
            and visit.remote_requests.append(request.url)
        ),
    )


def wait_for_mathjax(page: Page) -> None:
    page.wait_for_function(
        "() => !window.MathJax || !window.MathJax.startup || window.MathJax.startup.promise"
    )
    page.evaluate("() => window.MathJax?.startup?.promise")


# the article's visible text without code, where `$` and backslashes are legitimate
ARTICLE_TEXT = """() => {
    const article = document.querySelector('article') || document.body;
    const copy = article.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(
        (element) => element.remove());
    return copy.innerText;
}"""
IMAGES = """() => Array.from(document.querySelectorAll('article img')).map((img) => ({
    src: img.getAttribute('src'), alt: (img.getAttribute('alt') || '').trim(),
    complete: img.complete, width: img.naturalWidth,
    shown: img.getBoundingClientRect().width}))"""
# what is cut off: a display equation wider than its box that cannot be scrolled or does not
# show that it scrolls (a shadow at its edge; on the desktop, any equation wider than the
# column), code wider than its column on the desktop, a figure or output past the viewport
CLIPPED = """(desktop) => {
    const found = [];
    const width = document.documentElement.clientWidth;
    document.querySelectorAll('article mjx-container[display="true"]').forEach((math, i) => {
        const tooWide = math.scrollWidth > math.clientWidth + 1;
        const style = getComputedStyle(math);
        const scrolls = ['auto', 'scroll'].includes(style.overflowX);
        const cue = (style.backgroundImage.match(/radial-gradient/g) || []).length === 2;
        if (tooWide && (desktop || !scrolls || !cue)) {
            found.push(`equation ${i + 1}: ${math.scrollWidth}px in ${math.clientWidth}px`
                + (scrolls && !cue ? ', with no sign that it scrolls' : ''));
        }
    });
    if (desktop) {
        document.querySelectorAll('article div.highlight pre').forEach((code, i) => {
            if (code.scrollWidth > code.clientWidth + 1) {
                found.push(`code block ${i + 1}: ${code.scrollWidth}px in ${code.clientWidth}px`);
            }
        });
    }
    document.querySelectorAll('article img, article mjx-container, article table').forEach(
        (element) => {
            const box = element.getBoundingClientRect();
            const inScroller = element.closest(
                '.cell_output, mjx-container[display="true"], table.table');  // each scrolls
            if (box.width > 0 && box.right > width + 1 && !inScroller) {
                found.push(`${element.tagName.toLowerCase()} ends at ${Math.round(box.right)}px`);
            }
        });
    return found;
}"""


def raw_math(text: str) -> list[str]:
    """TeX left in visible text: what a reader sees when MathJax did not typeset it."""
    found = []
    for marker in ("$$", "\\(", "\\[", "\\begin{", "\\frac", "\\partial"):
        at = text.find(marker)
        if at >= 0:
            found.append(text[max(0, at - 30) : at + 30].replace("\n", " "))
    return found


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """The screenshot tests save (and the README shows): the page as a reader sees it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# what the page's first load carried over the network, in bytes, headers included: the page,
# then every style sheet, script, font and image it loaded, as `site serve` (and any static
# host) serves them, text gzipped; and what that text and those files are unpacked
FIRST_LOAD_BYTES = """() => performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .reduce((total, entry) => [total[0] + (entry.transferSize || 0),
                               total[1] + (entry.decodedBodySize || 0)], [0, 0])"""
MAX_FIRST_LOAD = 1_500_000  # bytes: a page on a phone's data plan
ICON_FONTS = """() => Array.from(document.fonts)
    .filter((face) => face.family.includes('Font Awesome'))
    .map((face) => `${face.family} ${face.weight}: ${face.status}`)"""


def in_dark_mode(page: Page) -> None:
    """The theme's dark mode, as its switch sets it (the attribute its stylesheet reads)."""
    page.evaluate(
        "() => { document.documentElement.dataset.theme = 'dark';"
        " document.documentElement.dataset.mode = 'dark'; }"
    )
    page.wait_for_timeout(300)  # the theme's colour transitions


def axe_findings(page: Page) -> list[str]:
    """axe-core's violations of WCAG 2.1 A/AA, and of the two best-practice rules, in words."""
    found = []
    for options in (AXE_RULES, AXE_BEST_PRACTICE):
        for violation in AXE.run(page, options=options).response["violations"]:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def small_ticks(images: list[dict]) -> list[str]:
    """Figures whose tick labels, as drawn at this width, are smaller than MIN_TICK_PIXELS."""
    tick = TICK_POINTS * FIGURE_DPI / 72  # the label's height in the image's own pixels
    return [
        f"{image['src']}: {tick * image['shown'] / image['width']:.1f}px"
        for image in images
        if image["width"] and tick * image["shown"] / image["width"] < MIN_TICK_PIXELS
    ]


@pytest.fixture(scope="module")
def visits(browser, site_url) -> dict[str, Visit]:
    """Each page of the toc opened once at desktop width and once at phone width."""
    seen: dict[str, Visit] = {}
    phone = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    for page_path in toc_pages():
        visit = seen[page_path] = Visit()
        desktop = browser.new_context(viewport=DESKTOP)  # nothing cached: a first load
        page = desktop.new_page()
        watch(page, visit)
        page.goto(f"{site_url}{page_path}.html", wait_until="networkidle")
        wait_for_mathjax(page)
        page.wait_for_load_state("networkidle")  # and the fonts the equations asked for
        visit.weight, visit.unpacked = page.evaluate(FIRST_LOAD_BYTES)
        visit.icon_fonts = page.evaluate(ICON_FONTS)
        visit.raw_math = raw_math(page.evaluate(ARTICLE_TEXT))
        visit.typeset_equations = page.locator("mjx-container").count()
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # lazy images
        page.wait_for_function("() => Array.from(document.images).every((img) => img.complete)")
        visit.images = page.evaluate(IMAGES)
        visit.violations["1280px"] = axe_findings(page)
        visit.clipped["1280px"] = page.evaluate(CLIPPED, True)
        screenshot(page, page_name(page_path))
        in_dark_mode(page)
        visit.violations["1280px dark"] = axe_findings(page)
        screenshot(page, f"{page_name(page_path)}-dark", full_page=False)
        page.close()
        desktop.close()

        small = phone.new_page()
        watch(small, visit)
        small.goto(f"{site_url}{page_path}.html", wait_until="networkidle")
        wait_for_mathjax(small)
        small.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        small.wait_for_function("() => Array.from(document.images).every((img) => img.complete)")
        visit.overflow = small.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        visit.violations["390px"] = axe_findings(small)
        visit.clipped["390px"] = small.evaluate(CLIPPED, False)
        visit.small_ticks = small_ticks(small.evaluate(IMAGES))
        screenshot(small, f"{page_name(page_path)}-390px")
        in_dark_mode(small)
        visit.violations["390px dark"] = axe_findings(small)
        small.close()
    phone.close()
    return seen


def per_page(visits: dict[str, Visit], attribute: str) -> dict[str, list]:
    return {
        page: getattr(visit, attribute)
        for page, visit in visits.items()
        if getattr(visit, attribute)
    }


# --- every page ---------------------------------------------------------------------------------


def test_every_page_loads_with_no_console_error(visits):
    assert len(visits) == len(toc_pages()) == 11
    assert not per_page(visits, "console_errors")


def test_every_page_loads_with_no_failed_request_and_nothing_from_another_host(visits):
    assert not per_page(visits, "failed_requests")
    assert not per_page(visits, "remote_requests")


def test_equations_are_typeset_by_mathjax_and_no_tex_is_left_visible(visits):
    assert not per_page(visits, "raw_math")
    assert visits["book/03-bptt-and-gradients"].typeset_equations >= 10
    assert sum(visit.typeset_equations for visit in visits.values()) >= 40


def test_every_image_has_loaded_and_has_alt_text(visits):
    images = [(page, image) for page, visit in visits.items() for image in visit.images]
    assert len(images) >= 8, "the chapter's figures are missing"
    not_loaded = [f"{page}: {image['src']}" for page, image in images if image["width"] <= 0]
    assert not not_loaded
    # a file name is what Sphinx writes when a figure was given no description
    no_alt = [
        f"{page}: {image['src']}"
        for page, image in images
        if not image["alt"] or image["alt"].endswith((".png", ".svg", ".jpg"))
    ]
    assert not no_alt


def test_the_chapter_needs_no_horizontal_scrolling_on_a_phone(visits):
    assert not {
        page: f"{px}px too wide" for page, visit in visits.items() if (px := visit.overflow) > 0
    }


def test_no_page_has_an_accessibility_violation_at_either_width_in_either_mode(visits):
    """0 axe-core violations of WCAG 2.1 A/AA (and of `region`, `empty-table-header`), in the
    theme's light and dark modes."""
    assert not {
        f"{page} at {width}": found
        for page, visit in visits.items()
        for width, found in visit.violations.items()
        if found
    }
    widths = {"1280px", "390px", "1280px dark", "390px dark"}
    assert all(set(visit.violations) == widths for visit in visits.values())


def test_every_page_first_loads_at_most_one_and_a_half_megabytes(visits):
    """Measured by Chromium with nothing cached: the HTML, style sheets, scripts (MathJax's
    components among them), fonts and images, as they crossed the network."""
    weights = {page: visit.weight for page, visit in visits.items()}
    assert all(weight > 50_000 for weight in weights.values()), weights  # it measured something
    # the served text was compressed: less crossed the network than the browser unpacked
    assert all(visit.weight < 0.8 * visit.unpacked for visit in visits.values()), weights
    assert not {page: w for page, w in weights.items() if w > MAX_FIRST_LOAD}, weights


def test_no_equation_figure_or_table_is_cut_off_at_either_width(visits):
    assert not {
        f"{page} at {width}": found
        for page, visit in visits.items()
        for width, found in visit.clipped.items()
        if found
    }


def test_figures_stay_legible_at_phone_width(visits):
    """Every figure's tick labels are at least MIN_TICK_PIXELS tall on a 390 px phone."""
    figures = sum(len(visit.images) for visit in visits.values())
    assert figures >= 11
    assert not per_page(visits, "small_ticks")


def test_every_page_has_a_screenshot(visits):
    for page in visits:
        for suffix in ("", "-390px"):
            shot = SCREENSHOTS / f"{page_name(page)}{suffix}.png"
            assert shot.is_file() and shot.stat().st_size > 10_000, shot


# --- what readers click -----------------------------------------------------------------------


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def test_the_theme_draws_its_icons_from_the_cut_down_font(visits):
    """No icon script: the buttons' icons come from the web font, which loads on every page."""
    for page, visit in visits.items():
        assert any(face.endswith("900: loaded") for face in visit.icon_fonts), (
            page,
            visit.icon_fonts,
        )
        assert not [face for face in visit.icon_fonts if face.endswith("error")], page


def test_search_for_forecast_lists_the_forecasting_page(page, site_url):
    page.goto(f"{site_url}search.html?q=forecast")
    results = page.locator("#search-results a")
    results.first.wait_for(timeout=20_000)
    hrefs = [link.get_attribute("href") or "" for link in results.all()]
    assert any("05-forecasting.html" in href for href in hrefs), hrefs


def test_search_results_quote_equations_as_plain_text_not_tex(page, site_url):
    page.goto(f"{site_url}search.html?q=tanh")
    snippets = page.locator("#search-results p.context")
    snippets.first.wait_for(timeout=20_000)
    page.wait_for_timeout(1_000)  # the other results' snippets, fetched one by one
    texts = snippets.all_inner_texts()
    assert any("tanh" in text for text in texts), texts
    for text in texts:
        for tex in ("\\(", "\\)", "\\tanh", "\\frac", "$$", "\\partial"):
            assert tex not in text, (tex, text)


def test_the_download_button_gives_the_page_as_a_valid_notebook(page, site_url, tmp_path):
    page.goto(f"{site_url}book/05-forecasting.html")
    page.locator(".dropdown-download-buttons > button").click()
    link = page.locator(".dropdown-download-buttons a[href$='.ipynb']")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.ipynb"
    download.value.save_as(saved)
    notebook = nbformat.read(saved, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and any(cell.outputs for cell in code), "the download has no executed code"


def test_exercise_solutions_are_hidden_until_their_toggle_is_clicked(page, site_url):
    page.goto(f"{site_url}book/08-exercises.html")
    solutions = page.locator(".solution")
    assert solutions.count() == 4
    for index in range(4):
        solution = solutions.nth(index)
        body = solution.locator(".solution-content, section").first
        assert not body.is_visible(), f"solution {index + 1} is shown before its toggle is clicked"
        solution.locator(".solution-title, summary, button").first.click()
        body.wait_for(state="visible", timeout=5_000)


# --- live code --------------------------------------------------------------------------------


LIVE_CODE_BUTTON = (
    "button[aria-label='Launch Thebe'], .dropdown-launch-buttons button:has-text('Live Code')"
)


def live_code_notice(browser, url: str) -> str:
    """The notice a reader gets on clicking Live Code with no Jupyter token at hand."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(url)
        page.locator(".dropdown-launch-buttons > button").click()
        page.locator(LIVE_CODE_BUTTON).first.click()
        notice = page.locator(".rnn-live-code-notice")
        notice.wait_for(timeout=30_000)
        return notice.inner_text()
    finally:
        context.close()


def test_a_published_site_tells_students_what_they_can_do_not_the_instructors_command(
    playwright, browser, site_url
):
    """`rnn-course site serve` is named where the instructor serves the site on this machine;
    a site published under a name of its own (here course.example, which this browser alone
    resolves to the same server) tells a student to run the page's notebook in their own
    Jupyter instead."""
    port = urlparse(site_url).port
    rules = "MAP course.example 127.0.0.1 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
    flags = [f"--host-resolver-rules={rules}", *OFFLINE_FLAGS[1:]]
    flags += ["--no-sandbox"] if os.geteuid() == 0 else []
    published = playwright.chromium.launch(
        executable_path=shutil.which("chromium"), headless=True, args=flags
    )
    try:
        elsewhere = live_code_notice(
            published, f"http://course.example:{port}/book/02-simple-rnn.html"
        )
    finally:
        published.close()
    here = live_code_notice(browser, f"{site_url}book/02-simple-rnn.html")
    assert "site serve" in here
    assert "site serve" not in elsewhere and "rnn-course" not in elsewhere
    assert "Download this page as a notebook" in elsewhere and "own Jupyter" in elsewhere


@pytest.fixture(scope="module")
def jupyter(site_url, tmp_path_factory) -> Iterator:
    site_port = urlparse(site_url).port
    server = start_live_code_server(
        site_origins("127.0.0.1", site_port),
        free_port(),
        log=tmp_path_factory.mktemp("jupyter") / "jupyter-server.log",
    )
    yield server
    server.stop()


def test_live_code_runs_the_from_scratch_page_in_a_local_kernel(browser, site_url, jupyter):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    visit = Visit()
    watch(page, visit)
    # the link `rnn-course site serve` prints; the page keeps the token and cleans the address
    page.goto(live_code_link(jupyter, f"{site_url}book/07-rnn-from-scratch.html"))
    assert "token=" not in page.url
    page.locator(".dropdown-launch-buttons > button").click()
    page.locator(
        "button[aria-label='Launch Thebe'], .dropdown-launch-buttons button:has-text('Live Code')"
    ).first.click()
    cells = page.locator(".thebe-cell")
    cells.first.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => window.thebe && window.thebe.session && window.thebe.session.kernel",
        timeout=KERNEL_SECONDS * 1000,
    )

    # the first code cell, edited as a reader would, runs in the kernel and shows its output
    first = cells.first
    first.locator(".CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.type('\nprint("live", 6 * 7)')
    assert 'print("live", 6 * 7)' in first.locator(".CodeMirror").inner_text()
    first.locator(".thebe-run-button").click()
    # thebe renders the kernel's output into the cell's output placeholder, after the cell
    page.wait_for_function(
        """() => (document.querySelector('[data-output] .jp-OutputArea')?.innerText || '')
                 .includes('live 42')""",
        timeout=KERNEL_SECONDS * 1000,
    )
    live_output = page.locator("[data-output] .jp-OutputArea").first
    assert "states: (4, 7, 5)" in live_output.inner_text()

    # a cell importing TensorFlow (Keras 3 on its TensorFlow backend) runs too: "run all" runs
    # the page top to bottom, and the kernel's outputs (thebe's output areas, not the outputs
    # written at build time) must include the Keras comparisons and no error
    keras = cells.filter(has_text="import keras").first
    keras.locator(".thebe-runall-button").click()
    page.wait_for_function(
        """() => {
            const live = Array.from(document.querySelectorAll('.jp-OutputArea-output'));
            const text = live.map((output) => output.innerText).join('\\n');
            return text.includes('float64: max |ours - Keras SimpleRNNCell|')
                && text.includes('one step: max difference');
        }""",
        timeout=KERNEL_SECONDS * 1000,
    )
    errors = page.locator('.jp-OutputArea-output[data-mime-type*="error"]')
    assert errors.count() == 0, errors.first.inner_text()
    first.scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, -120)")
    screenshot(page, "live-code", full_page=False)
    context.close()
    assert not visit.remote_requests
    assert not [error for error in visit.console_errors if "favicon" not in error]
