"""Each student's due dates, extension and late tokens, handed to their server as it starts.

The hub (root) never opens the instructor's grading folder itself: it runs `rnn-course dates
--student NAME --json` as the Unix user who owns that folder (an instructor), with a time
limit, and passes the one student's answer to that student's server in RNN_COURSE_DATES. The
students' Jupyter configuration puts it into JupyterLab's page config, where the
`rnn-course-dates` extension shows it above the Assignments panel. Any failure shows no dates
and is logged; it never stops a server from starting.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import subprocess
import sys
from pathlib import Path

from autograder.hub.settings import HubSettings

log = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "RNN_COURSE_DATES"
MAX_BYTES = 64 * 1024  # one student's dates are a few hundred bytes
SECONDS = 30


def course_dates(settings: HubSettings, student: str) -> str | None:
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
    if settings.course_db_url:
        command += ["--db-url", settings.course_db_url]
    environment = {"HOME": owner.pw_dir, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    try:
        finished = subprocess.run(
            command,
            user=owner.pw_uid,
            group=owner.pw_gid,
            extra_groups=[],
            env=environment,
            cwd=owner.pw_dir,
            capture_output=True,
            timeout=SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("no course dates for %s: %s", student, error)
        return None
    if finished.returncode != 0 or len(finished.stdout) > MAX_BYTES:
        why = finished.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        log.warning("no course dates for %s: %s", student, why[0])
        return None
    try:
        dates = json.loads(finished.stdout)
    except ValueError:
        log.warning("no course dates for %s: not JSON", student)
        return None
    if not isinstance(dates, dict) or dates.get("student") != student:
        log.warning("no course dates for %s: not theirs", student)
        return None
    return json.dumps(dates)


def add_course_dates(settings: HubSettings):
    """The spawner's `pre_spawn_hook`: the student's dates into their server's environment."""

    def hook(spawner) -> None:
        dates = course_dates(settings, spawner.user.name)
        environment = dict(spawner.environment)
        environment.pop(ENVIRONMENT_VARIABLE, None)
        if dates:
            environment[ENVIRONMENT_VARIABLE] = dates
        spawner.environment = environment

    return hook
