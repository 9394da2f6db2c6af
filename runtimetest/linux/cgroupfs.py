"""Control groups as the kernel shows them: the cgroup mounts, /proc/PID/cgroup, control files.

One place for the cgroup layout, read by the checker (from inside the
container) and the driver (the host's). A hierarchy is named by its key, as
/proc/PID/cgroup names it: its v1 controllers ("cpu,cpuacct", "name=systemd"),
or "" for the cgroup2 hierarchy. The layout of /sys/fs/cgroup is one of
LAYOUTS: "v1" (v1 hierarchies only), "hybrid" (v1 hierarchies plus a cgroup2
mount below the root, /sys/fs/cgroup/unified) or "v2" (cgroup2 at the root).
Standard library only.
"""

import os

from runtimetest.linux.mountinfo import read_mountinfo

CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_TYPES = ("cgroup", "cgroup2")
V1, HYBRID, V2 = "v1", "hybrid", "v2"
LAYOUTS = (V1, HYBRID, V2)
# The key of the cgroup2 hierarchy in /proc/PID/cgroup, and its name in host facts.
UNIFIED_KEY, UNIFIED_NAME = "", "unified"
# Superblock options of a v1 cgroup mount that name no controller.
NOT_CONTROLLERS = {"rw", "ro", "nosuid", "nodev", "noexec", "relatime", "noatime", "clone_children",
                   "xattr", "cpuset_v2_mode", "noprefix", "nsdelegate", "favordynmods",
                   "memory_localevents", "memory_recursiveprot", "memory_hugetlb_accounting", "seclabel"}
# Controllers that exist only in cgroup v1: cgroup v2 has no interface for them.
V1_ONLY = {"net_cls", "net_prio"}
# v1 controllers whose cgroup v2 successor has another name.
V2_NAMES = {"blkio": "io", "cpuacct": "cpu"}


# -- the mounts ------------------------------------------------------------------

def within(point, root):
    return point == root or point.startswith(root.rstrip("/") + "/")


def cgroup_mounts(entries, root=None):
    """The cgroup and cgroup2 mounts among mount entries (at or under `root` when given)."""
    return [e for e in entries if e.fstype in CGROUP_TYPES and (root is None or within(e.mount_point, root))]


def controllers(entry):
    """The controllers (and name=) a v1 cgroup mount carries, from its options; [] for cgroup2."""
    if entry.fstype != "cgroup":
        return []
    return [o for o in entry.super_options
            if o and o not in NOT_CONTROLLERS and ("=" not in o or o.startswith("name="))]


def hierarchy_key(entry):
    """What /proc/PID/cgroup names the hierarchy a cgroup mount shows by."""
    return UNIFIED_KEY if entry.fstype == "cgroup2" else ",".join(controllers(entry))


def hierarchies(entries):
    """{hierarchy key: mount point} of the cgroup mounts (the first mount of each hierarchy)."""
    found = {}
    for entry in cgroup_mounts(entries):
        found.setdefault(hierarchy_key(entry), entry.mount_point)
    return found


def layout(entries, root=CGROUP_ROOT):
    """How `root` is laid out (one of LAYOUTS), from the cgroup mounts at or under it; None without any."""
    mounts = cgroup_mounts(entries, root)
    if not mounts:
        return None
    if any(m.fstype == "cgroup2" and m.mount_point == root for m in mounts):
        return V2
    return HYBRID if any(m.fstype == "cgroup2" for m in mounts) else V1


def kernel_controllers(path="/proc/cgroups"):
    """The cgroup v1 controllers this kernel has (the first column of /proc/cgroups)."""
    try:
        with open(path) as handle:
            return {line.split()[0] for line in handle if line.strip() and not line.startswith("#")}
    except OSError:
        return set()


# -- /proc/PID/cgroup --------------------------------------------------------------

def parse_proc_cgroup(text):
    """/proc/<pid>/cgroup as (hierarchy id, [controllers], path) tuples."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            entries.append((parts[0], [c for c in parts[1].split(",") if c], parts[2]))
    return entries


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""  # nothing to go by: the process is gone, or has no cgroups


def memberships(pid="self", proc="/proc"):
    """{hierarchy key: cgroup path} of a process, as /proc/PID/cgroup lists them; {} if it is gone."""
    text = read_text(os.path.join(proc, str(pid), "cgroup"))
    return {",".join(names): path for _, names, path in parse_proc_cgroup(text)}


# -- one cgroup's files ----------------------------------------------------------------

class CgroupUnavailable(Exception):
    """The container's cgroup for a controller cannot be read; `decidable` says whether that is a fault."""

    def __init__(self, message, decidable):
        super().__init__(message)
        self.decidable = decidable


class Cgroup:
    """One controller's cgroup directory, and which cgroup version shows it."""

    def __init__(self, version, path):
        self.version = version
        self.path = path

    def read(self, name):
        """A control file's text (stripped), or None when the file does not exist."""
        from runtimetest.core.bounded import read_bounded  # names come from the spec (linux.resources.unified)

        try:
            return read_bounded(os.path.join(self.path, name)).decode("utf-8", "replace").strip()
        except FileNotFoundError:
            return None

    def has(self, name):
        return os.path.exists(os.path.join(self.path, name))


class CgroupReader:
    """The cgroups this process is in, read through the cgroup mounts under `root`.

    `proc` is the process's /proc directory (/proc/self); both are parameters so
    that unit tests can build a fake tree, mountinfo and cgroup file. A v1
    controller is read from its v1 hierarchy; anything else from the cgroup2 one.
    """

    def __init__(self, root=CGROUP_ROOT, proc="/proc/self"):
        self.root = root.rstrip("/") or "/"
        self.memberships = parse_proc_cgroup(read_text(os.path.join(proc, "cgroup")))
        try:
            entries = read_mountinfo(os.path.join(proc, "mountinfo"))
        except OSError:
            entries = []
        self.mounts = cgroup_mounts(entries, self.root)

    # -- where things are --------------------------------------------------
    def v1_membership(self, controller):
        for hierarchy, names, path in self.memberships:
            if hierarchy != "0" and controller in names:
                return path
        return None

    def v2_membership(self):
        for hierarchy, _, path in self.memberships:
            if hierarchy == "0":
                return path
        return None

    def v1_mount(self, controller):
        for mount in self.mounts:
            if mount.fstype == "cgroup" and controller in controllers(mount):
                return mount
        return None

    def v2_mount(self):
        # The one nearest the root: /sys/fs/cgroup itself on a v2 host.
        mounts = [m for m in self.mounts if m.fstype == "cgroup2"]
        return min(mounts, key=lambda m: len(m.mount_point)) if mounts else None

    @staticmethod
    def own_dir(mount, path):
        """The directory showing cgroup `path` through `mount`, or None when it does not show it."""
        root = mount.root.rstrip("/")
        if path != root and not path.startswith(root + "/") and root:
            return None
        below = path[len(root):].strip("/")
        return os.path.join(mount.mount_point, below) if below else mount.mount_point

    def cgroup(self, controller):
        """The container's cgroup for a controller; CgroupUnavailable says why not."""
        mount = self.v1_mount(controller)
        if mount is not None:
            return self._through(mount, self.v1_membership(controller), 1, controller)
        mount = self.v2_mount()
        unified_layout = mount is not None and mount.mount_point == self.root
        # With cgroup2 at the root, v1 hierarchies the host still has are not the runtime's.
        if self.v1_membership(controller) is not None and not unified_layout:
            raise CgroupUnavailable(f"the {controller} hierarchy is not mounted in the container", False)
        if controller in V1_ONLY:
            if mount is not None:
                raise CgroupUnavailable(f"{controller} is a cgroup v1 controller; "
                                        "the container's cgroups are v2", False)
            return self._missing(controller)
        if mount is None:
            return self._missing(controller)
        group = self._through(mount, self.v2_membership(), 2, controller)
        enabled = (group.read("cgroup.controllers") or "").split()
        controller = V2_NAMES.get(controller, controller)
        if controller not in enabled:
            raise CgroupUnavailable(f"the {controller} controller is not enabled in the container's cgroup "
                                    f"(cgroup.controllers: {' '.join(enabled) or 'empty'})", True)
        return group

    def unified(self):
        """The container's cgroup2 cgroup (for linux.resources.unified)."""
        mount = self.v2_mount()
        if mount is None:
            raise CgroupUnavailable("no cgroup2 filesystem is mounted in the container", False)
        return self._through(mount, self.v2_membership(), 2, "cgroup2")

    def _through(self, mount, path, version, controller):
        if path is None:
            raise CgroupUnavailable(f"/proc/self/cgroup names no {controller} cgroup", False)
        directory = self.own_dir(mount, path)
        if directory is None or not os.path.isdir(directory):
            raise CgroupUnavailable(f"the {controller} mount at {mount.mount_point} shows cgroup "
                                    f"{mount.root}, not this process's {path}", False)
        return Cgroup(version, directory)

    def _missing(self, controller):
        if not self.mounts:
            raise CgroupUnavailable(f"no cgroup filesystem is mounted under {self.root} in the container", False)
        raise CgroupUnavailable(f"the container's cgroups have no {controller} controller "
                                "(no v1 hierarchy, nor enabled in a cgroup2 one)", True)
