"""The package's layout holds: one job per module, arrows that run one way, nothing private shared.

The pipeline reads in the folder names (README, "What is where"): the class (`course/`), the
website beside it (`site/`), submissions in (`intake/`), where student code runs (`sandbox/`),
judging (`grading/`), what comes out (`results/`), and the front doors (`cli/`, `hub/`). A
module imports only from its own package or from a layer below it, never from one above, so
data flows one way; the code that runs inside the sandbox imports nothing of the project.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers.commands import ROOT

PACKAGE = ROOT / "autograder"
MAX_LINES = 400
# layer of each part of the package, lowest first; a part imports only from lower layers
LAYERS = {
    "autograder": 0,  # the package itself
    "autograder.errors": 0,
    "autograder.limits": 0,
    "autograder.text": 1,
    "autograder.jupyter_server": 1,
    "autograder.course": 2,
    "autograder.site": 3,
    "autograder.intake": 3,
    "autograder.sandbox": 4,
    "autograder.grading": 5,
    "autograder.results": 6,
    "autograder.terminal": 7,
    "autograder.hub": 8,
    "autograder.cli": 9,
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "node_modules" not in p.parts)


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(name: str) -> str:
    """The layer's key a dotted module name belongs to (its longest listed prefix)."""
    found = max((key for key in LAYERS if name == key or name.startswith(key + ".")), key=len)
    return found


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `import` and `from … import` of a file, made absolute."""
    tree = ast.parse(path.read_text())
    found = []
    own = dotted(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_the_line_limit(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by job"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way_down_the_pipeline(path):
    own = part_of(dotted(path))
    if dotted(path).startswith("autograder.sandbox.inside"):
        return  # checked below: it imports nothing of the project at all
    for module, names in imports(path):
        targets = [module] if module != "autograder" else [f"autograder.{n}" for n in names]
        for target in targets:
            if not target.startswith("autograder"):
                continue
            theirs = part_of(target)
            assert theirs == own or LAYERS[theirs] < LAYERS[own], (
                f"{dotted(path)} imports {target}: {own} (layer {LAYERS[own]}) may import only "
                f"from its own package or a lower layer, not {theirs} (layer {LAYERS[theirs]})"
            )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    for module, names in imports(path):
        if module.startswith("autograder") and module != dotted(path):
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            assert not private, f"{dotted(path)} imports {private} from {module}"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "sandbox" / "inside").glob("*.py")), ids=lambda p: p.name
)
def test_the_code_that_runs_inside_the_sandbox_imports_nothing_of_the_project(path):
    """It runs where the `autograder` package is not visible: only the standard library, the
    notebooks' own libraries, libseccomp's binding and its own folder's modules."""
    import sys

    own = {p.stem for p in path.parent.glob("*.py")}
    top = {module.split(".")[0] for module, _ in imports(path) if module}
    assert top - sys.stdlib_module_names - own <= {"IPython", "numpy", "pyseccomp"}, top


def test_every_package_says_its_job_and_its_trust_level():
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if "node_modules" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc) > 80, f"{init.relative_to(ROOT)}: a paragraph on its job"
        if init.parent != PACKAGE and init.parent.name not in ("cli", "hub"):
            assert "Trust" in doc or "trust" in doc, f"{init.relative_to(ROOT)}: its trust level"
