"""How many typical mistakes the visible tests show, task by task.

    .venv/bin/python tests/benchmarks/visible_tests_benchmark.py

Runs every mistake of the corpus (tests/assignment_mutants.py) through its notebook's visible
tests, as a student running the release would, and prints the share caught per task and in all
(the goal: at least 80%; the hidden tests catch every one, see test_assignment_grading.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from helpers.visible_tests import mistakes_caught_by_visible_tests  # noqa: E402


def main() -> None:
    shares, reference = mistakes_caught_by_visible_tests()
    failing = [g for g, outcome in reference.items() if outcome is not None]
    print(f"{'task':<22} {'caught':>7} {'share':>6}  missed by the visible tests")
    for share in shares:
        print(
            f"{share.grade_id:<22} {share.caught:>3}/{share.mutants:<3} "
            f"{share.caught / share.mutants:>6.0%}  {', '.join(share.missed) or '-'}"
        )
    caught, total = sum(s.caught for s in shares), sum(s.mutants for s in shares)
    print(f"{'all tasks':<22} {caught:>3}/{total:<3} {caught / total:>6.0%}  (goal: 80%)")
    if failing:
        print(f"the reference fails its own visible tests in: {', '.join(failing)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
