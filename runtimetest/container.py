"""The process the runtime started, as seen from inside.

The static checker is a chain of processes: the runtime execs the staticx
bootloader, which unpacks and starts PyInstaller's bootloader, which unpacks and
starts Python. Each bootloader marks the environment of the process it starts.
Attributes that the chain does not change (credentials, limits, capabilities,
namespaces) are read from the checker's own process; those it does change
(environment, argv, open descriptors) are read from the process the runtime
started: the first ancestor whose environment carries no bootloader mark.
"""

import os
import sys

# Variables the bootloaders add to the environment of the process they start.
BOOTLOADER_MARKS = ("STATICX_BUNDLE_DIR", "_PYI_ARCHIVE_FILE", "_PYI_APPLICATION_HOME_DIR")
BOOTLOADER_PREFIXES = ("STATICX_", "_PYI_")


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

    Read from that process when it lets us; it does not when execve(2) raised its
    capabilities (it is then not dumpable), and the checker's own environment,
    without what the bootloaders added, is the same thing.
    """
    try:
        return environ_of(pid())
    except PermissionError:
        pass
    own = {k: v for k, v in os.environ.items() if not k.startswith(BOOTLOADER_PREFIXES)}
    if "LD_LIBRARY_PATH_ORIG" in own:
        own["LD_LIBRARY_PATH"] = own.pop("LD_LIBRARY_PATH_ORIG")
    elif os.environ.get("LD_LIBRARY_PATH") in unpack_dirs():
        own.pop("LD_LIBRARY_PATH")
    return own


def parent_of(pid):
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def _started_by_bootloader(pid):
    try:
        env = environ_of(pid)
    except OSError:
        return False
    return any(mark in env for mark in BOOTLOADER_MARKS)


_top = None


def pid():
    """The pid (in our pid namespace) of the process the runtime started."""
    global _top
    if _top is None:
        current = os.getpid()
        while _started_by_bootloader(current):
            parent = parent_of(current)
            if parent <= 0:
                break
            current = parent
        _top = current
    return _top


def unpack_dirs():
    """Directories the bootloaders unpacked into: the checker's own, not the runtime's."""
    dirs = []
    bundle = os.environ.get("STATICX_BUNDLE_DIR")
    if bundle:
        dirs.append(bundle)
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        dirs.append(meipass)
    return dirs


def status():
    """/proc/self/status as a dict of field -> text value."""
    fields = {}
    for line in _read("/proc/self/status").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def cmdline(of):
    """argv of a process, from /proc/<pid>/cmdline."""
    raw = _read(f"/proc/{of}/cmdline", "rb")
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")] if raw else []


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
