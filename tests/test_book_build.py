"""The website: a clean strict build, what the built site contains, the cache, and the page numbers.

One clean build (minutes: every model of the chapter is trained) is shared with the browser
tests (conftest.py's `book_build`); both modules run on one xdist worker (`--dist loadgroup`).
"""

from __future__ import annotations

import math
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupytext
import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from helpers.assignment import source_notebooks
from helpers.book import PUBLISHED_SITE, build_book, toc_pages
from helpers.servers import LOCAL_HOSTS
from nbclient import NotebookClient

from autograder.course.release import find_leaks
from autograder.site.build import ROOT, read_page_table
from autograder.site.chapter_pdf import flat
from course_data import load_sentfin, noise_floor_mae, synthetic_series
from course_data.series import SPLIT_TIME

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

SENTIMENT_MODELS = {
    "majority class",
    "TF-IDF + logistic regression",
    "SimpleRNN, post-padding",
    "SimpleRNN, pre-padding",
    "SimpleRNN, masking",
    "bidirectional SimpleRNN, masking",
}


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def built_pages(site: Path) -> list[Path]:
    return [page for page in site.rglob("*.html") if "_static" not in page.parts]


def glued(notebook: nbformat.NotebookNode, name: str) -> str:
    """The text/plain value a page glued under `name` (myst-nb stores it in the cell outputs)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                # stored under a prefixed MIME type, e.g. application/papermill.record/text/plain
                return next(v for k, v in output["data"].items() if k.endswith("text/plain"))
    raise AssertionError(f"nothing glued as {name!r}")


# --- the build -------------------------------------------------------------------------------


def test_clean_build_succeeds_with_no_cell_error_and_no_warning(book_build):
    # -W --keep-going turns every Sphinx warning (including a cell's stderr output) into failure
    assert book_build.returncode == 0, book_build.log[-6000:]
    assert "build succeeded" in book_build.log
    # (ipykernel warns of TCP on every kernel start; the kernels here are local to the build)
    warnings = re.findall(
        r"^.*\bWARNING\b(?!.*Kernel is running over TCP).*$", book_build.log, re.M
    )
    assert not warnings, f"the build log has warnings: {warnings}"


def test_every_page_of_the_toc_is_built(site):
    missing = [page for page in toc_pages() if not (site / f"{page}.html").is_file()]
    assert not missing
    assert len(toc_pages()) == 11


def test_every_image_resolves_to_a_file(site):
    broken, seen = [], 0
    for page in built_pages(site):
        for img in soup(page).find_all("img"):
            src = img.get("src", "")
            if src.startswith("data:"):
                continue
            seen += 1
            if urlparse(src).scheme or not (page.parent / unquote(src)).resolve().is_file():
                broken.append(f"{page.relative_to(site)}: {src}")
    assert not broken
    assert seen >= 8, "the chapter's figures are missing from the built pages"


def test_every_figure_has_alt_text(site):
    missing = [
        f"{page.relative_to(site)}: {img.get('src')}"
        for page in built_pages(site)
        for img in soup(page).find_all("img")
        if "_images" in img.get("src", "")
        # Sphinx writes the file name when a figure was given no description
        and (not img.get("alt", "").strip() or "_images/" in img.get("alt", ""))
    ]
    assert not missing


def test_no_page_loads_a_script_or_stylesheet_from_another_host(site):
    remote = []
    for page in built_pages(site):
        document = soup(page)
        for tag, attribute in (("script", "src"), ("link", "href")):
            for element in document.find_all(tag):
                if tag == "link" and not {"stylesheet", "preload", "modulepreload"} & set(
                    element.get("rel", [])
                ):
                    continue
                url = urlparse(element.get(attribute) or "")
                if url.scheme in {"http", "https"} or url.netloc:
                    if url.hostname not in LOCAL_HOSTS:
                        remote.append(f"{page.relative_to(site)}: <{tag}> {url.geturl()}")
    for css in (site / "_static").rglob("*.css"):
        for url in re.findall(r"@import\s+(?:url\()?['\"]?(https?://[^'\")]+)", css.read_text()):
            remote.append(f"{css.relative_to(site)}: @import {url}")
    assert not remote


def test_equations_are_rendered_by_mathjax_served_from_the_site(site):
    page = soup(site / "book" / "03-bptt-and-gradients.html")
    scripts = [script.get("src", "") for script in page.find_all("script")]
    mathjax = [src for src in scripts if "mathjax" in src.lower()]
    assert mathjax, "the page with the BPTT equations loads no MathJax"
    for src in mathjax:
        # the path without the cache-busting "?v=" Sphinx adds once the file exists
        assert (site / "book" / urlparse(src).path).resolve().is_file(), src
    assert page.find(class_="math"), "no equation on the BPTT page"


def test_search_index_covers_the_chapter(site):
    assert (site / "search.html").is_file()
    index = (site / "searchindex.js").read_text()
    for word in ("backpropag", "bidirect", "sentfin", "clip"):
        assert word in index.lower(), word


def test_every_notebook_page_offers_its_executed_ipynb_for_download(site):
    for page in toc_pages():
        html = soup(site / f"{page}.html")
        links = [a.get("href", "") for a in html.select(".dropdown-download-buttons a")]
        ipynb = [href for href in links if href.endswith(f"{Path(page).name}.ipynb")]
        assert ipynb, f"{page}: no .ipynb in the download menu ({links})"
        notebook = nbformat.read((site / page).parent / unquote(ipynb[0]), as_version=4)
        if any(cell.cell_type == "code" for cell in notebook.cells):
            assert any(
                cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"
            ), f"{page}: the downloaded notebook has no outputs"


def test_every_page_with_code_has_a_live_code_button_and_thebe_is_served_from_the_site(site):
    assert (site / "_static" / "thebe" / "index.js").is_file()
    assert (site / "_static" / "thebe" / "thebe.css").is_file()
    assert not list((site / "_static" / "thebe").glob("*.map")), "source maps are not served"
    with_code = 0
    for page in toc_pages():
        html = soup(site / f"{page}.html")
        if not html.select("div.cell"):
            continue
        with_code += 1
        buttons = html.select("button[onclick='rnnLiveCode.start()']")
        assert len(buttons) == 1, f"{page}: {len(buttons)} live-code buttons"
        settings = [
            s.string for s in html.find_all("script") if "RNN_LIVE_CODE" in (s.string or "")
        ]
        assert len(settings) == 1 and '"server": "local"' in settings[0], page
        inline = [s.string for s in html.find_all("script") if s.string and not s.get("src")]
        assert len(inline) == len(set(inline)), f"{page}: an inline script is repeated"
    assert with_code >= 7


def test_exercise_solutions_are_behind_a_toggle(site):
    page = soup(site / "book" / "08-exercises.html")
    exercises = page.select(".exercise")
    solutions = page.select(".solution")
    assert len(exercises) == 4
    assert len(solutions) == 4
    assert all("dropdown" in solution.get("class", []) for solution in solutions)
    assert "rnn" in page.get_text() and "assignment" in page.get_text()


def test_an_unchanged_rebuild_executes_nothing(site):
    # --all re-reads every page, so each must come back from the execution cache, not a kernel
    again = build_book(site.parents[1], "--all")
    assert again.returncode == 0, again.log[-4000:]
    assert "Executing notebook" not in again.log
    assert len(re.findall(r"Using cached notebook", again.log)) == len(toc_pages())


# --- the numbers on the pages ----------------------------------------------------------------


@pytest.fixture(scope="module")
def forecast_mae(site) -> dict[str, float]:
    table = read_page_table(site / "book" / "05-forecasting.html", "validation MAE")
    return table["validation MAE"].to_dict()


def test_the_rnn_forecast_beats_the_naive_forecast(forecast_mae):
    mae = forecast_mae
    assert mae["stacked SimpleRNN"] < mae["naive (last value)"]
    assert mae["stacked SimpleRNN"] > mae["noise floor σ·√(2/π)"]


def test_the_baselines_on_the_page_equal_their_recomputation(forecast_mae):
    series = synthetic_series()
    actual = series.values[SPLIT_TIME:]
    naive = series.values[SPLIT_TIME - 1 : -1]
    assert forecast_mae["naive (last value)"] == pytest.approx(
        np.mean(np.abs(actual - naive)), abs=5e-4
    )
    assert forecast_mae["noise floor σ·√(2/π)"] == pytest.approx(
        noise_floor_mae(series.noise_level), abs=5e-4
    )
    assert noise_floor_mae(series.noise_level) == pytest.approx(5 * math.sqrt(2 / math.pi))


def test_the_rnn_mae_on_the_page_equals_a_fresh_run_of_the_page(site, forecast_mae):
    notebook = jupytext.read(ROOT / "book" / "05-forecasting.md")
    # up to the first model's forecasts: the four further draws of weights come after
    notebook.cells = notebook.cells[
        : next(i for i, cell in enumerate(notebook.cells) if "SEEDS = [" in cell.source)
    ]
    NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "book")}},
    ).execute()
    recomputed = float(glued(notebook, "rnn_mae"))
    printed = forecast_mae["stacked SimpleRNN"]
    assert printed == pytest.approx(recomputed, abs=5e-4)  # the table shows three decimals
    prose = soup(site / "book" / "05-forecasting.html").get_text(" ", strip=True)
    assert f"validation MAE is {recomputed:.3f}" in prose


def test_the_sentiment_page_keeps_the_agreed_headlines_and_compares_all_models(site):
    page = soup(site / "book" / "06-financial-sentiment.html")
    table = read_page_table(
        site / "book" / "06-financial-sentiment.html", "bidirectional SimpleRNN, masking"
    )
    assert set(table.index) == SENTIMENT_MODELS
    scores = table[["accuracy mean", "macro-F1 mean", "lowest", "highest"]]
    assert scores.gt(0).all().all() and scores.le(1).all().all()
    # every recurrent model over five seeds, the deterministic baselines once
    assert table["runs"].to_dict() == {
        name: (1 if name in ("majority class", "TF-IDF + logistic regression") else 5)
        for name in SENTIMENT_MODELS
    }
    prose = re.search(
        r"For\s+([\d,]+)\s+of the\s+([\d,]+)\s+headlines all entities agree", page.get_text(" ")
    )
    assert prose, "the page no longer says how many headlines were kept"
    kept, total = (int(number.replace(",", "")) for number in prose.groups())
    assert kept >= 9_000
    data = load_sentfin()
    assert (kept, total) == (len(data.headlines), data.total)


def test_the_exercises_page_offers_the_student_assignment_without_secrets(site, tmp_path):
    page = soup(site / "book" / "08-exercises.html")
    links = [a["href"] for a in page.find_all("a", href=True) if a["href"].endswith(".zip")]
    assert len(links) == 1
    archive = (site / "book" / unquote(links[0])).resolve()
    with zipfile.ZipFile(archive) as student_version:
        names = sorted(student_version.namelist())
        student_version.extractall(tmp_path)
    assert names == sorted(
        [f"rnn/{notebook.name}" for notebook in source_notebooks()]
        + ["rnn/README.md", "rnn/requirements.txt"]
    )
    assert find_leaks(tmp_path) == []
    assert "raise NotImplementedError()" in (tmp_path / "rnn" / "01-gradients.ipynb").read_text()
    readme = (tmp_path / "rnn" / "README.md").read_text()
    for must in (
        "Python 3.11",
        "requirements.txt",
        "visible tests",
        "nbgrader submit",
        "Handing in",
    ):
        assert must in readme, must
    requirements = (tmp_path / "rnn" / "requirements.txt").read_text()
    # it says in plain words what it is and how to use it, and names no command it was made with
    assert "built and graded with" in requirements
    assert "# Install them with: pip install -r requirements.txt" in requirements
    assert "autogenerated" not in requirements and "following command" not in requirements
    assert re.search(r"^tensorflow-cpu==2\.21\.0$", requirements, re.M)
    assert re.search(r"^numpy==[\d.]+$", requirements, re.M)


CDN_HOSTS = re.compile(
    r"unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|ajax\.googleapis\.com"
    r"|fonts\.googleapis\.com|code\.jquery\.com|stackpath\.bootstrapcdn\.com"
)


def test_no_built_page_names_a_cdn(site):
    """Not even in a constant it never uses (sphinx-thebe's thebe URL once was one)."""
    named = {
        str(page.relative_to(site)): CDN_HOSTS.findall(page.read_text(encoding="utf-8"))
        for page in site.rglob("*.html")
    }
    assert not {page: hosts for page, hosts in named.items() if hosts}
    assert not (site / "_static" / "mathjax" / "latest.js").exists()


FIGURE_STYLE = re.compile(
    r'plt\.rcParams\.update\(\{"figure\.figsize": \(6\.0, 3\.8\), "figure\.dpi": 100, '
    r'"font\.size": 12,\s*"xtick\.labelsize": 12, "ytick\.labelsize": 12'
)


def test_every_page_that_draws_figures_uses_the_legible_style():
    """The browser test's legibility check assumes 12 pt ticks at 100 dpi: the style here."""
    drawing = 0
    for page in toc_pages():
        source = (ROOT / f"{page}.md").read_text()
        if "plt.subplots" not in source:
            continue
        drawing += 1
        assert FIGURE_STYLE.search(source), page
        widths = [float(w) for w in re.findall(r"figsize=\((\d+(?:\.\d+)?),", source)]
        assert all(width <= 6.0 for width in widths), (page, widths)
    assert drawing >= 4


def test_the_chapter_pdf_has_every_page_with_its_math_and_figures(site):
    from pypdf import PdfReader

    home = soup(site / "book" / "index.html")
    assert home.find("a", href="../rnn-chapter.pdf"), "the home page does not link the PDF"
    reader = PdfReader(site / "rnn-chapter.pdf")
    assert len(reader.pages) >= 25
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    text = unicodedata.normalize("NFKC", text)  # the PDF's "fi" ligatures, as letters
    for page in toc_pages():
        title = soup(site / f"{page}.html").find("h1").get_text(" ", strip=True).rstrip("#")
        assert " ".join(title.split()) in text, f"{page}: {title!r} is not in the PDF"
    for tex in ("\\frac", "\\partial", "$$", "\\(", "\\begin{"):
        assert tex not in text, f"raw TeX {tex!r} in the PDF"
    bookmarks = [item["/Title"] for item in reader.outline]
    assert len(bookmarks) == len(toc_pages()), bookmarks
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 11, f"{images} images in the PDF"  # every figure of the chapter


# --- published, not on this machine ------------------------------------------------------------

LOOPBACK = re.compile(
    r"(?:https?:)?//(?:localhost|[\w.-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)"
    r"(?=[:/\]\s\"')]|$)",
    re.I,
)
LINK_ATTRIBUTES = ("href", "src", "action", "data-src", "content")


def loopback_links_in_html(site: Path) -> list[str]:
    found = []
    for page in site.rglob("*.html"):
        for element in soup(page).find_all(True):
            for attribute in LINK_ATTRIBUTES:
                value = element.get(attribute)
                if isinstance(value, str) and LOOPBACK.search(value):
                    found.append(f"{page.relative_to(site)}: {attribute}={value}")
    return found


def downloads(site: Path) -> dict[str, str]:
    """What a student downloads: each page's notebook and source, and the assignment's zip,
    file by file."""
    texts = {
        str(path.relative_to(site)): path.read_text(encoding="utf-8")
        for path in (site / "_sources").rglob("*")
        if path.is_file()
    }
    for archive in site.rglob("*.zip"):
        with zipfile.ZipFile(archive) as opened:
            for name in opened.namelist():
                texts[f"{archive.name}/{name}"] = opened.read(name).decode("utf-8")
    return texts


def pdf_links(site: Path) -> tuple[list[str], list[tuple[int, int]]]:
    """The PDF's link annotations: the URIs, and (from page, to page) of each that jumps
    inside the PDF."""
    from pypdf import PdfReader

    reader = PdfReader(site / "rnn-chapter.pdf")
    uris, inside = [], []
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            if action.get("/S") == "/URI":
                uris.append(str(action["/URI"]))
            elif action.get("/S") == "/GoTo":
                inside.append((number, reader.get_page_number(action["/D"][0].get_object())))
    return uris, inside


def test_no_built_file_links_this_machine(site):
    """Pages, downloads, the student zip and the PDF are opened on other machines, where a
    loopback address is the reader's own: none holds one; they link the published site."""
    assert not loopback_links_in_html(site)
    texts = downloads(site)
    assert any(name.endswith(".zip/rnn/03-rnn-from-scratch.ipynb") for name in texts), texts.keys()
    assert not {
        name: LOOPBACK.findall(text) for name, text in texts.items() if LOOPBACK.search(text)
    }
    # the published address instead, in the zip's notebooks and README and the page downloads
    zipped = texts["rnn-student.zip/rnn/03-rnn-from-scratch.ipynb"]
    assert f"{PUBLISHED_SITE}book/03-bptt-and-gradients.html" in zipped
    assert PUBLISHED_SITE in texts["rnn-student.zip/rnn/README.md"]
    first_page = texts["_sources/book/01-networks-with-memory.ipynb"]
    assert f"]({PUBLISHED_SITE}book/03-bptt-and-gradients.html" in first_page
    uris, inside = pdf_links(site)
    assert not [uri for uri in uris if LOOPBACK.search(uri)]
    assert not [uri for uri in uris if "chapter-pdf.invalid" in uri]
    assert len(inside) >= 10, (
        f"{len(inside)} links inside the PDF"
    )  # citations, and links between pages


def test_the_pdf_links_citations_to_its_own_references(site):
    """A citation in the PDF jumps to the PDF's references, not to the website."""
    from pypdf import PdfReader

    reader = PdfReader(site / "rnn-chapter.pdf")
    references = next(
        number for number, item in enumerate(reader.outline) if "References" in item["/Title"]
    )
    first = reader.get_destination_page_number(reader.outline[references])
    uris, inside = pdf_links(site)
    assert not [uri for uri in uris if "10-references" in uri]
    targets = [target for source, target in inside if source < first]
    assert sum(target >= first for target in targets) >= 5, targets


def test_every_page_begins_with_its_title_in_the_pdf(site):
    """Each page's first PDF page shows its title before its first paragraph (the theme's print
    style once hid it), and no page of the PDF is empty (a code cell too tall to fit once left
    a blank page behind)."""
    from pypdf import PdfReader

    reader = PdfReader(site / "rnn-chapter.pdf")
    texts = [
        unicodedata.normalize("NFKC", " ".join((page.extract_text() or "").split()))
        for page in reader.pages
    ]
    starts = [reader.get_destination_page_number(item) for item in reader.outline]
    for page, start in zip(toc_pages(), starts, strict=True):
        html = soup(site / f"{page}.html")
        title = " ".join(html.find("h1").get_text(" ", strip=True).rstrip("#").split())
        first = " ".join(html.select_one("article h1 ~ p").get_text(" ", strip=True).split())
        first = unicodedata.normalize("NFKC", first)[:30]
        text = texts[start]
        assert title in text and first in text, f"{page}: {text[:120]!r}"
        assert text.index(title) < text.index(first), f"{page}: {text[:120]!r}"
    footer_only = [number for number, text in enumerate(texts) if len(text) < 150]
    assert not footer_only, [texts[number] for number in footer_only]


CODE_LINE = 100  # characters: the longest line of code a page may show, on screen and on paper


def test_no_code_line_of_a_page_is_longer_than_the_printed_column():
    long = [
        (path.name, len(line), line)
        for path in sorted((ROOT / "book").glob("*.md"))
        for cell in jupytext.read(path).cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > CODE_LINE
    ]
    assert not long, long


def test_every_printed_line_of_code_is_one_line_of_the_pdf(site):
    """A code line that wraps on paper continues at the margin and loses its indentation, which
    in Python is syntax: each line of code a page prints (its cells' inputs, not the collapsed
    ones) is one line of the PDF's text."""
    from pypdf import PdfReader

    printed = [
        flat(line)
        for page in PdfReader(site / "rnn-chapter.pdf").pages
        for line in (page.extract_text() or "").splitlines()
    ]
    lines = [
        (page, flat(line))
        for page in toc_pages()
        for code in soup(site / f"{page}.html").select("article div.cell_input pre")
        if not code.find_parent("details")  # collapsed cells are not printed
        for line in code.get_text().splitlines()
        if len(line) > 80  # the long ones, which would wrap first
    ]
    assert len(lines) >= 50, len(lines)
    wrapped = [(page, line) for page, line in lines if not any(line in text for text in printed)]
    assert not wrapped, wrapped[:5]


def test_the_exercises_page_lists_each_exercise_in_its_contents(site):
    page = soup(site / "book" / "08-exercises.html")
    contents = [a.get_text(" ", strip=True) for a in page.select("#pst-page-toc-nav a")]
    assert contents[:5] == [
        "Vanishing and exploding gradients",
        "Windows, horizons and bidirectional models",
        "Gradient clipping",
        "Weight sharing: counting parameters",
        "The graded assignment",
    ], contents


def test_no_page_loads_the_icon_script_of_every_font_awesome_icon(site):
    for page in built_pages(site):
        assert "fontawesome.js" not in page.read_text(encoding="utf-8"), page
    assert not (site / "_static" / "scripts" / "fontawesome.js").exists()


# the theme's buttons: search, the sidebar's menu, download, full screen, the colour modes
ICONS_SHOWN = {
    "magnifying-glass": 0xF002,
    "bars": 0xF0C9,
    "download": 0xF019,
    "expand": 0xF065,
    "sun": 0xF185,
    "moon": 0xF186,
    "circle-half-stroke": 0xF042,
    "file-pdf": 0xF1C1,
}


def test_the_icon_font_is_cut_down_to_the_icons_the_pages_show(site):
    from fontTools.ttLib import TTFont

    fonts = site / "_static" / "vendor" / "fontawesome" / "webfonts"
    solid = fonts / "fa-solid-900.ttf"
    assert solid.stat().st_size < 20_000, solid.stat().st_size  # from 420 kB
    assert not list(fonts.glob("*.woff2"))
    kept = set(TTFont(solid).getBestCmap())
    pages = " ".join(page.read_text(encoding="utf-8") for page in built_pages(site))
    for name, point in ICONS_SHOWN.items():
        assert f"fa-{name}" in pages, name  # the pages do show it
        assert point in kept, name
    css = (site / "_static" / "styles" / "pydata-sphinx-theme.css").read_text()
    assert ".woff2" not in css and "fa-solid-900.ttf" in css


def test_the_reference_list_is_labelled_as_the_text_cites(site):
    """One citation style: "Werbos, 1990" in the text is "[Werbos, 1990]" in the list, on the
    site and so in the PDF (pybtex's alpha labels, "[Wer90]", once appeared nowhere else)."""
    references = soup(site / "book" / "10-references.html")
    labels = {
        " ".join(label.get_text("", strip=True).strip("[]").split())
        for label in references.select("span.label")
    }
    assert len(labels) >= 10, labels
    cited = set()
    for page in built_pages(site):
        for link in soup(page).select('a[href*="10-references.html#"]'):
            text = " ".join(link.get_text("").split())
            if "," in text:  # a parenthetical citation, "Author, year"
                cited.add(text)
    assert len(cited) >= 8, cited
    assert cited <= labels, cited - labels
    assert not [label for label in labels if re.fullmatch(r"[A-Z][A-Za-z+]*\d\d", label)]
