"""The visible tests teach: most typical mistakes fail them before the student submits.

Every mistake of the corpus (`assignment_mutants.py`, at least 40, written as students make
them) is put into its notebook as a student has it (hidden tests stripped) and run through the
visible tests: at least 80% must fail there, with a message. The hidden tests catch all of them
(`test_assignment_grading.py`), and the reference passes every visible test.
"""

from __future__ import annotations

import pytest
from assignment_mutants import MUTANTS
from helpers.visible_tests import mistakes_caught_by_visible_tests

pytestmark = pytest.mark.slow

GOAL = 0.8


@pytest.fixture(scope="module")
def measured():
    return mistakes_caught_by_visible_tests()


def test_the_corpus_holds_at_least_40_mistakes_on_every_task():
    assert len(MUTANTS) >= 40
    assert len({(m.grade_id, m.name) for m in MUTANTS}) == len(MUTANTS)


def test_the_reference_passes_every_visible_test(measured):
    _, reference = measured
    assert reference and all(outcome is None for outcome in reference.values()), reference


def test_at_least_80_percent_of_the_mistakes_fail_a_visible_test(measured):
    shares, _ = measured
    caught = sum(s.caught for s in shares)
    total = sum(s.mutants for s in shares)
    assert total == len(MUTANTS)
    missed = [f"{s.grade_id}/{name}" for s in shares for name in s.missed]
    assert caught / total >= GOAL, f"{caught} of {total} caught; missed: {missed}"
    # and no task is left to the hidden tests alone
    assert all(s.caught >= 1 for s in shares), shares
