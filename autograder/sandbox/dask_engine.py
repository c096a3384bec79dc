"""Grading spread over machines: each sandboxed notebook run is a Dask task.

`--engine dask` runs the tasks on a `LocalCluster` in this process (one Dask worker with a
thread per `--workers`), `--scheduler tls://HOST:8786` on a cluster whose workers were started
with `dask worker` from this same environment on each machine (or by dask-jobqueue).

What crosses the wire, and what does not. The instructor's process keeps every trusted step:
planning, the reference's records, judging and every gradebook write. A task receives only a
`Job` (the cells to run and the limits) and returns only the run's bounded byte stream. On the
worker, the task runs in that worker's own sandbox pool (a `SandboxPlugin`, one slot per worker
thread, with its pre-imported templates), under the same isolation as on one machine; a worker
whose sandbox does not start refuses the task instead of running student code unsandboxed,
unless the instructor passed `--unsafe-no-sandbox`.

Nothing listens beyond loopback. A local cluster's scheduler and worker talk in-process; the
HTTP servers Dask always starts are bound to 127.0.0.1 (the dashboard is served only with
`--dashboard`), and Dask's scratch folder is a private one of this run. A remote scheduler must
speak TLS with mutual certificates (`dask_tls.py` makes them): whoever reaches a plain `tcp://`
scheduler runs code as its workers' user, so `tcp://` is refused unless the instructor says it
is on a network only they reach.

A task is idempotent: it reads nothing but its arguments and writes nothing, so when Dask runs
it again after a worker died, the only effect is the same stream once more.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, Worker, WorkerPlugin, get_worker

from autograder import limits as defaults
from autograder.errors import CourseError
from autograder.sandbox import bubblewrap
from autograder.sandbox.engine import EngineUnavailable, Job, Limits, RunResult
from autograder.sandbox.pool import SandboxPool

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0  # how often the coordinator looks for workers that left
PLUGIN = "rnn-course-sandboxes"
LOOPBACK = "127.0.0.1"


class NoSandboxOnWorker(Exception):
    """A worker cannot isolate student code: it refuses the task."""


class SandboxPlugin(WorkerPlugin):
    """A Dask worker plugin: the worker's own sandbox pool, kept between tasks so that its
    templates are forked from again and again, and closed when grading ends. Its sandbox is
    tried on one cell before the worker's first notebook: one that cannot start (user
    namespaces off, say) must stop the class, not zero it."""

    idempotent = False

    def __init__(self, limits: Limits, sandboxed: bool, trial: bool):
        self.limits, self.sandboxed, self.trial = limits, sandboxed, trial
        self.pool: SandboxPool | None = None
        self.problem: str | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"limits": self.limits, "sandboxed": self.sandboxed, "trial": self.trial}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["limits"], state["sandboxed"], state["trial"])  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        self.slots = max(1, worker.state.nthreads)

    def teardown(self, worker: Any) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def run(self, job: Job) -> RunResult:
        with self._lock:
            if self.pool is None and self.problem is None:
                self.problem = self._trial()
                if self.problem is None:
                    self.pool = SandboxPool(self.slots, self.limits, self.sandboxed)
        if self.problem is not None:
            raise NoSandboxOnWorker(f"the Dask worker on {os.uname().nodename}: {self.problem}")
        assert self.pool is not None
        return self.pool.run(job)

    def _trial(self) -> str | None:
        if not self.sandboxed:
            return None
        if bubblewrap.bubblewrap() is None:
            return (
                f"pid {os.getpid()} has no bubblewrap, so it cannot isolate student code: "
                "install it there (Debian: apt-get install bubblewrap), or pass "
                "--unsafe-no-sandbox"
            )
        return bubblewrap.start_problem() if self.trial else None


def run_on_worker(job: Job) -> RunResult:
    """The task: run one notebook in the sandbox pool of the Dask worker that runs it."""
    plugin = get_worker().plugins.get(PLUGIN)
    if not isinstance(plugin, SandboxPlugin):
        raise NoSandboxOnWorker(f"the Dask worker on {os.uname().nodename} has no sandbox pool")
    return plugin.run(job)


def quiet() -> None:
    """Dask's own start and stop messages only when debugging: importing distributed set its
    loggers to INFO, after the command line had set them."""
    level = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR
    for chatty in ("distributed", "bokeh", "tornado"):
        logging.getLogger(chatty).setLevel(level)


def check_scheduler_address(address: str, tls_folder: Path | None, allow_plain: bool) -> None:
    """A remote scheduler speaks TLS with our certificates, or the instructor said otherwise."""
    if address.startswith("tls://"):
        if tls_folder is None:
            raise CourseError(
                f"--scheduler {address} needs the cluster's certificates: pass --tls-folder "
                "DIR (made by `rnn-course dask-certificates`)"
            )
        return
    if address.startswith("tcp://") and allow_plain:
        log.warning(
            "the Dask scheduler %s speaks plain TCP: whoever reaches it can run code on the "
            "workers; you said only you can reach it",
            address,
        )
        return
    if address.startswith("tcp://"):
        raise CourseError(
            f"--scheduler {address} speaks plain, unauthenticated TCP: anyone who reaches its "
            "port can run code as the workers' user or send back made-up results. Start the "
            "cluster with TLS (`rnn-course dask-certificates`, then tls://…), or pass "
            "--allow-plain-tcp if the scheduler is on a network only you can reach"
        )
    raise CourseError(f"--scheduler {address}: give a tls:// (or tcp://) address")


class WorkerWithoutDashboard(Worker):
    """A local worker whose HTTP server (on loopback) serves no dashboard: bokeh's pages cost
    the grading time and show task names, which hold student ids."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["dashboard"] = False
        super().__init__(*args, **kwargs)


class DaskFuture(concurrent.futures.Future):
    """A standard future settled from a Dask future, which it keeps alive (and so its task)."""

    def __init__(self, remote: Any = None):
        super().__init__()
        self.remote = remote


class DaskEngine:
    """An `Engine` on a Dask cluster: a local one in this process, or the cluster at
    `scheduler`; standard futures come back."""

    def __init__(
        self,
        limits: Limits,
        sandboxed: bool,
        workers: int,
        scheduler: str | None = None,
        dashboard: bool = False,
        security: Any = None,
    ):
        self.limits, self.sandboxed, self.count = limits, sandboxed, workers
        self.scheduler, self.security = scheduler, security
        self.with_dashboard = dashboard  # a local cluster's dashboard (bokeh costs ~5 %)
        self.cluster: Any = None
        self.client: Any = None
        self.scratch: Path | None = None
        self._stop = threading.Event()
        self._workers: set[str] = set()
        self._fallbacks_said: set[str] = set()

    def prepare(self) -> None:
        """Start or reach the cluster and give every worker its sandbox pool; a local
        cluster's sandbox is tried here first, a remote worker's before its first notebook."""
        if not self.scheduler:
            SandboxPool(1, self.limits, self.sandboxed).prepare()
        try:
            if self.scheduler:
                self.client = Client(
                    self.scheduler, timeout=defaults.DASK_CONNECT_SECONDS, security=self.security
                )
            else:
                self.client = Client(self._local_cluster())
            quiet()  # after the import, which sets Dask's loggers
            remote = self.scheduler is not None
            plugin = SandboxPlugin(self.limits, self.sandboxed, trial=remote)
            self.client.register_plugin(plugin, name=PLUGIN)
            self._workers = set(self.client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as error:
            raise CourseError(
                f"cannot reach the Dask scheduler --scheduler {self.scheduler} ({error}); is it "
                "running (`dask scheduler`), are the certificates its own, is the address right?"
            ) from None
        where = self.scheduler or f"a local cluster of {self.count} worker threads"
        log.info("grading with Dask on %s; dashboard: %s", where, self.dashboard or "none")
        threading.Thread(target=self._watch, daemon=True, name="dask-watch").start()

    def _local_cluster(self) -> Any:
        self.scratch = Path(tempfile.mkdtemp(prefix="rnn-course-dask-"))  # mode 700
        self.cluster = LocalCluster(  # the sandboxes are the processes; in-process comms
            n_workers=1,
            threads_per_worker=self.count,
            processes=False,
            memory_limit=0,  # each sandbox has its own limits
            local_directory=str(self.scratch),
            # the HTTP servers Dask starts anyway listen on loopback; the scheduler's serves
            # the dashboard only when asked, the worker's never
            dashboard_address=None,
            scheduler_kwargs={
                "dashboard": self.with_dashboard,
                "dashboard_address": f"{LOOPBACK}:0",
            },
            worker_dashboard_address=f"{LOOPBACK}:0",
            worker_class=WorkerWithoutDashboard,
            silence_logs=logging.ERROR,
        )
        return self.cluster

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, if this run has one."""
        if self.cluster is not None:
            if not self.with_dashboard:
                return None
            port = self.client.scheduler_info().get("services", {}).get("dashboard")
            return f"http://{LOOPBACK}:{port}/status" if port else None
        info = self.client.scheduler_info() if self.client else {}
        port = info.get("services", {}).get("dashboard")
        return f"the scheduler's, port {port}" if port else None

    def submit(self, job: Job, key: str = "") -> concurrent.futures.Future[RunResult]:
        """Run one notebook's job on some worker; `key` names the task, so that a rerun after
        a lost worker is the same task."""
        remote = self.client.submit(run_on_worker, job, key=key or None, pure=False, retries=2)
        local = DaskFuture(remote)

        def settle(done: Any) -> None:
            try:
                result = done.result(timeout=defaults.DASK_RESULT_SECONDS)
                self._say_fallback(result)
                local.set_result(result)
            except NoSandboxOnWorker as error:  # the class cannot be graded safely there
                local.set_exception(EngineUnavailable(str(error)))
            except KilledWorker:  # this notebook's run took down every worker it was given
                lost = RunResult(returncode=-9, diagnostics="the Dask workers were lost")
                local.set_result(lost)
            except TimeoutError:
                local.set_exception(
                    EngineUnavailable(
                        "the Dask scheduler did not hand back a finished notebook's result in "
                        f"{defaults.DASK_RESULT_SECONDS} s; is it overloaded or gone?"
                    )
                )
            except Exception as error:  # noqa: BLE001 - handed to the waiting grader as is
                local.set_exception(error)

        def settle_elsewhere(done: Any) -> None:
            # Fetching the result waits on the client's event loop. Dask calls this in a thread
            # of its own pool, which the interpreter joins at exit; a fetch still waiting when
            # grading stops (the first refusal stops the class; the client closes under the
            # others) would hold the exit forever. A daemon thread of ours fetches instead.
            if not self._stop.is_set():
                threading.Thread(
                    target=settle, args=(done,), daemon=True, name="dask-settle"
                ).start()

        remote.add_done_callback(settle_elsewhere)
        return local

    def _say_fallback(self, result: RunResult) -> None:
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
        local cluster and its scratch folder if this engine started them."""
        self._stop.set()
        if self.client is not None:
            try:
                self.client.unregister_worker_plugin(PLUGIN)
            except Exception:  # noqa: BLE001 - a worker already gone has nothing left to close
                pass
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
