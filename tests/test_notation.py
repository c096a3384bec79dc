"""One notation for the chapter and the assignment: the table on the home page.

Each page and notebook once had its own names for the same things: `x W + h_prev U` in a
notebook where the site wrote W_xh and W_hh, λ₁ and σ_max for the spectral radius. The home
page's table fixes the symbols; this test finds the old names anywhere a student reads (the
pages' text and math, the notebooks' text, code and comments), and checks the table lists what
the pages use.
"""

from __future__ import annotations

import re

import jupytext
import nbformat
import pytest
from helpers.assignment import source_notebooks
from helpers.book import toc_pages
from helpers.commands import ROOT

# names the table replaced, and where each one crept in before
RETIRED = {
    "U as the recurrent weights": re.compile(r"\bh_prev U\b|\bU (transposed|multiplies)"),
    "W with one index (W_x, W_h)": re.compile(r"\bW_(\{[a-z]\}|[a-z])(?![a-z_])"),
    "λ₁ for the spectral radius": re.compile(r"\\lambda_\{?1\}?|λ₁"),
    "c as the output bias": re.compile(r"W_\{hy\}\s*\+\s*c\b"),
}
TABLE_SYMBOLS = [
    "x_t", "h_t", "a_t", "W_{xh}", "W_{hh}", "b_y", "W_{hy}", "J_t", "\\delta_t", "\\rho",
    "\\sigma_{\\max}", "\\gamma", "\\phi_0",
]  # fmt: skip


def readable_texts() -> dict[str, str]:
    """Everything a student reads: each page's and each notebook's cells, by name."""
    texts = {}
    for page in toc_pages():
        for number, cell in enumerate(jupytext.read(ROOT / f"{page}.md").cells):
            texts[f"{page}, cell {number}"] = cell.source
    for path in source_notebooks():
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells):
            texts[f"{path.name}, cell {number}"] = cell.source
    return texts


@pytest.mark.parametrize("retired", RETIRED, ids=str)
def test_no_page_or_notebook_uses_a_retired_name(retired):
    found = {
        where: match.group(0)
        for where, text in readable_texts().items()
        if (match := RETIRED[retired].search(text))
    }
    assert not found, found


def test_the_retired_names_would_be_found():
    """The patterns catch what they are for (else the test above proves nothing)."""
    samples = {
        "U as the recurrent weights": "h = tanh(x W + h_prev U + b)",
        "W with one index (W_x, W_h)": "$h_t = \\tanh(x_t W_x + h_{t-1} W_h)$",
        "λ₁ for the spectral radius": "$|\\lambda_1| > 1$",
        "c as the output bias": "$\\hat y_t = h_t W_{hy} + c$",
    }
    assert all(RETIRED[name].search(sample) for name, sample in samples.items())
    assert not any(
        pattern.search("x_t W_{xh} + h_{t-1} W_{hh} + b") for pattern in RETIRED.values()
    )


def test_the_home_page_table_lists_the_symbols_the_pages_use():
    home = (ROOT / "book" / "index.md").read_text()
    table = home[home.index("## Notation") :]
    pages = " ".join((ROOT / f"{page}.md").read_text() for page in toc_pages()[1:])
    for symbol in TABLE_SYMBOLS:
        assert symbol in table, f"{symbol} is not in the notation table"
        assert symbol in pages, f"no page uses {symbol}"
