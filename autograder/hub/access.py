"""Who can reach a path: the kernel's permission checks, answered for another Unix user.

The hub's checks ask "could a student read the solutions, the gradebook, a classmate's home?"
before the hub starts, for every student account, without becoming them: a path is readable
if every folder above it can be entered and the path itself read, by the owner's, the group's
or everyone's bits, as the kernel decides for that user (POSIX ACLs, which Debian's homes do
not use, are not read).
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Person:
    name: str
    uid: int
    gids: frozenset[int]
    home: Path


def members(group: str) -> list[Person]:
    """The Unix users of `group` (listed in it, or with it as their primary group)."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return []
    names = set(entry.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == entry.gr_gid}
    return [person(name) for name in sorted(names) if _exists(name)]


def person(name: str) -> Person:
    entry = pwd.getpwnam(name)
    return Person(
        name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)), Path(entry.pw_dir)
    )


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def allowed(info: os.stat_result, who: Person, bits: int) -> bool:
    """Whether `who` has the permission `bits` (4 read, 2 write, 1 enter/execute) on a file."""
    mode = stat.S_IMODE(info.st_mode)
    if who.uid == 0:
        return True
    if info.st_uid == who.uid:
        return mode >> 6 & bits == bits
    if info.st_gid in who.gids:
        return mode >> 3 & bits == bits
    return mode & bits == bits


def can_read(path: Path, who: Person) -> bool:
    """Whether `who` can read `path` (list it, if a folder), every folder above it entered."""
    path = Path(path)
    try:
        for folder in reversed(path.parents):
            if not allowed(os.stat(folder), who, 1):
                return False
        info = os.stat(path)
    except OSError:
        return False
    needed = 5 if stat.S_ISDIR(info.st_mode) else 4
    return allowed(info, who, needed)


def can_enter(path: Path, who: Person) -> bool:
    """Whether `who` can reach what is inside the folder `path` (by name, if not listing)."""
    path = Path(path)
    try:
        return all(allowed(os.stat(p), who, 1) for p in [*reversed(path.parents), path])
    except OSError:
        return False
