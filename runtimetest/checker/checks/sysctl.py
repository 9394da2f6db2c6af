"""linux.sysctl (config-linux.md "Sysctl").

Each key names a file under /proc/sys (dots, or slashes, separate the parts, as
sysctl(8) takes them); the file must hold the value. A key is a name, never a
path: one that is empty, absolute or holds an empty, "." or ".." part would
name something outside /proc/sys, and is a failure naming the key. Files are
read bounded in size and time, whatever they turn out to be. Values are compared as
whitespace-separated words: the kernel prints a vector such as
net.ipv4.ip_local_port_range with tabs and a trailing newline.
"""

import errno
import os

from runtimetest.core.bounded import ReadLimit, read_bounded
from runtimetest.core.registry import MUST, check
from runtimetest.core.spec import show

PROC_SYS = "/proc/sys"
READ_LIMIT = 64 << 10  # the largest sysctl files are a few KiB
READ_TIMEOUT = 2.0


def sysctl_path(key):
    """The file under /proc/sys a key names, or None when the key is not a sysctl name."""
    parts = key.split("/") if "/" in key else key.split(".")
    if not key or any(part in ("", ".", "..") or "\0" in part for part in parts):
        return None
    return os.path.join(PROC_SYS, *parts)


def read_sysctl(path):
    """The text of a sysctl file (OSError when it cannot be read, or is not one)."""
    return read_bounded(path, READ_LIMIT, READ_TIMEOUT).decode("utf-8", "replace")


def words(value):
    return value.split()


@check("linux.sysctl", MUST, "config-linux.md#sysctl", needs="linux.sysctl")
def sysctls_are_applied(spec, result):
    """Each linux.sysctl key's file under /proc/sys holds its value."""
    sysctls = spec.dict("linux.sysctl")
    undecided = []
    for key, value in sysctls.items():
        field = f"linux.sysctl[{key}]"
        if not isinstance(value, str):
            result.problem(f"{field}: spec field should be a string, found {value!r}")
            continue
        path = sysctl_path(key)
        if path is None:
            result.problem(f"linux.sysctl[{show(key)}]: not a sysctl name: a key is dotted words "
                           "naming a file under /proc/sys")
            continue
        try:
            found = read_sysctl(path)
        except FileNotFoundError:
            result.fail(field, value, "no such sysctl", why=path)
            continue
        except OSError as error:
            # Some keys are write-only (vm.drop_caches): nothing to read back.
            why = error.strerror if isinstance(error, ReadLimit) else errno.errorcode.get(error.errno, error.errno)
            undecided.append(f"{key} ({why})")
            continue
        if words(found) != words(value):
            result.fail(field, value, " ".join(words(found)), why=path)
    if undecided and len(undecided) == len(sysctls):
        result.skip(f"no key can be read back here: {', '.join(undecided)}")
    if undecided:
        result.note(f"cannot be read back, not compared: {', '.join(undecided)}")
