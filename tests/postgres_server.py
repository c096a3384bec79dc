"""A real PostgreSQL server for the tests: Debian's `postgresql`, started in a temporary folder
on a free port, as an unprivileged user (PostgreSQL refuses to run as root: when the tests run
as root, as CI does, the server runs as Debian's `postgres` user), and stopped afterwards.

Connections from 127.0.0.1 need a password (scram-sha-256), so a wrong one is refused as on a
real server; the instructor's role owns one database for the gradebook.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROLE, PASSWORD, DATABASE = "instructor", "s3cret-Gradebook", "gradebook"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: .ci/setup installs Debian's postgresql")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    user: str

    def url(self, password: str = PASSWORD, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{ROLE}:{password}@127.0.0.1:{self.port}/{database}"

    def as_user(self, *command: str) -> list[str]:
        if os.geteuid() != 0:
            return list(command)
        return [
            "setpriv",
            f"--reuid={self.user}",
            f"--regid={self.user}",
            "--init-groups",
            "--",
            *command,
        ]

    def run(self, *command: str, **options) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.as_user(*command),
            capture_output=True,
            text=True,
            check=True,
            cwd=self.folder,
            **options,
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self.run(
            str(postgres_bin() / "psql"),
            "-h",
            str(self.folder),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            sql,
        ).stdout

    def stop(self) -> None:
        subprocess.run(
            self.as_user(
                str(postgres_bin() / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres(durable: bool = False) -> PostgresServer:
    """initdb, start on a free port, and create the instructor's role and database.

    Tests need no crash safety and run faster without fsync; `durable` keeps PostgreSQL's
    default (fsync on), as a real gradebook runs, for the benchmarks' write rates."""
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="rnn-course-postgres-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PostgresServer(folder, free_port(), user)
    binaries = postgres_bin()
    server.run(
        str(binaries / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--no-sync",
    )
    server.run(
        str(binaries / "pg_ctl"),
        "-D",
        str(folder / "data"),
        "-l",
        str(folder / "server.log"),
        "-o",
        f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1"
        + ("" if durable else " -c fsync=off"),
        "-w",
        "-t",
        "60",
        "start",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port)],
            capture_output=True,
            check=False,
        )
        if ready.returncode == 0:
            break
        time.sleep(0.2)
    server.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    server.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    return server
