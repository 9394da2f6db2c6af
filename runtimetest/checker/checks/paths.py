"""linux.maskedPaths and linux.readonlyPaths (config-linux.md).

A masked path "cannot be read": it is absent, or reading it gives nothing (a
file masked by /dev/null, a directory masked by an empty tmpfs), or reading it
is refused. A read-only path stays what it was, but any write to it fails with
EROFS. Probes never write: a file is opened for writing and closed at once, a
directory gets a probe entry that is removed again if it could be made.
"""

import errno
import os
import stat

from runtimetest.core.registry import MUST, check
from runtimetest.core.spec import show
from runtimetest.linux.mountinfo import readonly_mount_at

PROBE_NAME = ".runtimetest-readonly-probe"
# Never block on a FIFO or a device, never take a terminal as controlling tty.
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
# Each path costs a stat and an open: a list longer than any runtime's own
# (runc masks about a dozen) is judged in part, with a note, never for minutes.
MAX_PATHS = 10000
# open(2) of a device node whose driver is absent: the device's answer, not the mount's.
NO_DRIVER = (errno.ENXIO, errno.ENODEV)


def errno_name(number):
    return errno.errorcode.get(number, str(number))


def absolute_paths(spec, field, result):
    """(index, path) of the first MAX_PATHS entries; a note names what is left unjudged beyond them."""
    paths = spec.list(field, [])
    if len(paths) > MAX_PATHS:
        result.note(f"{field} has {len(paths)} entries: only the first {MAX_PATHS} are checked")
    for index, path in enumerate(paths[:MAX_PATHS]):
        if not isinstance(path, str):
            result.problem(f"{field}[{index}]: spec field should be a string, found {show(path)}")
            continue
        if not path.startswith("/"):
            result.problem(f"{field}[{index}]: spec field should be an absolute path, found {path!r}")
            continue
        yield index, path


def what_reading_gives(path, info):
    """None when nothing can be read at `path`, else what was read ("3 entries", "some bytes")."""
    if stat.S_ISDIR(info.st_mode):
        try:
            entries = os.listdir(path)
        except OSError:
            return None
        return f"a directory listing {len(entries)} entries" if entries else None
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return None
    try:
        data = os.read(fd, 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return "readable content" if data else None


@check("linux.maskedPaths", MUST, "config-linux.md#masked-paths", needs="linux.maskedPaths")
def masked_paths_cannot_be_read(spec, result):
    """Every path in linux.maskedPaths is absent, empty or unreadable (files and directories)."""
    for index, path in absolute_paths(spec, "linux.maskedPaths", result):
        try:
            info = os.stat(path)
        except OSError:
            continue  # absent, or not even stat-able: nothing can be read
        found = what_reading_gives(path, info)
        if found is not None:
            result.fail(f"linux.maskedPaths[{index}]", f"{path} unreadable", found)


def write_error(path, info):
    """The errno a write at `path` meets, or None when writing is possible (nothing is left behind)."""
    if stat.S_ISDIR(info.st_mode):
        probe = os.path.join(path, PROBE_NAME)
        try:
            os.mkdir(probe, 0o700)
        except OSError as error:
            return error.errno
        os.rmdir(probe)
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        return error.errno
    os.close(fd)  # opened, never written
    return None


def read_error(path, info):
    """The errno reading `path` meets, None when it can be read; EACCES from its own mode is not ours to judge."""
    try:
        if stat.S_ISDIR(info.st_mode):
            os.listdir(path)
        else:
            os.close(os.open(path, READ_FLAGS))
    except OSError as error:
        return error.errno
    return None


@check("linux.readonlyPaths", MUST, "config-linux.md#readonly-paths", needs="linux.readonlyPaths")
def readonly_paths_are_readonly(spec, result):
    """Every path in linux.readonlyPaths stays readable and refuses writes with EROFS (files and directories)."""
    for index, path in absolute_paths(spec, "linux.readonlyPaths", result):
        field = f"linux.readonlyPaths[{index}]"
        try:
            info = os.stat(path)
        except FileNotFoundError:
            result.note(f"{path} does not exist here: nothing to make read-only")
            continue
        problem = read_error(path, info)
        if problem in NO_DRIVER and (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
            result.note(f"{path}: a device whose driver is absent ({errno_name(problem)} on open): "
                        "readable or not, no read can tell; read-only by its mount's flags")
        elif problem is not None and problem not in (errno.EACCES, errno.EPERM):
            result.fail(field, f"{path} readable", errno_name(problem))
        on_readonly_mount, _ = readonly_mount_at(path)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            # A read-only mount does not refuse writes to devices, FIFOs or sockets: only the mount tells.
            if not on_readonly_mount:
                result.fail(field, f"{path} on a read-only mount", "read-write mount")
            continue
        error = write_error(path, info)
        if error == errno.EROFS or (error is not None and on_readonly_mount):
            continue  # refused: by EROFS, or by permissions checked before the mount's flag
        found = "writable" if error is None else f"{errno_name(error)} on a read-write mount"
        result.fail(field, "EROFS on write", found, why=path)
