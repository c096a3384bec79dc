"""The chapter says only what its own outputs show: every claim of tests/chapter_claims.py is
checked against the values the build's executed pages glued, and against the page's text."""

from __future__ import annotations

import inspect
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from chapter_claims import (
    CLAIMS,
    FORECAST,
    NUMPY_DRAWS,
    SINGLE_RUN,
    TRAINED_SEEDS,
    Claim,
    broken,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

PAGES = sorted({claim.page for claim in CLAIMS})


def page_text(html: str) -> str:
    """The article as a reader reads it: math as its TeX source, whitespace normalised."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.find("article") or soup
    for math in article.select(".math"):
        tex = math.get_text()
        tex = re.sub(r"^\s*\\[(\[]|\\[)\]]\s*$", "", tex.strip())
        math.replace_with(f" {tex} ")
    for hidden in article.select("script, style, .cell_input, .cell_output"):
        hidden.decompose()
    text = " ".join(article.get_text(" ").split())
    for typographic, typed in {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}.items():
        text = text.replace(typographic, typed)  # Sphinx's smart quotes, as claims are typed
    return re.sub(r"\s+([,.;:!?)%])|([(])\s+", r"\1\2", text)  # no space before punctuation


def glued(notebook: nbformat.NotebookNode) -> dict[str, object]:
    import ast

    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                # stored under a prefixed MIME type: application/papermill.record/text/plain
                text = next(v for k, v in output["data"].items() if k.endswith("text/plain"))
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text.strip("'\"")
    return values


@pytest.fixture(scope="module")
def chapter(site):
    texts, values = {}, {}
    for page in PAGES:
        texts[page] = page_text((site / "book" / f"{page}.html").read_text(encoding="utf-8"))
        executed = site / "_sources" / "book" / f"{page}.ipynb"
        values[page] = glued(nbformat.read(executed, as_version=4))
    return texts, values


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.page}: {c.sentence[:50]}")
def test_every_claim_is_on_its_page_and_true_of_the_build(chapter, claim):
    texts, values = chapter
    assert broken([claim], values, texts) == []


def test_a_planted_contradiction_fails_with_its_sentence_named(chapter):
    """The checks can fail: make the linear model lose to the RNN, tanh stop growing, and a
    sentence disappear, and the claims say which sentences broke."""
    texts, values = chapter
    planted = {page: dict(found) for page, found in values.items()}
    planted["05-forecasting"]["ar_mae"] = 100.0
    planted["03-bptt-and-gradients"]["norm_tanh_15_t60"] = 0.5
    edited = dict(texts)
    edited["06-financial-sentiment"] = texts["06-financial-sentiment"].replace(
        "Pre-padding: suggestive, not established.", "Pre-padding wins."
    )
    reports = broken(CLAIMS, planted, edited)
    assert any("The linear autoregression is the best of the four" in r for r in reports)
    assert any("no longer true" in r and "the tanh norm grows to" in r for r in reports)
    assert any("not on the page" in r and "Pre-padding" in r for r in reports)
    assert len(reports) == 3  # each planted contradiction, and nothing else
    assert broken(CLAIMS, values, texts) == []


def test_every_page_that_states_a_result_has_claims():
    pages = {claim.page for claim in CLAIMS}
    assert {"03-bptt-and-gradients", "05-forecasting", "06-financial-sentiment"} <= pages
    assert len(CLAIMS) >= 30
    assert all(isinstance(claim, Claim) for claim in CLAIMS)


def test_every_claim_says_how_many_random_draws_it_rests_on():
    """Over many draws, or none: the NumPy experiments' 20 draws (re-run on 20 other seeds by
    test_claims_over_seeds.py), the trained models' five seeds, or nothing random at all. One
    trained model (SINGLE_RUN) is left only where the learning-rate sweep describes its own
    scores: every comparison of a trained RNN with a baseline rests on five."""
    assert {claim.draws for claim in CLAIMS} <= {0, 1, TRAINED_SEEDS, NUMPY_DRAWS}
    assert {claim.page for claim in SINGLE_RUN} == {FORECAST}
    assert all("lr_spread" in inspect.getsource(claim.holds) for claim in SINGLE_RUN), [
        claim.sentence for claim in SINGLE_RUN
    ]
    assert sum(claim.draws == TRAINED_SEEDS and claim.page == FORECAST for claim in CLAIMS) >= 10
    assert sum(claim.draws == NUMPY_DRAWS for claim in CLAIMS) >= 20
    assert sum(claim.draws == TRAINED_SEEDS for claim in CLAIMS) >= 10
