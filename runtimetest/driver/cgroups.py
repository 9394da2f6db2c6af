"""The host's cgroups, as the driver sees them (never imported by the checker)."""

import os

from runtimetest.linux import cgroupfs
from runtimetest.linux.mountinfo import MOUNTS, read_mounts

CGROUP_ROOT = cgroupfs.CGROUP_ROOT


def is_unified(root=CGROUP_ROOT):
    """True on a pure cgroup v2 host (cgroup.controllers at the root)."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def mode(mounts=MOUNTS):
    """How this host mounts cgroups: one of cgroupfs.LAYOUTS ("v1", "hybrid", "v2")."""
    found = cgroupfs.layout(read_mounts(mounts), CGROUP_ROOT)
    if found is None:  # the table could not be read, or shows no cgroup mount
        return cgroupfs.V2 if is_unified() else cgroupfs.V1
    return found


def _read_int(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def peak_memory(cgroups_path, root=CGROUP_ROOT):
    """Peak memory use in bytes of a cgroupfs-style cgroup path, or None if not shown.

    cgroup v2 shows it as memory.peak (Linux 5.19+); v1 as memory.max_usage_in_bytes
    under the memory controller's hierarchy.
    """
    if not isinstance(cgroups_path, str) or not cgroups_path.startswith("/"):
        return None  # relative or systemd-style paths are the runtime's to place
    relative = cgroups_path.lstrip("/")
    if is_unified(root):
        return _read_int(os.path.join(root, relative, "memory.peak"))
    return _read_int(os.path.join(root, "memory", relative, "memory.max_usage_in_bytes"))


def hierarchies(mounts=MOUNTS):
    """{hierarchy key: mount point} of the host's cgroup hierarchies: the key is what /proc/PID/cgroup
    names one by (its controllers, as "cpu,cpuacct" or "name=systemd"; "" for cgroup2)."""
    return cgroupfs.hierarchies(read_mounts(mounts))


def remove_empty(cgroups_path, mounts=MOUNTS, settle=1.0):
    """Remove what is left of a container's cgroup (cgroupfs-style path) once it is gone.

    A runtime that loses a container's record never deletes its cgroup; rmdir
    only ever removes a cgroup with no process and no child, so this cannot
    touch one in use. Returns the directories removed.
    """
    if not isinstance(cgroups_path, str) or not cgroups_path.startswith("/") or cgroups_path == "/":
        return []
    import errno
    import time

    removed = []
    deadline = time.monotonic() + settle
    for point in hierarchies(mounts).values():
        path = os.path.join(point, cgroups_path.lstrip("/"))
        while True:
            try:
                os.rmdir(path)
            except OSError as error:
                # EBUSY: its last processes are still being reaped; give them a moment.
                if error.errno == errno.EBUSY and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                break
            removed.append(path)
            break
    return removed
