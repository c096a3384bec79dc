"""Text a student controls, made inert before anyone sees or stores it.

Names of files and folders, what a submission printed, the exception it raised, its written
answers: all of it may be crafted to break a terminal, a file format or a page, or to carry
something out (a hidden test's source, smuggled through an exception's name). Three rules:

* **Shown, never interpreted.** `shown()` turns control characters, escape sequences and bytes
  that were not UTF-8 into visible escapes and cuts long names, for terminals and reports;
  callers print with markup off and HTML templates escape.
* **Storable.** `storable()` replaces lone surrogates (a valid JSON escape, `"\\ud800"`, that
  no UTF-8 file can hold) and control characters, and caps the length, so nbformat, JSON and
  the gradebook can always write it.
* **Only names the grader knows.** `exception_name()` passes an exception's name only if it is
  a built-in exception or one the assignment's own code names; anything else is a fixed word.
"""

from __future__ import annotations

import builtins
import re
import unicodedata

from autograder import limits

UNKNOWN_EXCEPTION = "an exception"
_SURROGATE_OR_CONTROL = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


def shown(text: str, limit: int | None = None) -> str:
    """`text` made safe to print on a terminal or in a report: escapes, not effects."""
    limit = limits.SHOWN_CHARS if limit is None else limit
    out = []
    for char in text:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    result = "".join(out)
    if len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def storable(text: object, limit: int) -> str:
    """`text` as a string any UTF-8 file can hold: surrogates and control characters (but for
    newline, tab and carriage return) become U+FFFD, and at most `limit` characters are kept."""
    if not isinstance(text, str):
        return ""
    cut = text[:limit]
    cleaned = _SURROGATE_OR_CONTROL.sub("\ufffd", cut)
    return cleaned + ("\n[…cut]" if len(text) > limit else "")


def exception_name(name: object, known: frozenset[str] = frozenset()) -> str:
    """The name of an exception a run reported, if the grader knows it (a built-in exception,
    or a name in `known`: the assignment's own identifiers); else a fixed word. So nothing a
    student's code computes reaches feedback as an exception's name."""
    if isinstance(name, str) and IDENTIFIER.fullmatch(name):
        if name in BUILTIN_EXCEPTIONS or name in known:
            return name
    return UNKNOWN_EXCEPTION


def identifiers(source: str) -> frozenset[str]:
    """The identifiers in the instructor's code (exception names it may raise among them)."""
    return frozenset(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", source))


def human_size(size: int) -> str:
    """A limit in words: 300 MB, 4 GB, 24 KB."""
    for unit, scale in (("GB", limits.GiB), ("MB", limits.MiB), ("KB", limits.KiB)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


_MARKDOWN_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def inert_markdown(text: object, limit: int) -> str:
    """A student's written answer as Markdown that renders as their text and nothing more: no
    raw HTML (so no script, no event handler, no iframe) and no link or image (so no
    `javascript:` target and nothing fetched), wherever the instructor views it (the formgrader
    renders the graded copy's Markdown). Math and emphasis still render."""
    cleaned = storable(text, limit).translate(_MARKDOWN_HTML)
    return cleaned.replace("](", "]\\(").replace("]:", "]\\:")
