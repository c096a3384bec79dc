"""Which engine runs the sandboxes, decided and checked in one place for the CLI and the library.

`pool` (the default, `limits.ENGINE`): this process's sandbox pool; nothing listens on the
network. `dask`: a local Dask cluster in this process (HTTP on loopback only), or the cluster
of `scheduler` (TLS with the course's certificates, or plain TCP only if the instructor says
the network is theirs alone).
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder import limits as defaults
from autograder.errors import CourseError
from autograder.sandbox.engine import Engine, Limits
from autograder.sandbox.pool import SandboxPool


def make_engine(
    engine: str | None = None,
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    sandboxed: bool = True,
    scheduler: str | None = None,
    dashboard: bool = False,
    tls_folder: Path | None = None,
    allow_plain_tcp: bool = False,
) -> Engine:
    """The engine asked for, or one line saying why the combination cannot be used."""
    limits = limits or Limits()
    engine = engine or ("dask" if scheduler else defaults.ENGINE)
    if engine not in defaults.ENGINES:
        raise CourseError(f"--engine {engine!r}: choose {' or '.join(defaults.ENGINES)}")
    if workers is not None and workers < 1:
        raise CourseError("--workers must be at least 1")
    if scheduler and engine != "dask":
        raise CourseError("--scheduler grades on a Dask cluster; leave out --engine pool")
    if dashboard and engine != "dask":
        raise CourseError("--dashboard is Dask's: add --engine dask")
    count = workers or os.cpu_count() or 1
    if engine == "pool":
        return SandboxPool(count, limits, sandboxed)
    from autograder.sandbox import dask_engine  # imports Dask: only when asked for

    security = None
    if scheduler:
        dask_engine.check_scheduler_address(scheduler, tls_folder, allow_plain_tcp)
        if tls_folder is not None:
            from autograder.sandbox.dask_tls import client_security

            security = client_security(tls_folder)
    return dask_engine.DaskEngine(limits, sandboxed, count, scheduler, dashboard, security)
