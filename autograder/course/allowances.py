"""Per-student time: extensions (accommodations) and late tokens, as the instructor grants them.

An extension moves one student's due date of one assignment (`rnn-course extend`). Late tokens
are hours or days each student may spend on late work over the term (`rnn-course tokens`):
they are spent automatically, in the order of the assignments' due dates, as many as a late
submission needs after its extension (and the late policy's grace), and the policy's penalty
applies only to what they do not cover. Both live in `<course-dir>/allowances.json`, beside the
gradebook and as private: an extension is often an accommodation, which classmates must not
see. Every place that counts lateness reads them through `deadlines.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import CourseError

ALLOWANCES_FILE = "allowances.json"
TOKEN_UNITS = {"hour": 3_600.0, "day": 86_400.0}
MAX_TOKENS = 1_000
MAX_EXTENSION_DAYS = 366
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|h|hours?|min|minutes?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds of a duration typed by the instructor: "2d", "36h", "90min", "1.5 days"."""
    found = DURATION.match(text)
    if not found:
        raise CourseError(f"duration {text!r}: write it as e.g. 2d, 36h or 90min")
    number, unit = float(found.group(1)), found.group(2).lower()
    seconds = number * (86_400 if unit.startswith("d") else 3_600 if unit.startswith("h") else 60)
    if not 0 < seconds <= MAX_EXTENSION_DAYS * 86_400:
        raise CourseError(f"duration {text!r}: more than 0 and at most {MAX_EXTENSION_DAYS} days")
    return seconds


def shown_duration(seconds: float) -> str:
    """'2 d 4 h', '90 min': a duration as the class reads it (rounded up to the minute)."""
    minutes = int(-(-seconds // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
    return " ".join(parts + [f"{minutes} min"] * bool(minutes or not parts))


@dataclass(frozen=True)
class Allowances:
    """What the instructor granted: extensions by assignment and student, tokens by student."""

    extensions: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # seconds
    tokens: Mapping[str, int] = field(default_factory=dict)  # student → tokens given
    default_tokens: int = 0  # a student without an entry in `tokens`
    token_unit: str = "day"

    def extension(self, assignment: str, student: str) -> float:
        return float(self.extensions.get(assignment, {}).get(student, 0.0))

    def tokens_of(self, student: str) -> int:
        return int(self.tokens.get(student, self.default_tokens))

    @property
    def unit_seconds(self) -> float:
        return TOKEN_UNITS[self.token_unit]

    @classmethod
    def load(cls, course_root: Path) -> Allowances:
        path = Path(course_root) / ALLOWANCES_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            allowances = cls(
                extensions={
                    str(a): {str(s): float(v) for s, v in students.items()}
                    for a, students in data.get("extensions", {}).items()
                },
                tokens={str(s): int(n) for s, n in data.get("tokens", {}).items()},
                default_tokens=int(data.get("default_tokens", 0)),
                token_unit=str(data.get("token_unit", "day")),
            )
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise CourseError(f"cannot read {path}: {error}") from None
        return allowances.check(path)

    def check(self, where: object = "allowances") -> Allowances:
        if self.token_unit not in TOKEN_UNITS:
            raise CourseError(f"{where}: token unit {self.token_unit!r}: choose hour or day")
        counts = [self.default_tokens, *self.tokens.values()]
        if any(not 0 <= n <= MAX_TOKENS for n in counts):
            raise CourseError(f"{where}: a number of tokens from 0 to {MAX_TOKENS}")
        seconds = [v for students in self.extensions.values() for v in students.values()]
        if any(not 0 < v <= MAX_EXTENSION_DAYS * 86_400 for v in seconds):
            raise CourseError(f"{where}: an extension of more than {MAX_EXTENSION_DAYS} days")
        return self

    def save(self, course_root: Path) -> Path:
        self.check()
        path = Path(course_root) / ALLOWANCES_FILE
        data = {
            "extensions": {a: dict(sorted(s.items())) for a, s in sorted(self.extensions.items())},
            "tokens": dict(sorted(self.tokens.items())),
            "default_tokens": self.default_tokens,
            "token_unit": self.token_unit,
        }
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        temporary.replace(path)
        return path

    def extended(self, assignment: str, students: list[str], seconds: float | None) -> Allowances:
        """With these students' extension of `assignment` set (None: removed)."""
        table = {a: dict(s) for a, s in self.extensions.items()}
        mine = table.setdefault(assignment, {})
        for student in students:
            if seconds is None:
                mine.pop(student, None)
            else:
                mine[student] = seconds
        if not mine:
            del table[assignment]
        return Allowances(table, self.tokens, self.default_tokens, self.token_unit).check()

    def with_tokens(self, count: int, unit: str | None, students: list[str]) -> Allowances:
        """`count` tokens for these students (for every student without their own, if none)."""
        tokens, default = dict(self.tokens), self.default_tokens
        if students:
            tokens.update(dict.fromkeys(students, count))
        else:
            default = count
        return Allowances(self.extensions, tokens, default, unit or self.token_unit).check()


@dataclass(frozen=True)
class Spent:
    """One student's allowances on one assignment, as the lateness of its submission uses them."""

    extension: float = 0.0  # seconds
    tokens: int = 0  # tokens spent on this assignment
    unit: float = TOKEN_UNITS["day"]  # seconds per token
    tokens_left: int = 0  # the student's, after every graded submission

    @property
    def seconds(self) -> float:
        """How far the due date moves for this student: extension plus tokens."""
        return self.extension + self.tokens * self.unit


def spend_tokens(
    allowances: Allowances,
    student: str,
    dues: Mapping[str, dt.datetime | None],
    submitted: Mapping[str, dt.datetime | None],
    grace_seconds: float = 0.0,
) -> dict[str, Spent]:
    """Each assignment's extension and tokens for `student`: tokens go to the late submissions
    in the order they were submitted, as many as each needs, while the student has any left.

    Submission order, not due-date order: work handed in later can then never take back the
    tokens an earlier late submission was graded (and its grade exported) with, as late work on
    an earlier assignment would under due-date order."""
    left = allowances.tokens_of(student)
    unit = allowances.unit_seconds
    spent = {}

    def submission_order(assignment: str) -> tuple:
        when, due = submitted.get(assignment), dues[assignment]
        return (when is None, when or due or dt.datetime.min, assignment)

    order = sorted(dues, key=submission_order)
    for assignment in order:
        extension = allowances.extension(assignment, student)
        due, when = dues[assignment], submitted.get(assignment)
        tokens = 0
        if due is not None and when is not None:
            late = (when - due).total_seconds() - extension - grace_seconds
            if late > 0:
                tokens = min(left, math.ceil(late / unit))
                left -= tokens
        spent[assignment] = Spent(extension, tokens, unit)
    # what is left is the student's now, after every graded submission
    return {a: Spent(s.extension, s.tokens, s.unit, left) for a, s in spent.items()}
