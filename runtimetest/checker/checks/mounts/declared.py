"""The spec's mounts matched to the mounts the process sees (what every mounts.* check starts from)."""

import os

from runtimetest.core import facts
from runtimetest.linux import mountinfo
from runtimetest.linux.mountinfo import children_of, stacked_at

MOUNTS = "config.md#mounts"


class Declared:
    """One entry of the spec's mounts array and the mount found for it (or None)."""

    def __init__(self, index, view):
        self.index = index
        self.view = view
        self.field = f"mounts[{index}]"
        self.destination = view.str("destination")
        self.type = view.str("type")
        self.source = view.str("source")
        self.options = view.strings("options", [])
        self.entry = None
        self.covered = None  # whether a later mount hides this one

    @property
    def bind(self):
        return self.type == "bind" or "bind" in self.options or "rbind" in self.options

    @property
    def cgroup(self):
        return self.type in ("cgroup", "cgroup2")


def declared_mounts(spec):
    """Each declared mount, matched to the mount stacked at its destination.

    The k-th declared mount for a destination is the k-th mount stacked there:
    anything a runtime adds at the same place (a read-only remount, a mask)
    comes after what was declared.
    """
    entries = mountinfo.read_mountinfo()
    declared = [Declared(index, view) for index, view in enumerate(spec.items("mounts"))]
    used = {}
    for mount in declared:
        if not mount.destination or not mount.destination.startswith("/"):
            continue
        path = os.path.normpath(mount.destination)
        stack = stacked_at(entries, path)
        k = used.get(path, 0)
        if k < len(stack):
            mount.entry = stack[k]
        used[path] = k + 1
    return declared, entries


def host_fact(spec, index, name):
    return spec.annotation(facts.mount_fact(index, name))


def cgroup_hierarchies(entries, entry):
    """On a cgroup v1 host a runtime mounts a tmpfs holding one cgroup mount per controller."""
    if entry.fstype in ("cgroup", "cgroup2"):
        return [entry]
    if entry.fstype == "tmpfs":
        return [e for e in children_of(entries, entry) if e.fstype in ("cgroup", "cgroup2")]
    return []


def within(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")
