"""A pool of sandbox slots on this machine: the per-core grader.

Each slot is a worker number, which gives its runs their own grading user id and control group,
and, by default, its own template (`sandbox_template.py`): a pre-imported Python from which each
notebook's sandbox is forked, so that a notebook costs what the student's code and its tests
cost. The grading process uses a pool directly (`--engine pool`) or through Dask, whose every
worker keeps a pool of its own (`sandbox_dask.py`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading

from autograder.sandbox import bubblewrap as sandbox
from autograder.sandbox import template as sandbox_template

log = logging.getLogger(__name__)


def job_dicts(cells: list, limits: sandbox.Limits) -> tuple[list[dict], tuple[str, ...]]:
    """A notebook's cells as the sandbox takes them, and the instructor's setup cells' sources
    (what a template pre-runs). The setup cells (imports) are not the student's to speed up:
    on a loaded machine they may take long, and only the notebook limit bounds them."""
    setup = tuple(c.source for c in cells if c.kind == "setup" and c.grade_id)
    dicts = [
        {"source": c.source} | ({"seconds": limits.notebook_seconds} if c.kind == "setup" else {})
        for c in cells
    ]
    return dicts, setup


class Workers:
    """A pool of sandbox slots: each run gets a worker number (its grading user id, its control
    group) and, by default, that worker's template (`sandbox_template.py`), from which each
    notebook's sandbox is forked. The template is warmed with the notebooks' `setup` cells,
    which `job_cells` takes from the source notebook by grade_id, never from a submission.
    Where forked sandboxes cannot be isolated, every run falls back to a fresh sandbox of its
    own (`sandbox.run`), and the instructor is told once."""

    def __init__(self, count: int, limits: sandbox.Limits, sandboxed: bool, first: int = 0):
        """`count` slots numbered from `first`: pools of one process that run at the same time
        (the threads of in-process Dask workers) must not share a number, hence a user id."""
        self.count, self.limits, self.sandboxed = count, limits, sandboxed
        self.slots: queue.Queue[int] = queue.Queue()
        numbers = range(first, first + count)
        for slot in numbers:
            self.slots.put(slot)
        self.groups = {  # named for this pool: another pool of the process has its own
            slot: sandbox.ControlGroup(f"rnn-course-{os.getpid()}-{id(self):x}-{slot}", limits)
            if sandboxed
            else None
            for slot in numbers
        }
        forking = sandboxed and limits.fork_from_template
        self.templates = {
            slot: sandbox_template.Template(slot, self.groups[slot]) if forking else None
            for slot in numbers
        }
        self.fallback: str | None = None  # why templates are not used, once they failed here
        self._fallback_lock = threading.Lock()
        self.pool = concurrent.futures.ThreadPoolExecutor(count, thread_name_prefix="sandbox")

    def submit(self, cells: list, key: str | None = None) -> concurrent.futures.Future:
        """Run one notebook's cells in a free slot (`key` names a task for engines that
        reschedule; this pool has no use for it)."""
        return self.pool.submit(self._run, *job_dicts(cells, self.limits))

    def run_dicts(self, cells: list[dict], setup: tuple[str, ...]) -> sandbox.RunResult:
        """Run cells already in the sandbox's form, here and now (a Dask worker's task)."""
        return self._run(cells, setup)

    def _run(self, cells: list[dict], setup: tuple[str, ...]) -> sandbox.RunResult:
        slot = self.slots.get()
        try:
            template = self.templates[slot]
            if template is not None and self.fallback is None:
                try:
                    return template.run(cells, self.limits, setup)
                except sandbox_template.TemplateUnavailable as error:
                    self._fall_back(str(error))
                except sandbox_template.TemplateFailed as error:
                    log.warning(
                        "worker %d's template failed twice (%s): this notebook runs in a "
                        "sandbox of its own",
                        slot,
                        error,
                    )
            why = ""
            if template is not None:
                why = self.fallback or "its template failed twice"
                if self.fallback is not None:
                    template.close()
            result = sandbox.run(cells, self.limits, slot, self.sandboxed, self.groups[slot])
            result.fallback = why  # a Dask worker's coordinator says it too
            return result
        finally:
            self.slots.put(slot)

    def _fall_back(self, why: str) -> None:
        with self._fallback_lock:
            if self.fallback is None:
                self.fallback = why
                log.warning(
                    "forked sandboxes are not possible here (%s): every notebook runs in a "
                    "bubblewrap sandbox of its own instead, as safe but slower",
                    why,
                )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for template in self.templates.values():
            if template is not None:
                template.close()
        for group in self.groups.values():
            if group is not None:
                group.remove()
