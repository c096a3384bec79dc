"""The BPTT page's NumPy claims, run again on 20 other random draws.

The page states its Jacobian and truncation results over 20 draws (seeds 0 to 19). A sentence
that holds only for those seeds is a sentence about them, not about RNNs, so this test executes
the page's own NumPy code again with seeds 100 to 119 instead and checks every claim the
registry marks as resting on those draws (`draws >= NUMPY_DRAWS`) against the new values. The
trained models' claims use the multi-seed runs the pages make; they are too slow to repeat here.
"""

from __future__ import annotations

import jupytext
import numpy as np
import pytest
from chapter_claims import BPTT, CLAIMS, NUMPY_DRAWS
from helpers.commands import ROOT

PAGE = ROOT / "book" / f"{BPTT}.md"
OTHER_SEEDS = 100  # the first of the 20 other seeds
# the page's NumPy cells (found by what they define), and where each chooses its seeds
CELLS = {
    "def rnn_states(": [],
    "def truncation_errors(": ["range(TRUNCATION_DRAWS)"],
    "def state_jacobian_norms(": ["range(DRAWS)"],
}
NUMPY_CLAIMS = [claim for claim in CLAIMS if claim.page == BPTT and claim.draws >= NUMPY_DRAWS]


def page_cells() -> dict[str, str]:
    """The source of each cell of CELLS, with its seeds moved to OTHER_SEEDS onwards."""
    found = {}
    for cell in jupytext.read(PAGE).cells:
        for marker, seed_ranges in CELLS.items():
            if cell.cell_type == "code" and marker in cell.source:
                source = cell.source.replace("from myst_nb import glue\n", "")
                for seeds in seed_ranges:
                    assert source.count(seeds) == 1, f"{marker}: {seeds} is not where it was"
                    count = seeds.removeprefix("range(").removesuffix(")")
                    source = source.replace(seeds, f"range(OTHER_SEEDS, OTHER_SEEDS + {count})")
                found[marker] = source
    assert set(found) == set(CELLS), f"cells not found on the page: {set(CELLS) - set(found)}"
    return found


@pytest.fixture(scope="module")
def other_draws() -> dict:
    """What the page's NumPy experiments glue when run on seeds 100 to 119."""
    glued: dict[str, object] = {}
    namespace = {
        "np": np,
        "OTHER_SEEDS": OTHER_SEEDS,
        "glue": lambda name, value, display=True: glued.__setitem__(name, value),
        "print": lambda *args, **kwargs: None,
    }
    for source in page_cells().values():
        exec(compile(source, str(PAGE), "exec"), namespace)  # noqa: S102 (the project's own page)
    return {"glued": glued, "namespace": namespace}


def test_the_rerun_used_other_draws(other_draws):
    namespace = other_draws["namespace"]
    first = namespace["draws"][0]
    assert all(
        np.array_equal(a, b) for a, b in zip(first, namespace["draw"](OTHER_SEEDS), strict=True)
    )
    assert not np.array_equal(first[0], namespace["draw"](0)[0])
    assert len(namespace["draws"]) == NUMPY_DRAWS
    assert all(len(errors) == NUMPY_DRAWS for errors in namespace["truncation"].values())


def test_the_registry_marks_the_pages_numpy_claims():
    assert len(NUMPY_CLAIMS) >= 20


@pytest.mark.parametrize("claim", NUMPY_CLAIMS, ids=lambda c: c.sentence[:60])
def test_each_numpy_claim_holds_on_20_other_draws(other_draws, claim):
    assert claim.holds(other_draws["glued"]), f"not true on seeds {OTHER_SEEDS}-: {claim.sentence}"
