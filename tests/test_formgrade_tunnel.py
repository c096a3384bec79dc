"""The instructor reaches the formgrader on the hub machine from a laptop, over an SSH tunnel.

`rnn-course formgrade` listens on the hub machine's 127.0.0.1 only (students there cannot use
it without its token; nobody elsewhere can reach it). The README's command from the
instructor's laptop, `ssh -N -L 8889:127.0.0.1:8889 teacher@hub`, is run here against a real
OpenSSH server started by the test on this machine (as far as one machine allows: the
"laptop" is this machine too), with a key of the instructor's own, and the formgrader answers
through the tunnel with its token, and not without it.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
from pathlib import Path

import pytest
from helpers.servers import free_port
from hub_fixtures import accounts, temporary_base

from autograder.course.folder import Course
from autograder.course.release import release
from autograder.jupyter_server import NO_REDIRECTS
from autograder.results.formgrade import start_formgrader

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_root,
    pytest.mark.xdist_group("hub"),
    pytest.mark.skipif(not Path("/usr/sbin/sshd").is_file(), reason="openssh-server (setup)"),
]
TEACHER = "rnnssh-teacher"


def keys(folder: Path, name: str) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True
    )
    return folder / name


def listening(port: int, seconds: float = 30) -> None:
    """Until something accepts connections on 127.0.0.1:`port` (sshd, once it has started)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.2)


def wait_for(url: str, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with NO_REDIRECTS.open(url, timeout=5) as answer:  # a login page is no answer
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_the_formgrader_answers_through_an_ssh_tunnel_and_only_with_its_token(tmp_path):
    base = temporary_base("rnn-ssh-")
    course = Course.open(tmp_path / "course")
    release(course)
    server = start_formgrader(course, free_port())
    sshd = tunnel = None
    try:
        with accounts([TEACHER], "rnnssh-class", base / "home") as people:
            teacher = people[TEACHER]
            host_key, user_key = keys(base, "host"), keys(base, "teacher")
            ssh_dir = teacher.home / ".ssh"
            ssh_dir.mkdir(mode=0o700)
            (ssh_dir / "authorized_keys").write_bytes(Path(f"{user_key}.pub").read_bytes())
            subprocess.run(
                ["chown", "-R", f"{teacher.uid}:{teacher.gid}", str(ssh_dir)], check=True
            )
            Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
            port, local = free_port(), free_port()
            sshd = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-h", str(host_key),
                 "-p", str(port), "-o", "ListenAddress=127.0.0.1", "-o", "UsePAM=no",
                 "-o", "PasswordAuthentication=no", "-o", f"PidFile={base / 'sshd.pid'}",
                 "-o", "AllowTcpForwarding=local", "-o", f"AllowUsers={TEACHER}"],
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            listening(port)
            tunnel = subprocess.Popen(
                ["ssh", "-N", "-i", str(user_key), "-p", str(port),
                 "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={base / 'known'}",
                 "-o", "ExitOnForwardFailure=yes", "-L", f"{local}:127.0.0.1:{server.port}",
                 f"{TEACHER}@127.0.0.1"],
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            through = f"http://127.0.0.1:{local}/formgrader/api/status"
            assert wait_for(f"{through}?token={server.token}") == 200
            assert wait_for(through) in (302, 403), "the token is still needed through the tunnel"
    finally:
        for process in (tunnel, sshd):
            if process is not None:
                process.terminate()
                process.wait(30)
        server.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
