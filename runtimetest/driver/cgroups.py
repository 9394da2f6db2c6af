"""The host's cgroups, as the driver sees them (never imported by the checker)."""

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def is_unified(root=CGROUP_ROOT):
    """True on a pure cgroup v2 host (cgroup.controllers at the root)."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


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
