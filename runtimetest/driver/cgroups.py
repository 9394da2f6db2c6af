"""The host's cgroups, as the driver sees them (never imported by the checker)."""

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def is_unified(root=CGROUP_ROOT):
    """True on a pure cgroup v2 host (cgroup.controllers at the root)."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def mode(mounts="/proc/self/mounts"):
    """How this host mounts cgroups: "unified" (v2 only), "hybrid" (v1 controllers
    plus a cgroup2 at /sys/fs/cgroup/unified) or "legacy" (v1 only)."""
    types = {}
    try:
        with open(mounts) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 3:
                    types[fields[1]] = fields[2]
    except OSError:
        return "unified" if is_unified() else "legacy"
    if types.get(CGROUP_ROOT) == "cgroup2":
        return "unified"
    if types.get(CGROUP_ROOT + "/unified") == "cgroup2":
        return "hybrid"
    return "legacy"


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
