"""Turn a test cell into a probe: code that records what the student's functions return.

A hidden test that compares inside the student's kernel can be defeated from that kernel (by
replacing `np.allclose`, the test helpers, or by calling the test's own reference code). So the
sandboxed kernel never runs a comparison that decides points: in every `check_close`,
`check_equal` and `check_raises` call the expected value is removed and the call records the
actual value instead; every statement and function that computes expected values (their names
start with `_expected`) is removed too. The trusted grader compares the student's records with
those of the reference solution, run through the same probe (see `observations.py`).

A test cell may split its points into named groups, so a partly right answer earns the groups
it passes: a top-level statement `group("values", 1)` starts the group "values" worth 1 point
(declared, with its points, in the visible tests), and a later `group("values")` (in the hidden
tests, say) continues it. In the probe each stretch of statements after a marker runs inside
`try`, so an exception stops only its own group: the runner reports it and the cell goes on
with the next group. A cell without markers is one group worth all of its points.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from autograder.errors import CourseError

EXPECTED_PREFIX = "_expected"
HELPERS = {"check_close": "close", "check_equal": "equal", "check_raises": "raises"}
RECORDER = "_rnn_course_check"  # defined by the sandbox runner
GROUP_STOPPED = "_rnn_course_group_stopped"  # defined by the sandbox runner
MARKER = "group"  # the test helper that starts a group of checks
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Check:
    """One check call of a test cell, as the feedback may describe it."""

    number: int  # 1-based, in source order
    kind: str  # close, equal or raises
    hidden: bool
    label: str | None  # the literal label of a visible check, if it has one
    group: int = 0  # the index of its group in `Probe.groups`


@dataclass(frozen=True)
class Group:
    """A named part of a test cell's checks and the points it is worth."""

    name: str | None  # None: the cell has no markers, and this one group is all of it
    points: float | None  # None: all of the cell's points (a cell without markers)


@dataclass(frozen=True)
class Probe:
    code: str
    checks: tuple[Check, ...]
    visible_source: str  # the test cell as students see it (its hidden lines left out)
    groups: tuple[Group, ...] = (Group(None, None),)


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
        self.group = 0  # the group of the statement being visited

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
                group=self.group,
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


def _marker(statement: ast.stmt, name: str) -> tuple[str, float | None] | None:
    """(group name, points or None) if the statement is a `group(...)` marker."""
    if not (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == MARKER
    ):
        return None
    call = statement.value
    arguments = list(call.args) + [k.value for k in call.keywords if k.arg == "points"]
    unknown = [k.arg for k in call.keywords if k.arg != "points"]
    try:
        values = [ast.literal_eval(a) for a in arguments]
    except ValueError:
        values = []
    if unknown or not 1 <= len(values) <= 2:
        raise CourseError(
            f'{name}: line {statement.lineno}: write a group as group("name") or '
            'group("name", points) with literal values'
        )
    label, points = values[0], values[1] if len(values) == 2 else None
    if not isinstance(label, str) or not label.strip():
        raise CourseError(f"{name}: line {statement.lineno}: a group's name is a non-empty text")
    if points is not None and (
        isinstance(points, bool) or not isinstance(points, int | float) or not points > 0
    ):
        raise CourseError(
            f"{name}: line {statement.lineno}: group {label!r} needs a positive number of points"
        )
    return label, None if points is None else float(points)


def _in_group(statements: list[ast.stmt], group: int) -> ast.stmt:
    """`try: statements except Exception: report it` (a time limit is no Exception)."""
    error = "_rnn_course_error"
    report = ast.Expr(
        ast.Call(
            ast.Name(GROUP_STOPPED, ast.Load()),
            [ast.Constant(group), ast.Name(error, ast.Load())],
            [],
        )
    )
    handler = ast.ExceptHandler(ast.Name("Exception", ast.Load()), error, [report])
    return ast.Try(statements, [handler], [], [])


def _grouped(
    tree: ast.Module, recorder: _Recorder, hidden: range, name: str
) -> tuple[ast.Module, tuple[Group, ...]]:
    """Record the checks of each statement with its group, and wrap each group's stretches."""
    groups: list[Group] = []
    index: dict[str, int] = {}
    body: list[ast.stmt] = []
    stretch: list[ast.stmt] = []
    current: int | None = None
    first_check: int | None = None  # the line of a check before the first marker
    entered_hidden = False

    def close_stretch() -> None:
        if stretch and current is not None:
            body.append(_in_group(list(stretch), current))
        elif stretch:
            body.extend(stretch)
        stretch.clear()

    for statement in tree.body:
        marker = _marker(statement, name)
        if statement.lineno in hidden and not entered_hidden:
            entered_hidden = True
            if current is not None and marker is None:
                raise CourseError(
                    f"{name}: line {statement.lineno}: begin the hidden tests with group(...), "
                    "so that a visible statement that stops cannot stop them too"
                )
        if marker is None:
            if any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == MARKER
                for n in ast.walk(statement)
            ):
                raise CourseError(
                    f"{name}: line {statement.lineno}: group(...) must be a statement of its own "
                    "at the top level of the test cell"
                )
            recorder.group = current or 0
            before = len(recorder.checks)
            stretch.append(recorder.visit(statement))
            if current is None and len(recorder.checks) > before and first_check is None:
                first_check = statement.lineno
            continue
        label, points = marker
        close_stretch()
        if label in index:
            if points is not None:
                raise CourseError(
                    f"{name}: line {statement.lineno}: group {label!r} is declared twice; "
                    f'continue it with group("{label}") and no points'
                )
            current = index[label]
            continue
        if points is None:
            raise CourseError(
                f"{name}: line {statement.lineno}: group {label!r} is used before it is "
                f'declared with its points, as group("{label}", points)'
            )
        if statement.lineno in hidden:
            raise CourseError(
                f"{name}: line {statement.lineno}: group {label!r} is declared in the hidden "
                "tests; declare it in the visible ones, so students see what earns points"
            )
        index[label] = current = len(groups)
        groups.append(Group(label, points))
    close_stretch()
    if not groups:
        return tree, (Group(None, None),)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            # the judge sees only checks; an assert would decide a group through the kernel
            # alone, where the student's answer runs first and can silence it
            raise CourseError(
                f"{name}: line {node.lineno}: test with check_equal, check_close or "
                "check_raises, not an assert: only checks are compared with the reference"
            )
    if first_check is not None:
        raise CourseError(f"{name}: line {first_check}: a check before the first group(...)")
    empty = [g.name for i, g in enumerate(groups) if not any(c.group == i for c in recorder.checks)]
    if empty:
        raise CourseError(f"{name}: group {empty[0]!r} has no check")
    return ast.Module(body, []), tuple(groups)


def probe(test_source: str, name: str = "test cell") -> Probe:
    """The probe of one test cell; a cell that would leak expected values is refused."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError as error:
        raise CourseError(f"{name} is not valid Python: {error}") from None
    hidden = _hidden_lines(test_source)
    recorder = _Recorder(hidden)
    tree, groups = _grouped(tree, recorder, hidden, name)
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
    visible = "\n".join(
        line for number, line in enumerate(test_source.splitlines(), 1) if number not in hidden
    )
    return Probe(ast.unparse(tree), tuple(recorder.checks), visible, groups)
