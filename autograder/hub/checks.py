"""What must hold for a class hub to be safe and to work, each said in one line with its fix.

`jupyterhub_config.py` runs `startup_problems()` before the hub starts and refuses to start on
any of them; `python -m autograder.hub check` asks the same questions from any account (and,
with --hub-url, asks the running hub). The threat model they enforce (README, "Running a class
on JupyterHub"): a student with a login may read whatever their Unix user can and serve any
page from their own server, so instructor-only material must be unreadable by students, every
server must have an origin of its own (JupyterHub's subdomains, over TLS), classmates' homes
must be closed, and the exchange must exist before any student could claim it, on a file
system of its own and bounded size.
"""

from __future__ import annotations

import grp
import json
import os
import stat
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from autograder.errors import CourseError
from autograder.hub.access import Person, can_enter, can_read, members, person
from autograder.hub.settings import HERE, PROXY, HubSettings

CONFIG = HERE / "jupyterhub_config.py"
PRIVATE = 0o700  # the hub's state folder: its cookie secret and every user's tokens
COURSE_ID = "rnn-course"
# the exchange's course folders: what students may do in each (others' permission bits)
COURSE_FOLDERS = {"inbound": 0o3, "outbound": 0o5, "feedback": 0o1}
SETUP = "sudo .venv/bin/python -m autograder.hub"


def startup_problems(settings: HubSettings, as_root: bool = True) -> list[str]:
    """Every reason the hub would not serve the class safely, one line each (empty: ready).
    `as_root` False: the checks an ordinary account can make (not the hub's own state)."""
    checks = [_root, _tls] if as_root else [_tls]
    checks += [_student_environment, _instructor_only, _course_dir, _private_homes, _exchange]
    checks += [_group]
    checks += [_proxy, _state] if as_root else [_proxy]
    problems = []
    for check in checks:
        try:
            check(settings)
        except CourseError as problem:
            problems.append(str(problem))
    return problems


def hub_version(url: str, timeout: float = 5.0) -> str:
    """The version of the JupyterHub answering at `url`, or one line saying why none does."""
    api = url.rstrip("/") + "/hub/api/"
    try:
        with urllib.request.urlopen(api, timeout=timeout) as response:
            return json.load(response)["version"]
    except urllib.error.HTTPError as error:
        raise CourseError(
            f"{url} answers HTTP {error.code} where a JupyterHub answers; check the address"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CourseError(
            f"no JupyterHub is running at {url} ({reason}); start it as root: "
            f"jupyterhub -f {CONFIG}"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise CourseError(f"{url} answers, but not as a JupyterHub; check the address") from None


def _root(settings: HubSettings) -> None:
    if os.geteuid() != 0:
        raise CourseError(
            "the hub must run as root to start each student's server as that student: "
            f"sudo {Path(sys.executable).with_name('jupyterhub')} -f {CONFIG}"
        )


def _tls(settings: HubSettings) -> None:
    """Passwords and tokens cross the network only encrypted; every server on its origin."""
    if not settings.domain or "." not in settings.domain:
        raise CourseError(
            "RNN_HUB_DOMAIN is not set: give the hub's host name (hub.example.edu), with a "
            "wildcard DNS record for *.hub.example.edu, so that each student's server has an "
            "origin of its own and no page of one student's can act as another user"
        )
    if settings.behind_proxy:
        return
    for name, path in (
        ("RNN_HUB_SSL_CERT", settings.ssl_cert),
        ("RNN_HUB_SSL_KEY", settings.ssl_key),
    ):
        if not path or not Path(path).is_file():
            raise CourseError(
                f"{name} is not a file: give the hub's TLS certificate and key (for "
                f"{settings.domain} and *.{settings.domain}), or RNN_HUB_BEHIND_PROXY=1 if a "
                "TLS reverse proxy in front of it forwards to 127.0.0.1; passwords must not "
                "cross the network in clear"
            )


def _students(settings: HubSettings) -> list[Person]:
    return [p for p in members(settings.group) if p.name not in settings.instructors]


def _student_environment(settings: HubSettings) -> None:
    """Students' servers run an environment of the course's packages and none of its code."""
    singleuser = settings.singleuser
    fix = f"make it: {SETUP} student-environment"
    if not singleuser.is_file():
        raise CourseError(f"{singleuser} is missing (the students' environment); {fix}")
    everyone = Person("anyone", -1, frozenset(), Path("/"))
    python = (singleuser.parent / "python").resolve()
    for target in (singleuser, python, settings.student_config / "nbgrader_config.py"):
        if not can_read(target, everyone):
            raise CourseError(
                f"students cannot read {target}; put the students' environment, and the Python "
                f"it was made from, where every user can read them ({fix})"
            )
    found = sorted(settings.student_env.glob("env/lib/python*/site-packages/autograder"))
    found += sorted(settings.student_env.glob("env/lib/python*/site-packages/*rnn_course*"))
    if found:
        raise CourseError(
            f"the students' environment holds the course's own code ({found[0]}): students "
            f"would import it; {fix} (it installs the packages only)"
        )


def _instructor_only(settings: HubSettings) -> None:
    """The checkout (solutions, hidden tests) and the instructors' homes (grading folders,
    gradebooks) are out of every student's reach."""
    students = _students(settings)
    private = [settings.checkout / "source_notebooks", settings.checkout]
    private += [person(name).home for name in sorted(settings.instructors) if _user(name)]
    for path in private:
        reader = next((s for s in students if can_read(path, s) or can_enter(path, s)), None)
        if reader is not None:
            raise CourseError(
                f"students can read {path} (e.g. {reader.name}): it holds the solutions, hidden "
                f"tests or grades; run: sudo chmod 700 {path} (keep the course's checkout owned "
                "by the instructor, or root with an instructors' group, and nobody else)"
            )


def _course_dir(settings: HubSettings) -> None:
    """The grading folder the students' dates come from (RNN_HUB_COURSE_DIR), if set: an
    instructor's, out of every student's reach. It may not exist before the first release."""
    folder = settings.course_dir
    if folder is None or not folder.exists():
        return
    owner = folder.stat().st_uid
    names = {person(name).uid: name for name in settings.instructors if _user(name)}
    if owner not in names:
        raise CourseError(
            f"RNN_HUB_COURSE_DIR={folder} is not an instructor's folder (owner uid {owner}); "
            "give the grading folder of an instructor in RNN_HUB_INSTRUCTORS"
        )
    reader = next((s for s in _students(settings) if can_read(folder, s)), None)
    if reader is not None:
        raise CourseError(
            f"students can read {folder} (e.g. {reader.name}): it holds the gradebook and every "
            f"student's extensions; run: chmod 700 {folder}"
        )


def _private_homes(settings: HubSettings) -> None:
    """No student can enter a classmate's home (their notebooks, their submissions' secret)."""
    students = _students(settings)
    gids = Counter(gid for s in students for gid in s.gids)
    for student in students:
        try:
            info = student.home.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        shared = mode & 0o010 and gids[info.st_gid] > (info.st_gid in student.gids)
        if mode & 0o001 or shared:
            raise CourseError(
                f"{student.home} is open to other students (mode {mode:o}); run: sudo chmod 700 "
                f"{student.home} (and for new accounts: useradd --key HOME_MODE=0700)"
            )


def _exchange(settings: HubSettings) -> None:
    """The exchange was set up before any student could claim its folders, as nbgrader needs
    them, on a file system of its own (so a student filling it fills nothing else)."""
    root = settings.exchange
    fix = f"run: {SETUP} exchange --instructor NAME"
    try:
        info = root.stat()
    except OSError:
        raise CourseError(f"the exchange folder {root} does not exist; {fix}") from None
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != 0 or mode != 0o1777:
        raise CourseError(
            f"the exchange folder {root} must belong to root with mode 1777 (everyone writes, "
            f"nobody removes another's), not uid {info.st_uid} mode {mode:o}; {fix}"
        )
    course = root / COURSE_ID
    instructors = {person(n).uid for n in settings.instructors if _user(n)}
    try:
        owner = course.stat().st_uid
    except OSError:
        raise CourseError(
            f"{course} does not exist: a student could create it first and keep the class out; "
            f"{fix}"
        ) from None
    if owner not in instructors:
        raise CourseError(f"{course} belongs to uid {owner}, not to an instructor; {fix}")
    for name, allowed_bits in {"": 0o5, **COURSE_FOLDERS}.items():
        folder = course / name if name else course
        try:
            found = folder.stat()
        except OSError:
            raise CourseError(f"{folder} does not exist; {fix}") from None
        if found.st_uid != owner or found.st_mode & 0o7 != allowed_bits:
            raise CourseError(
                f"{folder} has owner uid {found.st_uid} and mode {stat.S_IMODE(found.st_mode):o}; "
                f"{fix}"
            )
    others = {settings.state, *(s.home for s in _students(settings)), Path("/")}
    shared = sorted(str(p) for p in others if _same_device(root, p))
    if shared:
        raise CourseError(
            f"the exchange {root} is on the same file system as {shared[0]}: a student filling "
            f"it would fill that too; put it on one of its own, of a fixed size: "
            f"{SETUP} exchange --instructor NAME --image /srv/nbgrader-exchange.img --size 20G"
        )


def _same_device(one: Path, other: Path) -> bool:
    try:
        return one.stat().st_dev == other.stat().st_dev
    except OSError:
        return False


def _user(name: str) -> bool:
    try:
        person(name)
    except KeyError:
        return False
    return True


def _group(settings: HubSettings) -> None:
    try:
        grp.getgrnam(settings.group)
    except KeyError:
        raise CourseError(
            f"the Unix group {settings.group!r} (RNN_HUB_GROUP) does not exist, so nobody could "
            f"log in; run: sudo groupadd {settings.group} && sudo usermod -aG {settings.group} "
            "STUDENT (for each student and instructor)"
        ) from None
    missing = sorted(n for n in settings.instructors if not _user(n))
    if missing:
        raise CourseError(f"RNN_HUB_INSTRUCTORS names {', '.join(missing)}: no such Unix user")


def _proxy(settings: HubSettings) -> None:
    if not settings.proxy_command:
        wanted = settings.proxy or PROXY
        raise CourseError(
            f"{wanted} (the hub's proxy) is not installed; run: npm ci --prefix {HERE} "
            "(`bash .ci/setup` does), or set RNN_HUB_PROXY to its path"
        )


def _state(settings: HubSettings) -> None:
    """The state folder exists and only root can read it (made so if missing)."""
    folder = settings.state
    if not folder.exists():
        folder.mkdir(mode=PRIVATE, parents=True)
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        raise CourseError(
            f"{folder} holds the hub's cookie secret and every user's tokens, and other users "
            f"can enter it (mode {mode:o}); run: sudo chmod 700 {folder}"
        )
