"""A page's executed notebook made to run on its own, outside this project.

The pages import the course's data loaders (`course_data`, the repository's `data/` package)
and MyST-NB's `glue`, and their Markdown uses MyST roles and directives (`{doc}`, `{cite:p}`,
`{glue:text}`, exercise and solution blocks) that Jupyter shows as raw text. A student who
downloads a page gets one file and a plain Jupyter, so the downloaded notebook is rewritten:

* `from course_data import …` is replaced by the loaders' own source, in a collapsed cell at
  the top (they fetch and check the data themselves, as on the site);
* `from myst_nb import glue` is replaced by a `glue` that just shows the value;
* roles become Markdown: links to the site's pages, "(Author Year)" citations, the glued
  values as the site shows them; exercise and solution blocks become headings and a
  collapsible `<details>`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

DATA_PACKAGE = Path(__file__).resolve().parents[2] / "data"
DATA_MODULES = ("errors.py", "series.py", "sentfin.py")  # in the order they depend on each other
GLUE_STANDIN = '''def glue(name, value, display=True):
    """On the course website, `glue` puts a computed value into the text; here it shows it."""
    if display:
        from IPython.display import display as show

        show(value)'''
ROLE = re.compile(r"\{(?P<role>[a-z:]+)\}`(?P<body>[^`]*)`")
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<argument>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
LABELLED = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


def data_loaders_source() -> str:
    """The `course_data` package as one cell: its modules in order, relative imports removed."""
    parts = [
        "# The course's data loaders (the `course_data` package of the course repository),",
        "# included so that this notebook runs on its own.",
        "from __future__ import annotations",
        "",
    ]
    for name in DATA_MODULES:
        for line in (DATA_PACKAGE / name).read_text().splitlines():
            if line.startswith("from __future__") or line.startswith("from ."):
                continue
            parts.append(line)
        parts.append("")
    return "\n".join(parts).strip() + "\n"


def glued_values(notebook: nbformat.NotebookNode) -> dict[str, object]:
    """Every value the page glued, by name, as Python values (or their text)."""
    values: dict[str, object] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            data = output.get("data", {})  # glue's MIME types carry a prefix
            text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
            if name and text is not None:
                text = "".join(text) if isinstance(text, list) else text
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text.strip("'\"")
    return values


class Rewriter:
    """Turns a page's MyST Markdown into plain Markdown, with the context it needs."""

    def __init__(self, glued: dict[str, object], site_url: str | None, page: str, citations: dict):
        self.glued, self.site_url, self.page, self.citations = glued, site_url, page, citations

    def page_url(self, target: str) -> str | None:
        """The page's address on the published site; None before there is one."""
        if not self.site_url:
            return None
        folder = str(Path(self.page).parent)
        path = Path(folder) / target if not target.startswith("/") else Path(target.lstrip("/"))
        return f"{self.site_url}{Path(*[p for p in path.parts if p != '.'])}.html"

    def role(self, match: re.Match) -> str:
        role, body = match["role"], match["body"]
        labelled = LABELLED.match(body)
        text, target = (labelled["text"], labelled["target"]) if labelled else (body, body)
        if role == "doc":
            text = text if labelled else Path(target).name
            url = self.page_url(target)
            return f"[{text}]({url})" if url else f"{text} (a page of the course website)"
        if role in ("glue:text", "glue", "glue:"):
            name, _, spec = body.partition(":")
            value = self.glued.get(name, f"<{name}>")
            try:
                return format(value, spec) if spec else str(value)
            except (TypeError, ValueError):
                return str(value)
        if role.startswith("cite"):
            keys = [k.strip() for k in body.split(",")]
            if role == "cite:t":
                return "; ".join(
                    self.citations.get(k, (k, ""))[0] + f" ({self.citations.get(k, (k, ''))[1]})"
                    for k in keys
                )
            return "(" + "; ".join(" ".join(self.citations.get(k, (k, ""))) for k in keys) + ")"
        if role == "download":
            return f"{text}"
        if role == "math":
            return f"${body}$"
        return text

    def directive(self, match: re.Match) -> str:
        name, argument = match["name"], match["argument"].strip()
        lines = match["body"].splitlines()
        body = "\n".join(line for line in lines if not re.match(r"^:[\w-]+:", line)).strip()
        body = self.markdown(body)
        if name == "exercise":
            return f"### Exercise: {argument}\n\n{body}"
        if name == "solution":
            return f"<details>\n<summary>Solution</summary>\n\n{body}\n\n</details>"
        if name == "bibliography":
            entries = sorted(f"- {author} ({year})" for author, year in self.citations.values())
            return "\n".join(entries)
        if name == "tableofcontents":
            return "(The chapter's pages are listed on the course website.)"
        if name in ("note", "warning", "tip", "important"):
            return "\n".join(
                f"> {line}" for line in [f"**{name.title()}.**", "", *body.splitlines()]
            )
        return body

    def markdown(self, text: str) -> str:
        text = DIRECTIVE.sub(self.directive, text)
        return ROLE.sub(self.role, text)


def citations_from_bib(bib: Path) -> dict[str, tuple[str, str]]:
    """key → ("Author", "year") or ("Author et al.", "year"), from a BibTeX file's fields."""
    found = {}
    for entry in re.finditer(r"@\w+\{(?P<key>[^,]+),(?P<fields>.*?)\n\}", bib.read_text(), re.S):
        fields = dict(re.findall(r"(\w+)\s*=\s*\{(.*?)\},?\n", entry["fields"] + "\n", re.S))
        authors = [a.split(",")[0].strip("{} ") for a in fields.get("author", "").split(" and ")]
        names = (
            authors[0]
            if len(authors) == 1
            else (f"{authors[0]} & {authors[1]}" if len(authors) == 2 else f"{authors[0]} et al.")
        )
        names = re.sub(r"\{\\.(\w)\}|\\.(\w)", lambda m: m.group(1) or m.group(2), names)
        found[entry["key"].strip()] = (names, fields.get("year", ""))
    return found


def standalone(
    notebook: nbformat.NotebookNode, page: str, site_url: str | None, bib: Path | None = None
) -> nbformat.NotebookNode:
    """A copy of the executed page that runs in a plain Jupyter with the listed packages;
    its links to other pages go to `site_url`, the published site (none: their names alone)."""
    notebook = nbformat.from_dict(notebook)  # a deep copy
    rewriter = Rewriter(
        glued_values(notebook), site_url, page, citations_from_bib(bib) if bib else {}
    )
    needs_data = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = rewriter.markdown(cell.source)
        elif cell.cell_type == "code":
            lines = []
            for line in cell.source.splitlines():
                if re.match(r"^from course_data import ", line):
                    needs_data = True
                elif re.match(r"^from myst_nb import glue\s*$", line):
                    lines.append(GLUE_STANDIN)
                else:
                    lines.append(line)
            cell.source = "\n".join(lines)
    if needs_data:
        loaders = nbformat.v4.new_code_cell(
            data_loaders_source(),
            metadata={"tags": ["hide-input"], "jupyter": {"source_hidden": True}},
        )
        first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
        notebook.cells.insert(first_code + 1, loaders)
    return notebook
