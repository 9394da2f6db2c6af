"""What a container holds on the host, as the driver sees it from outside.

For the lifecycle steps that judge what `create` made and `delete` released:
the cgroups a process is in (/proc/PID/cgroup, under each hierarchy's mount
point), the namespaces it is in (/proc/PID/ns) and who still holds one (a
process in it, an open descriptor, a bind mount of nsfs), and the host's mounts
that name a container's bundle or id. Also the cgroups the driver makes itself:
one to run the runtime in (so that a relative cgroupsPath has a known place to
be relative to) and one to move a container process into (a resource the
runtime did not make, which its `delete` must leave).
"""

import errno
import os
import time

from runtimetest.driver.cgroups import hierarchies
from runtimetest.linux import cgroupfs
from runtimetest.linux.mountinfo import MOUNTINFO, MOUNTS, read_mountinfo

CGROUP_ROOT = cgroupfs.CGROUP_ROOT
NAMESPACE_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


# -- cgroups ---------------------------------------------------------------------

def memberships(pid="self"):
    """{hierarchy key: cgroup path} of a process, as /proc/PID/cgroup lists them; {} if it is gone."""
    return cgroupfs.memberships(pid)


def directories(pid, mounts=MOUNTS):
    """{hierarchy key: directory} of each cgroup a process is in, where the host mounts that hierarchy."""
    points = hierarchies(mounts)
    return {key: os.path.join(points[_key(points, key)], path.lstrip("/"))
            for key, path in memberships(pid).items() if _key(points, key) is not None}


def _key(points, key):
    """The mount's key for a /proc/PID/cgroup key (the kernel lists controllers in its own order)."""
    if key in points:
        return key
    wanted = set(key.split(","))
    return next((k for k in points if k and set(k.split(",")) == wanted), None)


class MadeCgroup:
    """A cgroup the driver made in every hierarchy (or one): its directories, removed at the end."""

    def __init__(self, relative, only=None, mounts=MOUNTS):
        self.relative = relative.strip("/")
        self.made = []  # directories created, parents first
        self.places = {}  # hierarchy key -> directory
        points = hierarchies(mounts)
        keys = [key for key in points if only is None or only in key.split(",")]
        if not keys and "" in points:
            keys = [""]  # no v1 hierarchy has the controller: the unified one holds them all
        for key in keys:
            self.places[key] = self._make(points[key])

    def _make(self, point):
        path = point
        for part in self.relative.split("/"):
            parent, path = path, os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path)
                self.made.append(path)
                _inherit_cpuset(parent, path)
        return path

    def procs_files(self):
        return [os.path.join(path, "cgroup.procs") for path in self.places.values()]

    def path(self):
        """The cgroup path (as /proc/PID/cgroup shows it from the host's cgroup namespace)."""
        return "/" + self.relative

    def memberships(self):
        """{hierarchy key: cgroup path}, as /proc/PID/cgroup shows a process in this cgroup."""
        return {key: self.path() for key in memberships("self")}

    def join(self, pid):
        """Move process `pid` into this cgroup, in every hierarchy it was made in."""
        for procs in self.procs_files():
            with open(procs, "w") as handle:
                handle.write(str(pid))

    def missing(self):
        """The directories of this cgroup that no longer exist."""
        return sorted(path for path in self.places.values() if not os.path.isdir(path))

    def remove(self, settle=2.0):
        """Remove what the driver made (deepest first); a cgroup still in use stays."""
        deadline = time.monotonic() + settle
        below = [os.path.join(top, name) for place in self.places.values()
                 for top, names, _ in os.walk(place, topdown=False) for name in names]
        for path in below + list(reversed(self.made)):
            while True:
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno == errno.EBUSY and time.monotonic() < deadline:
                        time.sleep(0.05)
                        continue
                    break
                break


def _inherit_cpuset(parent, path):
    """A new v1 cpuset cgroup has no cpus and mems: no process can join it until it gets its parent's."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        mine = os.path.join(path, name)
        if not os.path.exists(mine):
            return
        with open(mine) as handle:
            if handle.read().strip():
                continue
        if not os.path.exists(os.path.join(parent, name)):
            return  # below the cgroup2 root: an empty cpuset there is the parent's, nothing to copy
        with open(os.path.join(parent, name)) as handle:
            value = handle.read().strip()
        with open(mine, "w") as handle:
            handle.write(value)


# -- namespaces --------------------------------------------------------------------

def namespaces(pid="self"):
    """{type: "net:[4026531840]"} of a process; {} if it is gone."""
    found = {}
    for kind in NAMESPACE_TYPES:
        try:
            found[kind] = os.readlink(f"/proc/{pid}/ns/{kind}")
        except OSError:
            pass
    return found


def now_ticks():
    """Clock ticks since boot now, as /proc/PID/stat counts a process's start."""
    with open("/proc/uptime") as handle:
        return int(float(handle.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def root_of(pid):
    """What a process's mount namespace has at / (mountinfo's root and source of that mount), or None."""
    try:
        entries = read_mountinfo(f"/proc/{pid}/mountinfo")
    except (OSError, ValueError):
        return None
    at_root = [entry for entry in entries if entry.mount_point == "/"]
    return (at_root[-1].root, at_root[-1].source) if at_root else None


def holders(namespace, born_before=None, mountinfo=MOUNTINFO, root=None):
    """Who keeps a namespace ("net:[4026531840]") alive on the host: processes in it,
    processes with a descriptor of it open, nsfs bind mounts of it (as words).

    The kernel reuses a released namespace's inode number: with `born_before`
    (clock ticks since boot), a process started later is not counted, as it
    can only be in a namespace of that number that is not the one released
    (it had to get the old one from a holder, which is counted itself). A
    process started earlier may still make a namespace later (runc's init
    unshares after it is forked), so with `root` (root_of the released mount
    namespace's process) a process in a mount namespace of that number whose
    / is another is not counted either: another container's, under load.
    """
    from runtimetest.driver.children import start_time

    kind = namespace.split(":", 1)[0]
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        started = start_time(int(name)) if born_before is not None else None
        if started is not None and started > born_before:
            continue
        try:
            if os.readlink(f"/proc/{name}/ns/{kind}") == namespace:
                if kind != "mnt" or root is None or root_of(name) in (root, None):
                    found.append(f"process {name}")
                continue
        except OSError:
            continue
        if _has_open(name, namespace):
            found.append(f"an open descriptor of process {name}")
    found.extend(f"a bind mount at {point}" for point in nsfs_mounts(namespace, mountinfo))
    return found


def _has_open(pid, namespace):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == namespace:
                return True
        except OSError:
            continue
    return False


def nsfs_mounts(namespace, mountinfo=MOUNTINFO):
    return [e.mount_point for e in _mountinfo(mountinfo) if e.fstype == "nsfs" and e.root == namespace]


# -- mounts ----------------------------------------------------------------------------

def _mountinfo(path):
    try:
        return read_mountinfo(path)
    except OSError:
        return []


def mounts_naming(markers, mountinfo=MOUNTINFO):
    """Mount points of the host's mount table whose point or root names one of `markers`
    (a bundle's directory, a container's id)."""
    return [e.mount_point for e in _mountinfo(mountinfo)
            if any(marker and (marker in e.mount_point or marker in e.root) for marker in markers)]
