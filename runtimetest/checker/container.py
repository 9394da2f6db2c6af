"""The process the runtime started, as seen from inside.

The static checker is that process: the runtime execs it and it runs Python
itself, unpacking nothing and starting nothing in between. Its credentials,
limits, capabilities, namespaces, argv and environment are the runtime's
doing; the descriptors it holds are read at start, before the checker opens
any of its own.
"""

import os

from runtimetest.linux import proc


def _read(path, mode="r"):
    with open(path, mode) as handle:
        return handle.read()


def environ_of(pid):
    """The initial environment of a process, as a dict (first value wins on duplicates)."""
    entries = {}
    for entry in _read(f"/proc/{pid}/environ", "rb").split(b"\0"):
        if not entry:
            continue
        key, _, value = entry.decode("utf-8", "surrogateescape").partition("=")
        entries.setdefault(key, value)
    return entries


def environ():
    """The environment the runtime gave the process it started.

    Read from /proc when it lets us; it does not when execve(2) raised the
    process's capabilities (it is then not dumpable, and its /proc files are
    root's), and Python's copy, taken at start, is the same thing.
    """
    try:
        return environ_of(pid())
    except PermissionError:
        return dict(os.environ)


def parent_of(pid):
    ppid = proc.read_status(f"/proc/{pid}/status").get("PPid", "0").split()
    return int(ppid[0]) if ppid else 0


def pid():
    """The pid (in our pid namespace) of the process the runtime started."""
    return os.getpid()


def open_fds(pid="self"):
    """fd number -> what it points to, for one process (less the handle that lists them)."""
    directory = f"/proc/{pid}/fd"
    found = {}
    with os.scandir(directory) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        try:
            found[int(name)] = os.readlink(f"{directory}/{name}")
        except (OSError, ValueError):
            continue  # closed meanwhile: the directory handle scandir used
    return found


_fds_at_start = None


def note_start():
    """Take what must be seen before the checker changes it: the descriptors it was given."""
    global _fds_at_start
    try:
        _fds_at_start = open_fds()
    except OSError:
        _fds_at_start = None


def fds_at_start():
    """fd -> target as the process held them when it started; OSError if /proc could not tell."""
    if _fds_at_start is None:
        return open_fds()
    return dict(_fds_at_start)


def status():
    """/proc/self/status as a dict of field -> text value."""
    return proc.read_status("/proc/self/status")


def cmdline(of):
    """argv of a process, from /proc/<pid>/cmdline."""
    return proc.read_cmdline(of)


def args():
    """argv of the process the runtime started."""
    return cmdline(pid())


def descends_from(child, ancestor):
    """Whether `ancestor` is the parent of `child`, or its parent's, ... (in our pid namespace)."""
    current, seen = parent_of(child), {child}
    while current > 0 and current != ancestor and current not in seen:
        seen.add(current)
        current = parent_of(current)
    return current == ancestor


def under_init_shim(declared_args):
    """Whether the runtime started an init shim running process.args, the checker its descendant.

    With `podman --init` (catatonit), tini or dumb-init as process.args, the
    process the runtime started is pid 1 and it starts the checker: pid 1's
    argv is exactly process.args and the checker descends from it.
    """
    top = pid()
    if top == 1 or not declared_args:
        return False
    try:
        return cmdline(1) == list(declared_args) and descends_from(top, 1)
    except OSError:
        return False


def gvisor():
    """Whether the process runs on gVisor's kernel (the Sentry), not on Linux.

    gVisor implements Linux's system calls itself: many /proc and /sys files
    are absent or say less, and its device and inode numbers are its own, not
    the host's. Only the Sentry has /proc/sentry-meminfo.
    """
    return os.path.exists("/proc/sentry-meminfo")


def cwd():
    try:
        return os.readlink(f"/proc/{pid()}/cwd")
    except OSError:
        return os.getcwd()
