"""The class: its grading folder and settings, its due dates, and what is handed out.

The lowest layer of the instructor's tool. A `Course` is one class's grading folder (never in
this repository) with nbgrader's configuration for it; its settings (`rnn-course.toml`) are the
instructor's once-per-term decisions; `release` makes the student version of the assignment
from the trusted sources in `source_notebooks/`. Trust: instructor-only, reads no student input.
"""
