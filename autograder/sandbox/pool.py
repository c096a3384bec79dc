"""A pool of sandbox slots on this machine: the per-core grader, and the default engine.

Each slot is a number, which gives its runs their own grading user id and control group, and,
by default, its own template (`template.py`): a pre-imported Python from which each notebook's
sandbox is forked, so that a notebook costs what the student's code and its tests cost. The
grading process uses a pool directly (the default engine: nothing listens on the network) or
through Dask, whose every worker keeps a pool of its own (`dask_engine.py`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading

from autograder.sandbox import bubblewrap
from autograder.sandbox.cgroups import ControlGroup
from autograder.sandbox.engine import EngineUnavailable, Job, Limits, RunResult
from autograder.sandbox.template import Template, TemplateFailed, TemplateUnavailable

log = logging.getLogger(__name__)


class SandboxPool:
    """An `Engine` of `count` slots: each run gets a slot (its grading user id, its control
    group) and, by default, that slot's template, from which each notebook's sandbox is forked.
    The template is warmed with the job's setup cells, which grading takes from the *source*
    notebook by grade_id, never from a submission. Where forked sandboxes cannot be isolated,
    every run falls back to a fresh sandbox of its own, and the instructor is told once."""

    def __init__(self, count: int, limits: Limits, sandboxed: bool = True, first: int = 0):
        """`count` slots numbered from `first`: pools of one process that run at the same time
        must not share a number, hence a user id."""
        self.count, self.limits, self.sandboxed = count, limits, sandboxed
        self.slots: queue.Queue[int] = queue.Queue()
        numbers = range(first, first + count)
        for slot in numbers:
            self.slots.put(slot)
        self.groups = {  # named for this pool: another pool of the process has its own
            slot: ControlGroup(f"rnn-course-{os.getpid()}-{id(self):x}-{slot}", limits)
            if sandboxed
            else None
            for slot in numbers
        }
        forking = sandboxed and limits.fork_from_template
        self.templates = {
            slot: Template(slot, self.groups[slot]) if forking else None for slot in numbers
        }
        self.running: set = set()  # the runs under way (`gather` keeps it)
        self.fallback: str | None = None  # why templates are not used, once they failed here
        self._fallback_lock = threading.Lock()
        self.pool = concurrent.futures.ThreadPoolExecutor(count, thread_name_prefix="sandbox")

    def prepare(self) -> None:
        """A trial run of one cell in a fresh sandbox (bubblewrap may be installed and still be
        refused, e.g. where user namespaces are off)."""
        if not self.sandboxed:
            log.warning("grading WITHOUT a sandbox: student code runs with your rights")
            return
        if bubblewrap.bubblewrap() is None:
            raise EngineUnavailable(
                "bubblewrap is not installed, so student code cannot be isolated: install it "
                "(Debian/Ubuntu: sudo apt-get install bubblewrap), or pass --unsafe-no-sandbox "
                "to run students' code with your own rights"
            )
        problem = bubblewrap.start_problem()
        if problem:
            raise EngineUnavailable(problem)

    def submit(self, job: Job, key: str = "") -> concurrent.futures.Future[RunResult]:
        """Run one notebook's job in a free slot (`key` names a job for engines that rerun lost
        ones; this pool has no use for it)."""
        return self.pool.submit(self.run, job)

    def run(self, job: Job) -> RunResult:
        """Run one job here and now, in the next free slot (a Dask worker's task runs this)."""
        slot = self.slots.get()
        try:
            template = self.templates[slot]
            if template is not None and self.fallback is None:
                try:
                    return template.run(job, self.limits, self.running)
                except TemplateUnavailable as error:
                    self._fall_back(str(error))
                except TemplateFailed as error:
                    log.warning(
                        "slot %d's template failed twice (%s): this notebook runs in a "
                        "sandbox of its own",
                        slot,
                        error,
                    )
            why = ""
            if template is not None:
                why = self.fallback or "its template failed twice"
                if self.fallback is not None:
                    template.close()
            result = bubblewrap.run(
                job, self.limits, slot, self.sandboxed, self.groups[slot], self.running
            )
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
        """Stop: queued jobs are dropped and runs under way killed (Ctrl+C, an error), then
        the templates and control groups go."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        for child in list(self.running):
            child.kill()
        self.pool.shutdown(wait=True)
        for template in self.templates.values():
            if template is not None:
                template.close()
        for group in self.groups.values():
            if group is not None:
                group.remove()
