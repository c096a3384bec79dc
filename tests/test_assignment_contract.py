"""The `rnn` assignment's fixed interface: grade ids, names, tests, and clean sources."""

from __future__ import annotations

import ast
import re

import nbformat
import numpy as np
import pytest
from assignment_mutants import MUTANTS
from helpers.assignment import solution_cells, source_notebooks

# grade_id of each solution cell → the one name it must define (the contract table)
CONTRACT = {
    "jacobian_norms": "rnn_jacobian_norms",
    "make_windows": "make_windows",
    "uses_future": "uses_future",
    "clip_by_global_norm": "clip_by_global_norm",
    "train_step_clipped": "train_step_clipped",
    "count_rnn_params": "count_rnn_params",
    "rnn_forward": "rnn_forward",
    "rnn_backward": "rnn_backward",
    "my_simple_rnn_cell": "MySimpleRNNCell",
}
WRITTEN = {"ex1_written", "ex2_written", "ex3_written", "ex4_written"}


def cells_by_grade_id() -> dict[str, nbformat.NotebookNode]:
    """Graded and solution cells by grade_id, which must be unique in the whole assignment."""
    cells = {}
    for path in source_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") or meta.get("solution"):
                assert meta["grade_id"] not in cells, f"grade_id {meta['grade_id']!r} is used twice"
                cells[meta["grade_id"]] = cell
    return cells


def test_each_task_has_its_contracted_grade_id_and_defines_exactly_its_name():
    solutions = solution_cells()
    assert set(solutions) == set(CONTRACT)
    for grade_id, (_, source) in solutions.items():
        tree = ast.parse(source)
        defined = [
            node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
        ]
        assert defined == [CONTRACT[grade_id]], f"{grade_id} defines {defined}"


def test_each_task_has_a_locked_test_cell_with_visible_and_hidden_tests():
    cells = cells_by_grade_id()
    for grade_id in CONTRACT:
        test = cells[f"test_{grade_id}"]
        meta = test.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and not meta["solution"] and meta["points"] > 0
        visible, _, rest = test.source.partition("### BEGIN HIDDEN TESTS")
        assert "check_" in visible, f"test_{grade_id} has no visible check"
        hidden = rest.partition("### END HIDDEN TESTS")[0]
        assert "check_" in hidden, f"test_{grade_id} has no hidden check"


STATED = re.compile(r"\*\*Points, by group of checks:\*\*(.*?)\. A group earns", re.S)


def test_each_task_states_the_groups_and_points_its_test_cell_declares():
    """What the task promises a student ("*shapes* 1, *values* 1") is what grading awards."""
    from autograder.grading.probes import probe

    for path in source_notebooks():
        stated: list[tuple[str, float]] | None = None
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and (found := STATED.search(cell.source)):
                parts = re.findall(
                    r"\*([^*]+)\*[^,]*?(\d+(?:\.\d+)?)\s*(?:,|$)", found.group(1).strip()
                )
                stated = [(name, float(points)) for name, points in parts]
            elif meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
                declared = [(g.name, g.points) for g in probe(cell.source).groups]
                assert stated == declared, f"{path.name} {meta['grade_id']}: {stated} {declared}"
                total = sum(points for _, points in declared)
                assert total == meta["points"], f"{meta['grade_id']}: {total} ≠ {meta['points']}"
                stated = None


def test_every_notebook_defines_the_same_test_helpers_in_its_locked_setup_cell():
    helpers = set()
    for path in source_notebooks():
        setup = next(
            cell
            for cell in nbformat.read(path, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"
        )
        assert setup.metadata["nbgrader"]["locked"], path.name
        helpers.add(setup.source[setup.source.index("# Test helpers") :])
    assert len(helpers) == 1, "the test helpers differ between notebooks"


def test_each_exercise_keeps_a_manually_graded_written_answer():
    cells = cells_by_grade_id()
    for grade_id in WRITTEN:
        meta = cells[grade_id].metadata["nbgrader"]
        assert cells[grade_id].cell_type == "markdown"
        assert meta["solution"] and meta["grade"] and meta["points"] > 0


def test_source_notebooks_are_committed_without_outputs():
    for path in source_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.grade_id}-{m.name}")
def test_every_mutant_still_applies_to_the_reference(mutant):
    source = solution_cells()[mutant.grade_id][1]
    mutated = mutant.apply(source)
    assert mutated != source
    ast.parse(mutated)


def test_every_task_has_at_least_three_mutants():
    counts = {grade_id: sum(m.grade_id == grade_id for m in MUTANTS) for grade_id in CONTRACT}
    assert min(counts.values()) >= 3, counts


def relu_norms_at_60(scale: float) -> list[float]:
    """The written question's ReLU experiment, run with the reference solution."""
    namespace = {"np": np}
    exec(solution_cells()["jacobian_norms"][1], namespace)
    finals = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(32, 32)))
        a = rng.normal(size=(60, 32))
        finals.append(float(namespace["rnn_jacobian_norms"](scale * q, a, "relu")[-1]))
    return finals


def test_the_written_relu_answer_quotes_what_the_experiment_gives():
    answer = cells_by_grade_id()["ex1_written"].source.split("### BEGIN SOLUTION")[1]
    grows = relu_norms_at_60(1.5)
    assert all(n > 1 for n in grows), "the answer says the norms grow in all 20 seeds"
    assert "grow in all 20 seeds" in answer
    quoted = re.search(r"range from ([\d.]+) to (\d+)\s+\(median (\d+)\)", answer)
    assert quoted, "the answer quotes the range and the median"
    low, high, median = (float(x) for x in quoted.groups())
    assert low == pytest.approx(min(grows), abs=0.05)
    assert high == pytest.approx(max(grows), rel=0.01)
    assert median == pytest.approx(float(np.median(grows)), abs=0.5)
    rates = [n ** (1 / 60) for n in grows]
    assert "about 1.04 to 1.10 per step" in answer
    assert round(min(rates), 2) == 1.04 and round(max(rates), 2) == 1.10
    decays = relu_norms_at_60(1.2)
    assert all(n < 1e-3 for n in decays) and "decays in every seed" in answer
    assert "10^{-4}" in answer and 1e-5 < float(np.median(decays)) < 1e-3
