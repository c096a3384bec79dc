"""Grading spread over machines: each sandboxed notebook run is a Dask task.

The engine that runs student code can be this machine's pool (`sandbox_pool.Workers`,
`--engine pool`) or Dask distributed: by default a `LocalCluster` in this process (one Dask
worker with a thread per `--workers`; nothing to set up, and no second copy of the project to
start: the sandboxes are processes of their own whichever process starts them), or any cluster
the instructor points at with `--scheduler tcp://HOST:8786`, whose workers were started with
`dask worker tcp://HOST:8786` from this same environment on each machine (or by dask-jobqueue's
`SLURMCluster` on a university cluster).

What crosses the wire, and what does not. The instructor's process keeps every trusted step:
planning from the source notebooks, running the reference, judging the runs' records against
it and every gradebook write. A task receives only the cells to run (the instructor's setup
cells, the student's answer cells and the test probes) and the limits, and returns only the
sandbox's events. On the worker, the task runs in that worker's own sandbox pool (one slot per
worker thread), so in the per-core grader with its pre-imported template
(`sandbox_template.py`), under the same isolation as on one machine; a worker without bubblewrap
refuses the task instead of running student code unsandboxed, unless the instructor passed
`--unsafe-no-sandbox`.

A task is idempotent: it reads nothing but its arguments and writes nothing, so when Dask runs
it again after a worker died, the only effect is the same events once more; the instructor's
process writes a student's grades once, when all of their notebooks are in.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass

from autograder.errors import CourseError
from autograder.sandbox import bubblewrap as sandbox
from autograder.sandbox.pool import Workers, job_dicts

log = logging.getLogger(__name__)

CONNECT_SECONDS = 15  # a scheduler that does not answer by then is reported as unreachable
WATCH_SECONDS = 1.0  # how often the coordinator looks for workers that left


class NoSandboxOnWorker(Exception):
    """A worker cannot isolate student code (no bubblewrap): it refuses the task."""


@dataclass(frozen=True)
class Job:
    """One notebook's run, as sent to a worker: cells as dicts, setup cells' sources."""

    cells: list[dict]
    setup: tuple[str, ...]
    limits: sandbox.Limits
    sandboxed: bool
    trial: bool = True  # try the worker's sandbox first (not in the grader's own process)


# one sandbox pool per Dask worker (and set of limits), kept between tasks so that its templates
# are forked from again and again instead of importing TensorFlow for every notebook
_POOLS: dict[tuple, Workers] = {}
_POOLS_LOCK = threading.Lock()
_next_slot = 0  # slots of this process's pools never share a number (a grading user id)


def run_on_worker(job: Job) -> sandbox.RunResult:
    """The task: run one notebook in the sandbox pool of the Dask worker that runs it."""
    global _next_slot
    from distributed import get_worker

    if job.sandboxed and sandbox.bubblewrap() is None:
        raise NoSandboxOnWorker(
            f"the Dask worker on {os.uname().nodename} (pid {os.getpid()}) has no bubblewrap, "
            "so it cannot isolate student code: install it there (Debian: apt-get install "
            "bubblewrap), or pass --unsafe-no-sandbox"
        )
    worker = get_worker()
    key = (worker.address, job.limits, job.sandboxed)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            # before its first notebook, the worker tries its sandbox on one cell: one that
            # cannot start (user namespaces off, say) must stop the class, not zero it
            problem = sandbox.start_problem() if job.sandboxed and job.trial else None
            if problem:
                raise NoSandboxOnWorker(f"the Dask worker on {os.uname().nodename}: {problem}")
            slots = max(1, worker.state.nthreads)
            pool = _POOLS[key] = Workers(slots, job.limits, job.sandboxed, first=_next_slot)
            _next_slot += slots
    return pool.run_dicts(job.cells, job.setup)


def close_pools() -> None:
    """On a worker: close every sandbox pool it keeps (run at the end of a grading run)."""
    global _next_slot
    with _POOLS_LOCK:
        while _POOLS:
            _, pool = _POOLS.popitem()
            pool.close()
        _next_slot = 0


def quiet() -> None:
    """Dask's own start and stop messages only when debugging: importing distributed set its
    loggers to INFO, after the command line had set them."""
    level = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR
    for chatty in ("distributed", "bokeh", "tornado"):
        logging.getLogger(chatty).setLevel(level)


class DaskEngine:
    """Submit sandbox runs to a Dask cluster; futures of the standard library come back."""

    def __init__(
        self,
        limits: sandbox.Limits,
        sandboxed: bool,
        workers: int,
        scheduler: str | None = None,
        dashboard: bool = False,
    ):
        self.limits, self.sandboxed, self.count = limits, sandboxed, workers
        self.scheduler, self.cluster, self.client = scheduler, None, None
        # a local cluster's dashboard only when asked: bokeh's server costs the grading ~5 %
        self.with_dashboard = dashboard
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._failed: Exception | None = None
        self._announced = False
        self._fallbacks_said: set[str] = set()
        if scheduler:  # a scheduler that cannot be reached is said at once
            self._connect()
        else:  # a local cluster starts while the grader reads the submissions
            threading.Thread(target=self._connect, daemon=True, name="dask-start").start()

    def _connect(self) -> None:
        from distributed import Client, LocalCluster

        quiet()  # after the import, which sets Dask's loggers

        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout=CONNECT_SECONDS)
            else:
                self.cluster = LocalCluster(  # the sandboxes are the processes
                    n_workers=1,
                    threads_per_worker=self.count,
                    processes=False,
                    memory_limit=0,  # each sandbox has its own limits
                    dashboard_address="127.0.0.1:0" if self.with_dashboard else None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.cluster)
            self._workers = set(self.client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as error:
            where = self.scheduler or "a local cluster"
            self._failed = CourseError(
                f"cannot reach the Dask scheduler --scheduler {where} ({error}); is it "
                "running (`dask scheduler`), and is the address right?"
            )
        except Exception as error:  # noqa: BLE001 - said where the grader waits for it
            self._failed = CourseError(f"the local Dask cluster did not start: {error}")
        finally:
            self._ready.set()
        if self.scheduler and self._failed:
            raise self._failed
        if not self._failed:
            threading.Thread(target=self._watch, daemon=True, name="dask-watch").start()

    def _started(self):
        """The client, once the cluster is up; says where grading runs, the first time."""
        self._ready.wait()
        if self._failed:
            raise self._failed
        if not self._announced:
            self._announced = True
            where = self.scheduler or f"a local cluster of {self.count} worker threads"
            board = self.dashboard
            board = board or ("none" if self.scheduler else "none (--dashboard starts one)")
            log.info("grading with Dask on %s; dashboard: %s", where, board)
        return self.client

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, if the cluster has one that answers."""
        if self.cluster is not None and not self.with_dashboard:
            return None  # ours, started without one
        info = self.client.scheduler_info()
        port = info.get("services", {}).get("dashboard")
        # a local cluster's dashboard listens on 127.0.0.1, a remote one where its scheduler does
        address = info.get("address", "")
        host = "127.0.0.1" if self.cluster else urllib.parse.urlsplit(address).hostname
        if not port or not host:
            return None
        link = f"http://{host}:{port}/status"  # where the scheduler listens, not its host name
        if self.cluster is not None:  # ours, started with its dashboard just now
            return link
        try:  # a scheduler started with --no-dashboard still reports its HTTP port
            with urllib.request.urlopen(link, timeout=2) as page:
                return link if page.status == 200 else None
        except (OSError, ValueError):
            return None

    def submit(self, cells: list, key: str | None = None) -> concurrent.futures.Future:
        """Run one notebook's cells (grading's JobCells) on some worker; `key` names the task,
        so that a rerun after a lost worker is the same task."""
        from distributed import KilledWorker

        client = self._started()
        # a local cluster's workers are this process, whose sandbox grade_class has tried
        trial = self.cluster is None
        job = Job(*job_dicts(cells, self.limits), self.limits, self.sandboxed, trial)
        remote = client.submit(run_on_worker, job, key=key, pure=False, retries=2)
        local: concurrent.futures.Future = concurrent.futures.Future()

        def settle(done) -> None:
            try:
                result = done.result()
                self._say_fallback(result)
                local.set_result(result)
            except NoSandboxOnWorker as error:  # the class cannot be graded safely there
                local.set_exception(CourseError(str(error)))
            except KilledWorker:  # this notebook's run took down every worker it was given
                lost = sandbox.RunResult(returncode=-9, diagnostics="the Dask workers were lost")
                local.set_result(lost)
            except Exception as error:  # noqa: BLE001 - handed to the waiting grader as is
                local.set_exception(error)

        remote.add_done_callback(settle)
        local.remote = remote  # keeps the Dask future (and so its task) alive
        return local

    def _say_fallback(self, result: sandbox.RunResult) -> None:
        """Once per reason: a remote worker ran a notebook in a fresh sandbox instead of a forked
        one (as safe, slower). A local cluster's pool has said so in this process already."""
        why = result.fallback
        if why and self.cluster is None and why not in self._fallbacks_said:
            self._fallbacks_said.add(why)
            log.warning(
                "a Dask worker runs notebooks in a bubblewrap sandbox of their own instead of "
                "forked ones (%s): as safe, but slower",
                why,
            )

    def _watch(self) -> None:
        """Say, once per worker, when one leaves the cluster: Dask runs its tasks again."""
        while not self._stop.wait(WATCH_SECONDS):
            try:
                now = set(self.client.scheduler_info().get("workers", {}))
            except Exception as error:  # noqa: BLE001 - the client is closing, or a hiccup
                log.debug("asking the Dask scheduler for its workers: %s", error)
                continue
            for gone in sorted(self._workers - now):
                log.warning("Dask worker %s was lost; its notebooks are being graded again", gone)
            self._workers = now

    def close(self) -> None:
        """Close the workers' sandbox pools (templates, control groups), the client, and the
        local cluster if this engine started one (its workers' pools are this process's)."""
        self._stop.set()
        self._ready.wait()
        if self.client is None:
            return
        if self.cluster is None:
            try:
                self.client.run(close_pools)
            except Exception:  # noqa: BLE001 - a worker already gone has nothing left to close
                pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            close_pools()
