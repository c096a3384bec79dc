"""A control group per sandbox slot: memory, processes and CPU time bounded for a whole run.

Rlimits bound each process of a run; a control group bounds all of them together, so that a
fork bomb, many processes each allocating memory, or many processes each spinning (in sessions
of their own, where a process group's signal does not reach) cost the run that starts them and
never its neighbours. A slot runs one notebook at a time, so its group is that notebook's.

* memory and the number of processes: `memory.max`/`pids.max` (cgroup v2) or the `memory` and
  `pids` hierarchies (v1);
* CPU: at most `Limits.cpus` CPUs of time (`cpu.max`, or `cpu.cfs_quota_us` in v1), with equal
  weight between slots, so one notebook's processes share one CPU's budget however many they are.

Control groups need root (or a delegated subtree). Run as an ordinary user, there is none: each
process keeps its rlimits (memory, processes), but CPU time is shared by the kernel between
processes, not runs, so a run of many processes can slow its neighbours down to the process
limit (README, "How autograde keeps grading safe and fair").
"""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

from autograder.sandbox.engine import Limits

log = logging.getLogger(__name__)

EMPTYING_SECONDS = 5.0  # for a finished run's processes to leave the group
CPU_PERIOD_MICROSECONDS = 100_000


class ControlGroup:
    """A memory + pids + cpu control group for one slot's sandboxes, if the machine allows it."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, limits: Limits):
        self.paths: list[Path] = []
        self.cpu_limited = False
        quota = str(int(limits.cpus * CPU_PERIOD_MICROSECONDS))
        try:
            if (self.ROOT / "cgroup.controllers").is_file():  # cgroup v2: one hierarchy
                group = self.ROOT / name
                group.mkdir(exist_ok=True)
                self.paths = [group]
                (group / "memory.max").write_text(str(limits.memory_bytes))
                (group / "pids.max").write_text(str(limits.processes))
                if (group / "memory.swap.max").exists():
                    (group / "memory.swap.max").write_text("0")
                if (group / "cpu.max").exists():
                    (group / "cpu.max").write_text(f"{quota} {CPU_PERIOD_MICROSECONDS}")
                    (group / "cpu.weight").write_text("100")
                    self.cpu_limited = True
            else:  # cgroup v1: one hierarchy per controller
                memory, pids = self.ROOT / "memory" / name, self.ROOT / "pids" / name
                for group in (memory, pids):
                    group.mkdir(exist_ok=True)
                    self.paths.append(group)
                (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                (pids / "pids.max").write_text(str(limits.processes))
                cpu = self.ROOT / "cpu" / name
                if cpu.parent.is_dir():
                    cpu.mkdir(exist_ok=True)
                    self.paths.append(cpu)
                    (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_MICROSECONDS))
                    (cpu / "cpu.cfs_quota_us").write_text(quota)
                    (cpu / "cpu.shares").write_text("1024")
                    self.cpu_limited = True
        except OSError as error:
            log.debug("no control group for the sandbox (%s): rlimits only", error)
            self.remove()

    def wrap(self, args: list[str]) -> list[str]:
        """`args`, started from inside the group (so every process it makes is counted)."""
        if not self.paths:
            return args
        joins = " && ".join(f"echo $$ > {p / 'cgroup.procs'}" for p in self.paths)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sandbox", *args]

    def add(self, pid: int) -> None:
        """Move a running process (and the processes it starts from now on) into the group."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(pid))

    def cpu_throttled(self) -> int:
        """How many CPU periods the group's processes were held back (0 without a CPU limit)."""
        for path in self.paths:
            stat = path / "cpu.stat"
            if self.cpu_limited and stat.is_file():
                for line in stat.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "nr_throttled":
                        return int(value)
        return 0

    def remove(self) -> None:
        """Remove the group; the last processes of a run may take a moment to be gone."""
        deadline = time.monotonic() + EMPTYING_SECONDS
        for path in self.paths:
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.debug("control group %s left behind: %s", path, error)
                        break
                    time.sleep(0.02)
        self.paths = []
