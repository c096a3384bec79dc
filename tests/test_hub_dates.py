"""The hub's due-date hook, which a student can make run as often as their server starts: it
never holds up the hub's one event loop, runs once per student in a while, keeps the gradebook's
password off any command line, and a command that hangs costs that student's dates only."""

from __future__ import annotations

import asyncio
import getpass
import json
from types import SimpleNamespace

import pytest

from autograder.hub import dates
from autograder.hub.settings import HubSettings

URL = "postgresql+psycopg://grader:s3cret@db.example.edu/rnn"


class Process:
    """What asyncio.create_subprocess_exec returns, answering after `seconds` (or never)."""

    def __init__(self, student: str, seconds: float | None):
        self.student, self.seconds, self.returncode, self.killed = student, seconds, None, False

    async def communicate(self):
        if self.seconds is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self.seconds)
        self.returncode = 0
        return json.dumps(
            {"student": self.student, "due": "2026-12-24T12:00:00+00:00"}
        ).encode(), b""

    def kill(self):
        self.killed, self.returncode = True, -9

    async def wait(self):
        return self.returncode


@pytest.fixture
def started(monkeypatch, tmp_path):
    """The commands the hook starts: (argv, environment, process) each."""
    runs: list[tuple[list[str], dict, Process]] = []
    seconds: list[float | None] = [0.3]

    async def exec_(*argv, env, **options):
        student = argv[argv.index("--student") + 1]
        runs.append((list(argv), env, process := Process(student, seconds[0])))
        return process

    monkeypatch.setattr(dates.asyncio, "create_subprocess_exec", exec_)
    settings = HubSettings(
        instructors=frozenset({getpass.getuser()}), course_dir=tmp_path, course_db_url=URL
    )
    return runs, seconds, dates.add_course_dates(settings)


def spawner(name: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(name=name), environment={"KEEP": "1"})


def test_restarts_share_one_run_that_never_holds_up_the_hub_and_shows_no_password(started):
    runs, _, hook = started
    ticks = 0

    async def hub_serving_others():
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    async def scenario():
        alice = [spawner("alice") for _ in range(5)]  # a restart loop, and the hub's own ticks
        await asyncio.gather(*(hook(s) for s in alice), hub_serving_others())
        await hook(again := spawner("alice"))  # within FRESH_SECONDS: no second run
        await hook(bob := spawner("bob"))
        return alice + [again], bob

    alice, bob = asyncio.run(scenario())
    assert ticks == 20  # the loop went on serving while the command ran
    assert [argv[argv.index("--student") + 1] for argv, _, _ in runs] == ["alice", "bob"]
    for argv, environment, _ in runs:
        assert not any("s3cret" in part for part in argv) and "--db-url" not in argv
        assert environment["RNN_COURSE_DB_URL"] == URL
    for server in alice:
        assert json.loads(server.environment["RNN_COURSE_DATES"])["student"] == "alice"
        assert server.environment["KEEP"] == "1"
    assert json.loads(bob.environment["RNN_COURSE_DATES"])["student"] == "bob"


def test_at_most_two_runs_at_once_whoever_asks(started):
    runs, _, hook = started
    most = 0

    async def watch():
        nonlocal most
        for _ in range(100):
            most = max(most, sum(1 for *_, p in runs if p.returncode is None))
            await asyncio.sleep(0.01)

    async def scenario():
        await asyncio.gather(*(hook(spawner(f"s{n}")) for n in range(6)), watch())

    asyncio.run(scenario())
    assert len(runs) == 6 and most == dates.AT_ONCE


def test_a_command_that_hangs_is_killed_and_the_server_starts_without_dates(started, monkeypatch):
    runs, seconds, hook = started
    seconds[0] = None  # never answers
    monkeypatch.setattr(dates, "SECONDS", 0.2)
    server = spawner("carol")
    server.environment["RNN_COURSE_DATES"] = '{"student": "mallory"}'  # never passed on
    asyncio.run(hook(server))
    assert runs[0][2].killed
    assert "RNN_COURSE_DATES" not in server.environment and server.environment["KEEP"] == "1"
