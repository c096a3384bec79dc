"""Each student's due dates, extension and late tokens, handed to their server as it starts.

The hub (root) never opens the instructor's grading folder itself: it runs `rnn-course dates
--student NAME --json` as the Unix user who owns that folder (an instructor), with a time
limit, and passes the one student's answer to that student's server in RNN_COURSE_DATES. The
students' Jupyter configuration puts it into JupyterLab's page config, where the
`rnn-course-dates` extension shows it above the Assignments panel. Any failure shows no dates
and is logged; it never stops a server from starting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pwd
import sys
import time
from pathlib import Path

from autograder.hub.settings import HubSettings

log = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "RNN_COURSE_DATES"
MAX_BYTES = 64 * 1024  # one student's dates are a few hundred bytes
SECONDS = 30
FRESH_SECONDS = 120  # a server restarted within this reuses the dates it was given
AT_ONCE = 2  # `rnn-course dates` runs at the same time, whoever asks


class CourseDates:
    """Each student's dates, asked of `rnn-course dates` without ever holding up the hub.

    The hub runs one event loop for everyone, and a student decides how often their own server
    starts (a token of their own can stop and start it in a loop). So the command runs as an
    asyncio subprocess (the loop serves everyone meanwhile), at most AT_ONCE at a time, and a
    student's answer is reused for FRESH_SECONDS: a restart loop costs one run per two minutes,
    not one per restart.
    """

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self.cache: dict[str, tuple[float, str | None]] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.slots: asyncio.Semaphore | None = None  # made in the hub's own loop

    async def __call__(self, student: str) -> str | None:
        lock = self.locks.setdefault(student, asyncio.Lock())
        async with lock:  # one run per student at a time; the others wait for its answer
            found = self.cache.get(student)
            if found and time.monotonic() - found[0] < FRESH_SECONDS:
                return found[1]
            if self.slots is None:
                self.slots = asyncio.Semaphore(AT_ONCE)
            async with self.slots:
                dates = await course_dates(self.settings, student)
            self.cache[student] = (time.monotonic(), dates)
            return dates


async def course_dates(settings: HubSettings, student: str) -> str | None:
    """The student's dates as JSON text, or None (no course folder, or it failed: logged)."""
    folder = settings.course_dir
    if folder is None:
        return None
    try:
        owner = pwd.getpwuid(os.stat(folder).st_uid)
    except (OSError, KeyError) as error:
        log.warning("no course dates for %s: %s", student, error)
        return None
    if owner.pw_name not in settings.instructors:
        log.warning("no course dates: %s is owned by %s, not an instructor", folder, owner.pw_name)
        return None
    command = [str(Path(sys.executable).with_name("rnn-course")), "dates", "--json"]
    command += ["--student", student, "--course-dir", str(folder)]
    environment = {"HOME": owner.pw_dir, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if settings.course_db_url:  # in the environment, which only its owner can read; a command
        environment["RNN_COURSE_DB_URL"] = settings.course_db_url  # line anyone can
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            user=owner.pw_uid,
            group=owner.pw_gid,
            extra_groups=[],
            env=environment,
            cwd=owner.pw_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:
        log.warning("no course dates for %s: %s", student, error)
        return None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.warning("no course dates for %s: `rnn-course dates` took over %d s", student, SECONDS)
        return None
    if process.returncode != 0 or len(stdout) > MAX_BYTES:
        why = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        log.warning("no course dates for %s: %s", student, why[0])
        return None
    try:
        dates = json.loads(stdout)
    except ValueError:
        log.warning("no course dates for %s: not JSON", student)
        return None
    if not isinstance(dates, dict) or dates.get("student") != student:
        log.warning("no course dates for %s: not theirs", student)
        return None
    return json.dumps(dates)


def add_course_dates(settings: HubSettings):
    """The spawner's `pre_spawn_hook` (JupyterHub awaits it): the student's dates into their
    server's environment."""
    dates_of = CourseDates(settings)

    async def hook(spawner) -> None:
        dates = await dates_of(spawner.user.name)
        environment = dict(spawner.environment)
        environment.pop(ENVIRONMENT_VARIABLE, None)
        if dates:
            environment[ENVIRONMENT_VARIABLE] = dates
        spawner.environment = environment

    return hook
