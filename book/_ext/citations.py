"""One citation style: the references list labelled as the text cites, "Werbos, 1990".

The pages cite author-year (`bibtex_reference_style: author_year`: "Hochreiter and
Schmidhuber, 1997", "Bengio et al., 1994"), but pybtex labels the list with its alpha labels
("[Wer90]", "[CvMerrienboerG+14]"), so a reader, on the site or in the PDF, found a citation in
the list by a key that appears nowhere in the text. This registers a pybtex style (unsrt's
entries, sorted by author, year and title) whose labels are the text's own citations, as
sphinxcontrib-bibtex documents for custom labels.
"""

from __future__ import annotations

from typing import Any

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx

STYLE = "author_year_list"  # `bibtex_default_style` in _config.yml
LABELS = "author_year_text"


def last_name(person: Any) -> str:
    """The printed surname, TeX accents resolved ("Schmidhuber", "van Merriënboer")."""
    return " ".join(str(Text.from_latex(part)) for part in person.prelast_names + person.last_names)


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [last_name(person) for person in people]
            if len(names) > 2:
                who = f"{names[0]} et al."
            else:
                who = " and ".join(names) or entry.key
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearListStyle(UnsrtStyle):
    default_label_style = LABELS
    default_sorting_style = "author_year_title"


def setup(app: Sphinx) -> dict[str, Any]:
    pybtex.plugin.register_plugin("pybtex.style.labels", LABELS, AuthorYearLabels)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, AuthorYearListStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
