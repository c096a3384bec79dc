"""What a student controls, handled as hostile: names shown safely, files read without links.

Student ids, folder and file names, and the bytes of their files come from people who may try
to break the grader. Two rules hold everywhere they are read:

* **Shown, never interpreted.** A name is printed through `text.shown()`: control characters,
  escape sequences and undecodable bytes become visible escapes, long names are cut, and the
  caller prints with markup off, so `[bold]` or `\\x1b[2J` in a file name is just text.
* **Read, never followed.** A file in a folder a student can write is opened relative to a file
  descriptor of that folder with `O_NOFOLLOW | O_NONBLOCK`, and kept only if `fstat` of what was
  opened says it is a regular file: a symbolic link to the instructor's solutions, a FIFO that
  would block the reader forever, a device, or a file swapped in between a check and the open
  are all refused, with the reason, instead of being copied.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from autograder import limits
from autograder.text import human_size

# a notebook name we will create on disk: printable, no path separator, not hidden, not huge
USABLE_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,150}$")


def usable_file_name(name: str) -> bool:
    """Whether `name` can be written as one file of a submission folder, as it is."""
    if not USABLE_FILE_NAME.match(name):
        return False
    try:
        return len(name.encode("utf-8")) <= 200
    except UnicodeEncodeError:  # undecodable bytes kept as surrogates
        return False


class Refused(Exception):
    """A file that is not read, and why (in words for the instructor's list)."""


@dataclass(frozen=True)
class Entry:
    """A folder entry as `lstat` saw it: never followed."""

    name: str
    mode: int
    uid: int
    links: int
    ctime: float
    size: int
    inode: int = 0
    ctime_ns: int = 0

    @property
    def fingerprint(self) -> tuple:
        """What changes when the entry does: its name, inode, change time and size."""
        return (self.name, self.inode, self.ctime_ns, self.size)

    @property
    def kind(self) -> str:
        return file_kind(self.mode)


def file_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def open_folder(path: str | os.PathLike, dir_fd: int | None = None) -> int:
    """A descriptor of the folder at `path` (relative to `dir_fd`), never through a link."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(_why(error, "folder")) from None


def entries(folder_fd: int, limit: int | None = None) -> Iterator[Entry]:
    """The entries of an open folder, each as `lstat` sees it (a vanished one is left out);
    `Refused` if it has more than `limit` (listing stops there: a folder of 60,000 files
    costs no more to refuse than one of `limit`)."""
    names = []
    with os.scandir(folder_fd) as listing:
        for item in listing:
            names.append(item.name)
            if limit is not None and len(names) > limit:
                raise Refused(f"more than {limit:,} entries in one submission folder")
    for name in sorted(names):
        try:
            info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield Entry(
            name,
            info.st_mode,
            info.st_uid,
            info.st_nlink,
            info.st_ctime,
            info.st_size,
            info.st_ino,
            info.st_ctime_ns,
        )


def open_regular(folder_fd: int, entry: Entry, owner: int | None = None) -> int:
    """A read-only descriptor of the regular file `entry`, or `Refused` saying why not.

    `owner`: the uid the file must belong to if it has other hard links (a student cannot
    hard-link a file of the instructor's in and have it collected as theirs).
    """
    if stat.S_ISLNK(entry.mode):
        raise Refused("a symbolic link (never followed)")
    if not stat.S_ISREG(entry.mode):
        raise Refused(f"a {entry.kind}, not a regular file")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        handle = os.open(entry.name, flags, dir_fd=folder_fd)
    except OSError as error:
        raise Refused(_why(error, "file")) from None
    info = os.fstat(handle)
    problem = None
    if not stat.S_ISREG(info.st_mode):  # replaced between the listing and the open
        problem = f"a {file_kind(info.st_mode)}, not a regular file"
    elif info.st_nlink > 1 and owner is not None and info.st_uid != owner:
        problem = "a hard link to a file its submitter does not own"
    if problem:
        os.close(handle)
        raise Refused(problem)
    return handle


def read_chunks(handle: int, limit: int) -> Iterator[bytes]:
    """The bytes of an open file in blocks, closing it at the end; `Refused` past `limit`."""
    total = 0
    try:
        while block := os.read(handle, limits.CHUNK_BYTES):
            total += len(block)
            if total > limit:
                raise Refused(f"larger than {human_size(limit)}")
            yield block
    finally:
        os.close(handle)


def _why(error: OSError, what: str) -> str:
    if error.errno == 40:  # ELOOP: O_NOFOLLOW met a symbolic link
        return "a symbolic link (never followed)"
    if error.errno == 20:  # ENOTDIR
        return f"not a {what}"
    return f"cannot be read ({error.strerror})"
