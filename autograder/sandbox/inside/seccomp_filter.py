"""The seccomp filter of every forked run: system calls a student never needs, refused.

Built with libseccomp (the system's library, through `pyseccomp`), which knows each platform's
system call numbers and checks the architecture of every call, so no number is written here.
Refused with EPERM: calls that reach other processes (ptrace, process_vm_*, pidfd_getfd,
kcmp), the kernel's namespaces and mounts (unshare, setns, mount and the new mount API, clone
with a namespace flag), its keyrings (shared by every run of one user id), and rarely used,
often vulnerable kernel code (BPF, perf, userfaultfd, io_uring, modules, kexec). clone3 gets
ENOSYS, so that libc falls back to clone, whose flags a filter can read. Calls of another ABI
(i386, x32 on x86_64) get ENOSYS. Everything else is allowed.

Runs inside the sandbox, imported by `zygote.py` before any student code; imports nothing of
the project.
"""

import errno
import platform

import pyseccomp as seccomp

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "open_by_handle_at",
    "add_key", "request_key", "keyctl",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "syslog", "acct", "swapon", "swapoff", "reboot", "vhangup", "quotactl",
    "lookup_dcookie", "iopl", "ioperm",
)  # fmt: skip
NAMESPACE_FLAGS = (  # clone(2) flags that make a namespace
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
# where clone's flags are its first argument (on s390x they are the second)
CLONE_FLAGS_FIRST = {"x86_64", "aarch64"}


def supported() -> bool:
    """Whether this platform gets the filter (the grader says so where it does not)."""
    return platform.machine() in CLONE_FLAGS_FIRST


def build() -> seccomp.SyscallFilter:
    """The filter, not yet loaded; names the platform's libseccomp does not know are calls
    this platform does not have."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ERRNO(errno.ENOSYS))
    for name in DENIED:
        try:
            number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        except (OSError, ValueError):
            continue
        if number >= 0:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), number)
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(
            seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        )
    return rules


def install() -> None:
    """Load the filter into this process, for good (no_new_privs must be set already)."""
    if supported():
        build().load()
