"""Turn a test cell into a probe: code that records what the student's functions return.

A hidden test that compares inside the student's kernel can be defeated from that kernel (by
replacing `np.allclose`, the test helpers, or by calling the test's own reference code). So the
sandboxed kernel never runs a comparison that decides points: in every `check_close`,
`check_equal` and `check_raises` call the expected value is removed and the call records the
actual value instead; every statement and function that computes expected values (their names
start with `_expected`) is removed too. The trusted grader compares the student's records with
those of the reference solution, run through the same probe (see `observations.py`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from autograder.errors import CourseError

EXPECTED_PREFIX = "_expected"
HELPERS = {"check_close": "close", "check_equal": "equal", "check_raises": "raises"}
RECORDER = "_rnn_course_check"  # defined by the sandbox runner
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Check:
    """One check call of a test cell, as the feedback may describe it."""

    number: int  # 1-based, in source order
    kind: str  # close, equal or raises
    hidden: bool
    label: str | None  # the literal label of a visible check, if it has one


@dataclass(frozen=True)
class Probe:
    code: str
    checks: tuple[Check, ...]
    visible_source: str  # the test cell as students see it (its hidden lines left out)


def _mentions_expected(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id.startswith(EXPECTED_PREFIX))
        or (isinstance(n, ast.arg) and n.arg.startswith(EXPECTED_PREFIX))
        for n in ast.walk(node)
    )


def _hidden_lines(source: str) -> range:
    lines = source.splitlines()
    begin = next((i for i, line in enumerate(lines, 1) if line.strip() == HIDDEN_BEGIN), None)
    if begin is None:
        return range(0)
    end = next((i for i, line in enumerate(lines, 1) if line.strip() == HIDDEN_END), len(lines))
    return range(begin, end + 1)


class _Recorder(ast.NodeTransformer):
    def __init__(self, hidden: range):
        self.hidden = hidden
        self.checks: list[Check] = []

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id in HELPERS):
            return node
        kind = HELPERS[node.func.id]
        args, keywords = list(node.args), list(node.keywords)
        if kind in ("close", "equal"):
            if len(args) >= 2:
                args[1] = ast.Constant(None)
            keywords = [
                ast.keyword("expected", ast.Constant(None)) if k.arg == "expected" else k
                for k in keywords
            ]
        label = next((k.value for k in keywords if k.arg == "label"), None)
        hidden = node.lineno in self.hidden
        self.checks.append(
            Check(
                number=len(self.checks) + 1,
                kind=kind,
                hidden=hidden,
                label=label.value
                if not hidden and isinstance(label, ast.Constant) and isinstance(label.value, str)
                else None,
            )
        )
        return ast.Call(
            ast.Name(RECORDER, ast.Load()),
            [ast.Constant(kind), ast.Constant(len(self.checks)), *args],
            keywords,
        )


class _ExpectedRemover(ast.NodeTransformer):
    """Drop every definition and simple statement that mentions an `_expected…` name."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST | None:
        if node.name.startswith(EXPECTED_PREFIX):
            return None
        return self.generic_visit(node)

    visit_ClassDef = visit_FunctionDef  # type: ignore[assignment]

    def generic_visit(self, node: ast.AST) -> ast.AST | None:
        node = super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and not body and field == "body":
                body.append(ast.Pass())
        return node

    def visit(self, node: ast.AST) -> ast.AST | None:
        simple = isinstance(node, ast.stmt) and not hasattr(node, "body")
        if simple and _mentions_expected(node):
            return None
        return super().visit(node)


def probe(test_source: str, name: str = "test cell") -> Probe:
    """The probe of one test cell; a cell that would leak expected values is refused."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError as error:
        raise CourseError(f"{name} is not valid Python: {error}") from None
    recorder = _Recorder(_hidden_lines(test_source))
    tree = recorder.visit(tree)
    tree = _ExpectedRemover().visit(tree)
    ast.fix_missing_locations(tree)
    if _mentions_expected(tree):
        raise CourseError(
            f"{name} still uses an `{EXPECTED_PREFIX}…` name after the expected values are "
            "removed; compute expected values only inside check_* calls or in statements and "
            f"functions whose names start with `{EXPECTED_PREFIX}`"
        )
    if not recorder.checks:
        raise CourseError(f"{name} has no check_close/check_equal/check_raises call to grade")
    hidden = _hidden_lines(test_source)
    visible = "\n".join(
        line for number, line in enumerate(test_source.splitlines(), 1) if number not in hidden
    )
    return Probe(ast.unparse(tree), tuple(recorder.checks), visible)
