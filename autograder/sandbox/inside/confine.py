"""How a forked run confines itself: the kernel's primitives (through libc) and the steps.

The init of each run's namespaces (`confine_namespaces`) makes every mount read-only and private,
mounts fresh size-limited /tmp and home and a /proc of the run's own PID namespace, and brings
its loopback up; the runner then becomes the grading user (or nobody in a nested user
namespace: `become_unprivileged`) and locks itself down for good (`lock_down`): no new
privileges, no capabilities, and the seccomp filter (`seccomp_filter.py`). The why of each step
is told in `sandbox/template.py`, the grader's side.

Runs inside the sandbox, imported by `zygote.py`; imports nothing of the project. System call
numbers come from the platform (libseccomp), not from literals.
"""

import ctypes
import fcntl
import os
import socket
import struct

import pyseccomp
import runner
import seccomp_filter

NOBODY = 65534
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
RUN_NAMESPACES = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_PRIVATE = 0x2, 0x4, 0x8, 1 << 18
MOUNT_ATTR_RDONLY, AT_FDCWD, AT_RECURSIVE = 0x1, -100, 0x8000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
LINUX_CAPABILITY_VERSION_3 = 0x20080522

libc = ctypes.CDLL(None, use_errno=True)


def checked(result, what):
    if result == -1:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


def unshare(flags, what):
    checked(libc.unshare(ctypes.c_int(flags)), what)


def mount(source, target, kind, flags, data=None):
    encoded = [None if s is None else s.encode() for s in (source, target, kind, data)]
    result = libc.mount(encoded[0], encoded[1], encoded[2], ctypes.c_ulong(flags), encoded[3])
    checked(result, f"mount {kind} on {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("set", "clear", "propagation", "userns")]


def read_only_everywhere():
    """Every mount of this (new) mount namespace read-only and private, in one call, so that
    nothing the template sees can be written and no mount made here reaches the template."""
    attributes = _MountAttr(MOUNT_ATTR_RDONLY, 0, MS_PRIVATE, 0)
    result = libc.syscall(
        ctypes.c_long(pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, "mount_setattr")),
        ctypes.c_int(AT_FDCWD),
        b"/",
        ctypes.c_uint(AT_RECURSIVE),
        ctypes.byref(attributes),
        ctypes.c_size_t(ctypes.sizeof(attributes)),
    )
    checked(result, "mount_setattr (Linux 5.12 or later)")


def prctl(what, option, *args):
    """prctl(2) with every argument as the unsigned long (or pointer) the kernel reads."""
    args = [ctypes.c_ulong(a) if isinstance(a, int) else a for a in args]
    args += [ctypes.c_ulong(0)] * (4 - len(args))
    checked(libc.prctl(ctypes.c_int(option), *args), what)


def loopback_up():
    """The new network namespace's loopback, up as in bubblewrap's (there is no other)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH", b"lo", 0).ljust(40, b"\0")
        flags = struct.unpack("16sH", fcntl.ioctl(probe, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(
            probe, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP).ljust(40, b"\0")
        )


def step(what, function, *args):
    """Run one confinement step; an OSError names the step (the grader shows it)."""
    try:
        return function(*args)
    except OSError as error:
        raise OSError(error.errno, f"{what}: {error.strerror or error}") from None


def write(path, text):
    with open(path, "w") as file:
        file.write(text)


def confine_namespaces(request):
    """What the init does to the run's new namespaces before the runner starts."""
    home = os.environ["HOME"]
    step("read-only mounts", read_only_everywhere)
    for scratch in ("/tmp", home):
        size = f"size={int(request['scratch_bytes'])},mode=0777"
        step(f"a fresh {scratch}", mount, "tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, size)
    step("a fresh /proc", mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    step("the home folder", os.chdir, home)
    step("the loopback interface", loopback_up)
    # out of memory, the run's processes go before the template (the processes the student's
    # code forks go first of all: runner.first_to_go_when_out_of_memory)
    step("the OOM score", write, "/proc/self/oom_score_adj", "500")


def become_unprivileged(uid):
    """The grading user id when the template is root; else nobody, in a user namespace nested
    in bubblewrap's, which has no power over the run's other namespaces."""
    if uid is not None:
        runner.drop_privileges(uid)
        return
    outer_uid, outer_gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER, "unshare a user namespace")
    for name, text in [
        ("setgroups", "deny"),
        ("uid_map", f"{NOBODY} {outer_uid} 1"),
        ("gid_map", f"{NOBODY} {outer_gid} 1"),
    ]:
        step(f"write {name}", write, f"/proc/self/{name}", text)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def lock_down():
    """No new privileges, no capabilities, and the seccomp filter, for good."""
    prctl("no_new_privs", PR_SET_NO_NEW_PRIVS, 1)
    prctl("ambient capabilities", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    checked(libc.capset(ctypes.byref(header), data), "capset")
    seccomp_filter.install()
