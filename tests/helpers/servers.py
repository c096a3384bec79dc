"""Servers a test starts (the site, Jupyter, the formgrader), and stopping them as users do."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

from autograder.jupyter_server import NO_REDIRECTS

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a test's own server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_printed(process: subprocess.Popen, pattern: str, seconds: float) -> tuple[str, str]:
    """The first match of `pattern` on `process`'s stderr (text mode), and everything read so far.

    Fails the test if the process ends, or `seconds` pass, before printing it.
    """
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line or process.poll() is None, f"the command stopped: {''.join(lines)}"
        lines.append(line)
        found = re.search(pattern, line)
        if found:
            return found.group(0), "".join(lines)
    raise AssertionError(f"nothing matching {pattern!r} was printed: {''.join(lines)}")


def start_serving(command: list[str]) -> subprocess.Popen:
    """A command that serves until Ctrl+C, started as from a terminal: Ctrl+C (SIGINT) at its
    default. A process inherits an ignored SIGINT, and Python then never raises
    KeyboardInterrupt; a test worker may have it ignored (as a shell does for background jobs)."""
    return subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "300"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def stop_with_ctrl_c(
    process: subprocess.Popen, seconds: float = 60, how: signal.Signals = signal.SIGINT
) -> int:
    """Ctrl+C (or another signal: `kill` sends SIGTERM) to a command that serves until
    stopped; its exit status.

    If it does not end in time, fails with where its threads were (the CLI dumps them on
    SIGUSR1) and the rest of what it printed, instead of a bare timeout.
    """
    process.send_signal(how)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        process.wait()
        rest = process.stderr.read() if process.stderr else ""
        raise AssertionError(
            f"{how.name} did not stop the command within {seconds} s; its threads then:\n"
            f"{rest[-8000:]}"
        ) from None


def formgrader_api(server, path: str, body: dict | None = None, token: str | None = None):
    """The formgrader's REST API, as its page calls it (PUT with a JSON body to change)."""
    request = urllib.request.Request(
        f"{server.url}formgrader/api/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "PUT",
        headers={"Authorization": f"token {server.token if token is None else token}"},
    )
    with NO_REDIRECTS.open(request, timeout=30) as answer:
        return json.load(answer)
