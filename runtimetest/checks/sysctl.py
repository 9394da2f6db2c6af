"""linux.sysctl (config-linux.md "Sysctl").

Each key names a file under /proc/sys (dots, or slashes, separate the parts, as
sysctl(8) takes them); the file must hold the value. Values are compared as
whitespace-separated words: the kernel prints a vector such as
net.ipv4.ip_local_port_range with tabs and a trailing newline.
"""

import errno
import os

from ..registry import MUST, check

PROC_SYS = "/proc/sys"


def sysctl_path(key):
    parts = key.split("/") if "/" in key else key.split(".")
    return os.path.join(PROC_SYS, *[p for p in parts if p])


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
        try:
            with open(sysctl_path(key)) as handle:
                found = handle.read()
        except FileNotFoundError:
            result.fail(field, value, "no such sysctl", why=sysctl_path(key))
            continue
        except OSError as error:
            # Some keys are write-only (vm.drop_caches): nothing to read back.
            undecided.append(f"{key} ({errno.errorcode.get(error.errno, error.errno)})")
            continue
        if words(found) != words(value):
            result.fail(field, value, " ".join(words(found)), why=sysctl_path(key))
    if undecided and len(undecided) == len(sysctls):
        result.skip(f"no key can be read back here: {', '.join(undecided)}")
    if undecided:
        result.note(f"cannot be read back, not compared: {', '.join(undecided)}")
