"""linux.cgroupsPath and linux.resources: the container's own cgroup, as the process
sees it (config-linux.md "Control groups").

The container's cgroup is found from inside: /proc/self/cgroup says which
cgroup of each hierarchy the process is in, /proc/self/mountinfo where each
hierarchy is mounted and which of its cgroups the mount shows as its root.
`CgroupReader` does that for a root directory it is given (/sys/fs/cgroup), so
unit tests can point it at a fake cgroup v1 or v2 tree. A v1 controller is read
from its v1 hierarchy; anything else from the cgroup2 hierarchy.

Each resource is compared with the file the kernel shows for it (memory.max or
memory.limit_in_bytes, ...). Two limits a sandbox relies on are also probed in
forked children, bounded in size and time: forking past pids.limit must fail
with EAGAIN, and a child allocating past the memory limit must be refused or
killed while the checker survives.
"""

import errno
import os
import time

from runtimetest.core.registry import MUST, check
from runtimetest.checker.checks.namespaces import HOST_NS, inode_fact, own_namespace

CGROUP_ROOT = "/sys/fs/cgroup"
HOST_CGROUP = "org.runtimetest.host.cgroup."
# Written by the driver when the runtime is run without cgroup management
# ("not applied: <why>"), e.g. crun on a hybrid host: nothing to check then.
CGROUP_LIMITS = "org.runtimetest.cgroup-limits"


def skip_without_cgroup_management(spec, result):
    state = spec.annotation(CGROUP_LIMITS)
    if state and state.startswith("not applied"):
        result.skip(f"the runtime was run without cgroup management: {state}")
# Controllers that exist only in cgroup v1: cgroup v2 has no interface for them.
V1_ONLY = {"net_cls", "net_prio"}
# v1 controllers whose cgroup v2 successor has another name.
V2_NAMES = {"blkio": "io", "cpuacct": "cpu"}
UNLIMITED = "max"
# The kernel shows "no limit" as the largest page-aligned 63-bit count.
UNLIMITED_FROM = 2**62


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
    that unit tests can build a fake tree, mountinfo and cgroup file.
    """

    def __init__(self, root=CGROUP_ROOT, proc="/proc/self"):
        self.root = root.rstrip("/") or "/"
        self.memberships = parse_proc_cgroup(read_text(os.path.join(proc, "cgroup")))
        self.mounts = [m for m in parse_cgroup_mounts(read_text(os.path.join(proc, "mountinfo")))
                       if m["point"] == self.root or m["point"].startswith(self.root + "/")]

    # -- where things are --------------------------------------------------
    def v1_membership(self, controller):
        for hierarchy, controllers, path in self.memberships:
            if hierarchy != "0" and controller in controllers:
                return path
        return None

    def v2_membership(self):
        for hierarchy, controllers, path in self.memberships:
            if hierarchy == "0":
                return path
        return None

    def v1_mount(self, controller):
        for mount in self.mounts:
            if mount["fstype"] == "cgroup" and controller in mount["controllers"]:
                return mount
        return None

    def v2_mount(self):
        # The one nearest the root: /sys/fs/cgroup itself on a v2 host.
        mounts = [m for m in self.mounts if m["fstype"] == "cgroup2"]
        return min(mounts, key=lambda m: len(m["point"])) if mounts else None

    @staticmethod
    def own_dir(mount, path):
        """The directory showing cgroup `path` through `mount`, or None when it does not show it."""
        root = mount["root"].rstrip("/")
        if path != root and not path.startswith(root + "/") and root:
            return None
        below = path[len(root):].strip("/")
        return os.path.join(mount["point"], below) if below else mount["point"]

    def cgroup(self, controller):
        """The container's cgroup for a controller; CgroupUnavailable says why not."""
        mount = self.v1_mount(controller)
        if mount is not None:
            return self._through(mount, self.v1_membership(controller), 1, controller)
        mount = self.v2_mount()
        unified_layout = mount is not None and mount["point"] == self.root
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
            raise CgroupUnavailable(f"the {controller} mount at {mount['point']} shows cgroup "
                                    f"{mount['root']}, not this process's {path}", False)
        return Cgroup(version, directory)

    def _missing(self, controller):
        if not self.mounts:
            raise CgroupUnavailable(f"no cgroup filesystem is mounted under {self.root} in the container", False)
        raise CgroupUnavailable(f"the container's cgroups have no {controller} controller "
                                "(no v1 hierarchy, nor enabled in a cgroup2 one)", True)


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""  # nothing to go by: every controller is then unavailable


def parse_proc_cgroup(text):
    """/proc/<pid>/cgroup as (hierarchy id, [controllers], path) tuples."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            entries.append((parts[0], [c for c in parts[1].split(",") if c], parts[2]))
    return entries


def parse_cgroup_mounts(text):
    """The cgroup and cgroup2 mounts of a mountinfo file."""
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        options = rest[2].split(",")
        mounts.append({"fstype": rest[0], "root": unescape(fields[3]), "point": unescape(fields[4]),
                       "controllers": [o for o in options if o not in ("rw", "ro")]})
    return mounts


def unescape(text):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return text.encode().decode("unicode_escape") if "\\" in text else text


_reader = None


def reader():
    global _reader
    if _reader is None:
        _reader = CgroupReader()
    return _reader


# -- comparing values -------------------------------------------------------------

def page_size():
    return os.sysconf("SC_PAGE_SIZE")


def as_number(text):
    """A control file's number; "max" and the kernel's largest counts read as UNLIMITED."""
    if text is None:
        return None
    if text == UNLIMITED:
        return UNLIMITED
    value = int(text)
    return UNLIMITED if value >= UNLIMITED_FROM else value


def bytes_match(expected, found, granule=None):
    """A byte limit as the kernel keeps it: rounded down to a page (or huge page)."""
    if expected is None:
        return True
    if expected < 0:
        return found == UNLIMITED
    if found == UNLIMITED or found is None:
        return False
    granule = granule or page_size()
    return found in (expected, expected // granule * granule)


def shown(value):
    return -1 if value == UNLIMITED else value


def compare_file(result, field, group, name, expected, match=None):
    """Fail `field` unless control file `name` holds `expected` (by `match`, default ==)."""
    text = group.read(name)
    if text is None:
        result.fail(field, expected, None, why=f"{name} is absent from the container's cgroup")
        return
    found = as_number(text) if text.lstrip("-").isdigit() or text == UNLIMITED else text
    ok = match(expected, found) if match else found == expected
    if not ok:
        result.fail(field, expected, shown(found), why=name)


def resource_check(id, section, needs, controller):
    """Declare a linux.resources check whose body gets (spec, result, cgroup)."""
    def register(body):
        def run(spec, result):
            skip_without_cgroup_management(spec, result)
            try:
                group = reader().cgroup(controller)
            except CgroupUnavailable as error:
                if not error.decidable:
                    result.skip(str(error))
                # Asked for, and the container's cgroups have no such controller: not applied.
                result.fail(needs, spec.raw(needs), None, why=str(error))
                return
            body(spec, result, group)

        run.__doc__ = body.__doc__
        run.__name__ = body.__name__
        check(id, MUST, section, needs=needs)(run)
        return body

    return register


# -- linux.cgroupsPath -------------------------------------------------------------

@check("linux.cgroupsPath", MUST, "config-linux.md#cgroups-path", needs="linux.cgroupsPath")
def cgroups_path_is_applied(spec, result):
    """The process is in the cgroup at linux.cgroupsPath (relative to the runtime's cgroup mounts)."""
    wanted = spec.str("linux.cgroupsPath")
    skip_without_cgroup_management(spec, result)
    if new_cgroup_namespace(spec):
        result.skip("the container has a cgroup namespace of its own, rooted at its cgroup: "
                    "from inside, the cgroup path shows as /")
    memberships = managed_memberships(spec)
    if not memberships:
        result.skip("no cgroup hierarchy the runtime manages can be seen from inside")
    if not wanted.startswith("/"):
        placed = [path for _, path in memberships if path.rstrip("/").endswith("/" + wanted.strip("/"))]
        if len(placed) == len(memberships):
            return
        result.skip(f"a relative cgroupsPath is placed where the runtime decides; "
                    f"found {sorted({p for _, p in memberships})}")
    wrong = {}
    for name, path in memberships:
        root = spec.annotation(f"{HOST_CGROUP}root.{name}") or "/"
        expected = clean_path(root + "/" + wanted)
        if clean_path(path) != expected:
            wrong.setdefault((expected, path), []).append(name)
    for (expected, path), names in sorted(wrong.items()):
        result.fail("linux.cgroupsPath", expected, path,
                    why=f"the {', '.join(sorted(names))} cgroup in /proc/self/cgroup")


def clean_path(path):
    return "/" + "/".join(part for part in path.split("/") if part)


def new_cgroup_namespace(spec):
    host = inode_fact(spec, HOST_NS + "cgroup")
    mine = own_namespace("cgroup")
    if host is not None and mine is not None:
        return mine != host
    return any(e.str("type") == "cgroup" and not e.str("path") for e in spec.items("linux.namespaces"))


def managed_memberships(spec):
    """(name, path) of each hierarchy the runtime places the container in: those mounted
    in the container, or, without mounts, those of the runtime's cgroup layout."""
    r = reader()
    mounted = []
    for hierarchy, controllers, path in r.memberships:
        if hierarchy == "0":
            if r.v2_mount() is not None:
                mounted.append(("unified", path))
        else:
            mounted.extend((c, path) for c in controllers
                           if r.v1_mount(c) is not None and not c.startswith("name="))
    if mounted:
        return mounted
    mode = spec.annotation(HOST_CGROUP + "mode")
    if mode == "v2":
        return [("unified", p) for h, _, p in r.memberships if h == "0"]
    return [(c, p) for h, cs, p in r.memberships if h != "0" for c in cs if not c.startswith("name=")]


# -- memory ---------------------------------------------------------------------------

MEMORY = "config-linux.md#memory"


@resource_check("linux.resources.memory.limit", MEMORY, "linux.resources.memory.limit", "memory")
def memory_limit_is_applied(spec, result, group):
    """The container's memory limit (memory.max, memory.limit_in_bytes) is linux.resources.memory.limit."""
    name = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
    compare_file(result, "linux.resources.memory.limit", group, name,
                 spec.int("linux.resources.memory.limit"), bytes_match)


@resource_check("linux.resources.memory.reservation", MEMORY, "linux.resources.memory.reservation", "memory")
def memory_reservation_is_applied(spec, result, group):
    """The soft limit (memory.low, memory.soft_limit_in_bytes) is linux.resources.memory.reservation."""
    name = "memory.low" if group.version == 2 else "memory.soft_limit_in_bytes"
    compare_file(result, "linux.resources.memory.reservation", group, name,
                 spec.int("linux.resources.memory.reservation"), bytes_match)


@resource_check("linux.resources.memory.swap", MEMORY, "linux.resources.memory.swap", "memory")
def memory_swap_is_applied(spec, result, group):
    """The memory+swap limit is linux.resources.memory.swap (v2: memory.max + memory.swap.max)."""
    swap = spec.int("linux.resources.memory.swap")
    if group.version == 1:
        if not group.has("memory.memsw.limit_in_bytes"):
            result.skip("swap accounting is off in this kernel (no memory.memsw.limit_in_bytes)")
        compare_file(result, "linux.resources.memory.swap", group, "memory.memsw.limit_in_bytes", swap,
                     bytes_match)
        return
    limit = spec.int("linux.resources.memory.limit")
    if swap >= 0 and (limit is None or limit < 0):
        result.skip("cgroup v2 limits swap apart from memory: a swap limit without a memory limit has no v2 value")
    # v2 keeps swap apart (memory.swap.max = swap - limit): their sum is the memory+swap limit.
    memory, only_swap = (as_number(group.read(name)) for name in ("memory.max", "memory.swap.max"))
    if memory is None or only_swap is None:
        absent = "memory.max" if memory is None else "memory.swap.max"
        result.fail("linux.resources.memory.swap", swap, None, why=f"{absent} is absent from the container's cgroup")
        return
    found = UNLIMITED if UNLIMITED in (memory, only_swap) else memory + only_swap
    if not bytes_match(swap, found):
        result.fail("linux.resources.memory.swap", swap, shown(found),
                    why=f"memory.max + memory.swap.max: {shown(memory)} + {shown(only_swap)}")


@resource_check("linux.resources.memory.swappiness", MEMORY, "linux.resources.memory.swappiness", "memory")
def memory_swappiness_is_applied(spec, result, group):
    """memory.swappiness is linux.resources.memory.swappiness (cgroup v1)."""
    if group.version == 2:
        result.skip("cgroup v2 has no per-cgroup swappiness")
    compare_file(result, "linux.resources.memory.swappiness", group, "memory.swappiness",
                 spec.int("linux.resources.memory.swappiness"))


@resource_check("linux.resources.memory.disableOOMKiller", MEMORY,
                "linux.resources.memory.disableOOMKiller", "memory")
def oom_killer_setting_is_applied(spec, result, group):
    """oom_kill_disable in memory.oom_control is 1 exactly when disableOOMKiller is true (cgroup v1)."""
    if group.version == 2:
        result.skip("cgroup v2 has no switch to disable a cgroup's OOM killer")
    expected = spec.bool("linux.resources.memory.disableOOMKiller")
    control = dict(line.split() for line in (group.read("memory.oom_control") or "").splitlines()
                   if len(line.split()) == 2)
    found = control.get("oom_kill_disable")
    if found != ("1" if expected else "0"):
        result.fail("linux.resources.memory.disableOOMKiller", expected,
                    None if found is None else found == "1", why="memory.oom_control oom_kill_disable")


# -- cpu -------------------------------------------------------------------------------

CPU = "config-linux.md#cpu"


def weight_from_shares(shares):
    """cgroup v2 cpu.weight for v1 shares, by the conversions runtimes use."""
    import math

    linear = 1 + ((shares - 2) * 9999) // 262142  # runc, crun before 1.10
    log = math.log2(max(shares, 2))
    curve = math.ceil(10 ** ((log * log + 125 * log) / 612.0 - 7.0 / 34.0))  # crun 1.10 and later
    return sorted({min(max(linear, 1), 10000), min(max(curve, 1), 10000)})


@resource_check("linux.resources.cpu.shares", CPU, "linux.resources.cpu.shares", "cpu")
def cpu_shares_are_applied(spec, result, group):
    """cpu.shares is linux.resources.cpu.shares (v2: cpu.weight, converted)."""
    shares = spec.int("linux.resources.cpu.shares")
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.shares", group, "cpu.shares", shares)
        return
    accepted = weight_from_shares(shares)
    text = group.read("cpu.weight")
    if text is None:
        result.fail("linux.resources.cpu.shares", shares, None, why="cpu.weight is absent from the container's cgroup")
    elif int(text) not in accepted:
        result.fail("linux.resources.cpu.shares", shares, int(text),
                    why=f"cpu.weight: shares {shares} convert to {' or '.join(map(str, accepted))}")


def cpu_max(group):
    """cgroup v2 cpu.max as (quota, period); quota is -1 for "max"."""
    fields = (group.read("cpu.max") or "").split()
    if len(fields) != 2:
        return None, None
    return (-1 if fields[0] == UNLIMITED else int(fields[0])), int(fields[1])


def compare_cpu_max(result, field, group, expected, index):
    found = cpu_max(group)[index]
    if found != expected:
        result.fail(field, expected, found, why="cpu.max")


@resource_check("linux.resources.cpu.quota", CPU, "linux.resources.cpu.quota", "cpu")
def cpu_quota_is_applied(spec, result, group):
    """The CFS quota (cpu.cfs_quota_us, cpu.max) is linux.resources.cpu.quota."""
    quota = spec.int("linux.resources.cpu.quota")
    expected = -1 if quota <= 0 else quota
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.quota", group, "cpu.cfs_quota_us", expected,
                     lambda e, f: shown(f) == e)
    else:
        compare_cpu_max(result, "linux.resources.cpu.quota", group, expected, 0)


@resource_check("linux.resources.cpu.period", CPU, "linux.resources.cpu.period", "cpu")
def cpu_period_is_applied(spec, result, group):
    """The CFS period (cpu.cfs_period_us, cpu.max) is linux.resources.cpu.period."""
    period = spec.int("linux.resources.cpu.period")
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.period", group, "cpu.cfs_period_us", period)
    else:
        compare_cpu_max(result, "linux.resources.cpu.period", group, period, 1)


@resource_check("linux.resources.cpu.burst", CPU, "linux.resources.cpu.burst", "cpu")
def cpu_burst_is_applied(spec, result, group):
    """The CFS burst (cpu.cfs_burst_us, cpu.max.burst) is linux.resources.cpu.burst."""
    name = "cpu.max.burst" if group.version == 2 else "cpu.cfs_burst_us"
    compare_file(result, "linux.resources.cpu.burst", group, name, spec.int("linux.resources.cpu.burst"))


def compare_realtime(spec, result, group, field, name, matches=None):
    """Real-time bandwidth is a cgroup v1 file, present only with RT group scheduling."""
    if group.version == 2:
        result.skip("cgroup v2 has no real-time bandwidth control")
    if not group.has(name):
        result.skip(f"this kernel has no real-time group scheduling (no {name})")
    compare_file(result, field, group, name, spec.int(field), matches)


@resource_check("linux.resources.cpu.realtimeRuntime", CPU, "linux.resources.cpu.realtimeRuntime", "cpu")
def cpu_rt_runtime_is_applied(spec, result, group):
    """cpu.rt_runtime_us is linux.resources.cpu.realtimeRuntime (cgroup v1)."""
    compare_realtime(spec, result, group, "linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us",
                     lambda e, f: shown(f) == e)


@resource_check("linux.resources.cpu.realtimePeriod", CPU, "linux.resources.cpu.realtimePeriod", "cpu")
def cpu_rt_period_is_applied(spec, result, group):
    """cpu.rt_period_us is linux.resources.cpu.realtimePeriod (cgroup v1)."""
    compare_realtime(spec, result, group, "linux.resources.cpu.realtimePeriod", "cpu.rt_period_us")


@resource_check("linux.resources.cpu.idle", CPU, "linux.resources.cpu.idle", "cpu")
def cpu_idle_is_applied(spec, result, group):
    """cpu.idle is linux.resources.cpu.idle."""
    if not group.has("cpu.idle"):
        result.skip("this kernel has no cpu.idle (Linux < 5.15)")
    compare_file(result, "linux.resources.cpu.idle", group, "cpu.idle", spec.int("linux.resources.cpu.idle"))


def cpu_list(text):
    """A Linux CPU or node list ("0-3,7") as a sorted list of numbers."""
    numbers = set()
    for part in text.replace(" ", "").split(","):
        if part:
            low, _, high = part.partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    return sorted(numbers)


def compare_list(result, field, group, name, text):
    try:
        expected = cpu_list(text)
    except ValueError:
        result.problem(f"{field}: {text!r} is not a list like 0-3,7")
        return
    found = group.read(name)
    found_list = None if found is None else cpu_list(found)
    if found_list != expected:
        result.fail(field, text, found, why=name)


@resource_check("linux.resources.cpu.cpus", CPU, "linux.resources.cpu.cpus", "cpuset")
def cpuset_cpus_are_applied(spec, result, group):
    """cpuset.cpus lists exactly the CPUs of linux.resources.cpu.cpus."""
    compare_list(result, "linux.resources.cpu.cpus", group, "cpuset.cpus", spec.str("linux.resources.cpu.cpus"))


@resource_check("linux.resources.cpu.mems", CPU, "linux.resources.cpu.mems", "cpuset")
def cpuset_mems_are_applied(spec, result, group):
    """cpuset.mems lists exactly the memory nodes of linux.resources.cpu.mems."""
    compare_list(result, "linux.resources.cpu.mems", group, "cpuset.mems", spec.str("linux.resources.cpu.mems"))


# -- pids --------------------------------------------------------------------------------

@resource_check("linux.resources.pids.limit", "config-linux.md#pids", "linux.resources.pids.limit", "pids")
def pids_limit_is_applied(spec, result, group):
    """pids.max is linux.resources.pids.limit ("max" when it is 0 or less)."""
    limit = spec.int("linux.resources.pids.limit")
    compare_file(result, "linux.resources.pids.limit", group, "pids.max", -1 if limit <= 0 else limit,
                 lambda e, f: shown(f) == e)


# -- block I/O --------------------------------------------------------------------------

BLOCK_IO = "config-linux.md#block-io"
THROTTLES = {
    "throttleReadBpsDevice": ("blkio.throttle.read_bps_device", "rbps"),
    "throttleWriteBpsDevice": ("blkio.throttle.write_bps_device", "wbps"),
    "throttleReadIOPSDevice": ("blkio.throttle.read_iops_device", "riops"),
    "throttleWriteIOPSDevice": ("blkio.throttle.write_iops_device", "wiops"),
}


def default_weight(text):
    """The "default N" line of io.weight / io.bfq.weight, or a bare number."""
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "default":
            return int(fields[1])
        if len(fields) == 1 and fields[0].isdigit():
            return int(fields[0])
    return None


@resource_check("linux.resources.blockIO.weight", BLOCK_IO, "linux.resources.blockIO.weight", "blkio")
def blkio_weight_is_applied(spec, result, group):
    """The cgroup's I/O weight (blkio.[bfq.]weight; v2 io.bfq.weight or io.weight) is blockIO.weight."""
    weight = spec.int("linux.resources.blockIO.weight")
    if group.version == 1:
        name = "blkio.weight" if group.has("blkio.weight") else "blkio.bfq.weight"
        accepted = [weight]
    elif group.has("io.bfq.weight"):
        name, accepted = "io.bfq.weight", [weight]
    else:
        # v2's io.weight has another range: runtimes convert 10..1000 to 1..10000.
        name, accepted = "io.weight", sorted({weight, 1 + (weight - 10) * 9999 // 990})
    text = group.read(name)
    found = default_weight(text)
    if found not in accepted:
        result.fail("linux.resources.blockIO.weight", weight, found,
                    why=f"{name}" if text is not None else f"{name} is absent from the container's cgroup")


def io_max(text):
    """cgroup v2 io.max as {"MAJ:MIN": {"rbps": n|-1, ...}}."""
    limits = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if fields:
            limits[fields[0]] = {k: (-1 if v == UNLIMITED else int(v))
                                 for k, _, v in (f.partition("=") for f in fields[1:])}
    return limits


def device_rates(text):
    """A v1 blkio.throttle.* file as {"MAJ:MIN": rate}."""
    return {f[0]: int(f[1]) for f in (line.split() for line in (text or "").splitlines()) if len(f) == 2}


def declare_throttle(key, v1_name, v2_key):
    field = f"linux.resources.blockIO.{key}"

    def throttle_is_applied(spec, result, group):
        if group.version == 1:
            rates = device_rates(group.read(v1_name))
            where = v1_name
        else:
            rates = {dev: limits.get(v2_key) for dev, limits in io_max(group.read("io.max")).items()}
            where = f"io.max {v2_key}"
        for index, entry in enumerate(spec.items(field)):
            device = f"{entry.int('major')}:{entry.int('minor')}"
            rate = entry.int("rate")
            if rates.get(device) != rate:
                result.fail(f"{field}[{index}]", {device: rate}, {device: rates.get(device)}, why=where)

    throttle_is_applied.__doc__ = f"Each {key} rate is the device's limit in {v1_name} (v2: io.max {v2_key})."
    resource_check(field, BLOCK_IO, field, "blkio")(throttle_is_applied)


for _key, (_v1, _v2) in THROTTLES.items():
    declare_throttle(_key, _v1, _v2)


# -- huge pages, network, unified -------------------------------------------------------

HUGE_UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def huge_page_bytes(size):
    """"2MB" -> 2097152 (the spec's sizes use base 1024)."""
    for unit, factor in HUGE_UNITS.items():
        if size.endswith(unit) and size[:-len(unit)].isdigit():
            return int(size[:-len(unit)]) * factor
    return None


def spec_version(spec):
    """(major, minor) of the spec's ociVersion; (1, 0) when it cannot be read."""
    parts = (spec.str("ociVersion") or "").split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 1, 0


@resource_check("linux.resources.hugepageLimits", "config-linux.md#huge-page-limits",
                "linux.resources.hugepageLimits", "hugetlb")
def hugepage_limits_are_applied(spec, result, group):
    """Each hugepageLimits entry is its page size's hugetlb limit: usage (1.0), else reservation where kept."""
    # Runtime-spec 1.0 limits usage; 1.1 made it the reservation limit where the kernel has one.
    reservations = spec_version(spec) >= (1, 1)
    for index, entry in enumerate(spec.items("linux.resources.hugepageLimits")):
        size, limit = entry.str("pageSize"), entry.int("limit")
        granule = huge_page_bytes(size or "")
        if granule is None:
            result.problem(f"linux.resources.hugepageLimits[{index}].pageSize: {size!r} is not like 2MB")
            continue
        suffix = "max" if group.version == 2 else "limit_in_bytes"
        name = f"hugetlb.{size}.rsvd.{suffix}"
        if not reservations or not group.has(name):
            name = f"hugetlb.{size}.{suffix}"
        if not group.has(name):
            result.fail(f"linux.resources.hugepageLimits[{index}]", {size: limit}, None,
                        why=f"this kernel has no {size} huge pages (no {name})")
            continue
        compare_file(result, f"linux.resources.hugepageLimits[{index}].limit", group, name, limit,
                     lambda e, f, g=granule: bytes_match(e, f, g))


@resource_check("linux.resources.network.classID", "config-linux.md#network",
                "linux.resources.network.classID", "net_cls")
def net_classid_is_applied(spec, result, group):
    """net_cls.classid is linux.resources.network.classID (cgroup v1)."""
    compare_file(result, "linux.resources.network.classID", group, "net_cls.classid",
                 spec.int("linux.resources.network.classID"))


@resource_check("linux.resources.network.priorities", "config-linux.md#network",
                "linux.resources.network.priorities", "net_prio")
def net_priorities_are_applied(spec, result, group):
    """net_prio.ifpriomap gives each listed interface its priority (cgroup v1)."""
    host = inode_fact(spec, HOST_NS + "network")
    if host is None or own_namespace("network") != host:
        # ifpriomap lists the interfaces of the reader's network namespace; the
        # priorities name interfaces of the runtime's.
        result.skip("net_prio.ifpriomap shows the interfaces of the container's network namespace; "
                    "linux.resources.network.priorities names those of the runtime's, "
                    "which the container does not share (or the driver did not say)")
    table = dict(line.split() for line in (group.read("net_prio.ifpriomap") or "").splitlines()
                 if len(line.split()) == 2)
    for index, entry in enumerate(spec.items("linux.resources.network.priorities")):
        name, priority = entry.str("name"), entry.int("priority")
        found = table.get(name)
        if found is None or int(found) != priority:
            result.fail(f"linux.resources.network.priorities[{index}]", {name: priority},
                        {name: None if found is None else int(found)}, why="net_prio.ifpriomap")


@check("linux.resources.unified", MUST, "config-linux.md#unified", needs="linux.resources.unified")
def unified_is_applied(spec, result):
    """Each linux.resources.unified file of the container's cgroup2 cgroup holds its value."""
    declared = spec.dict("linux.resources.unified")
    try:
        group = reader().unified()
    except CgroupUnavailable as error:
        result.skip(f"linux.resources.unified needs cgroup v2: {error}")
    for key in sorted(declared):
        value = declared[key]
        if not isinstance(value, str):
            result.problem(f"linux.resources.unified[{key}]: spec field should be a string, found {value!r}")
            continue
        if "/" in key or key.startswith("."):
            result.problem(f"linux.resources.unified[{key}]: not a file name")
            continue
        found = group.read(key)
        if found is None or " ".join(found.split()) != " ".join(value.split()):
            result.fail(f"linux.resources.unified[{key}]", value, found, why=f"{key} in the container's cgroup")


# -- enforcement probes -----------------------------------------------------------------

PIDS_PROBE_MAX = 256  # never start more processes than this
MEMORY_PROBE_MAX = 1 << 30  # never allocate more than this (plus the margin)
MEMORY_PROBE_MARGIN = 32 << 20
# A probe making no progress for PROBE_SECONDS is stalled; none runs longer than
# PROBE_MOST_SECONDS, however slow the machine (an emulated one is ~20x slower).
PROBE_SECONDS = 3
SIGKILL, SIGALRM = 9, 14  # how a probe child ends: at the limit, or at its own alarm
PROBE_MOST_SECONDS = 60
TOO_SLOW = "too slow"
# Written by the driver on a machine slower than usual (suite --time-scale).
TIME_SCALE = "org.runtimetest.time-scale"


def time_scale(spec):
    """How many times slower than usual the driver says this machine is (1 when it does not say)."""
    try:
        return max(float(spec.annotation(TIME_SCALE) or 1), 1.0)
    except ValueError:
        return 1.0


@check("linux.resources.pids.limit.enforced", MUST, "config-linux.md#pids", needs="linux.resources.pids.limit")
def pids_limit_is_enforced(spec, result):
    """Forking past linux.resources.pids.limit fails with EAGAIN."""
    skip_without_cgroup_management(spec, result)
    limit = spec.int("linux.resources.pids.limit")
    if limit <= 0:
        result.skip("no pids limit to probe")
    try:
        group = reader().cgroup("pids")
        current = as_number(group.read("pids.current"))
    except CgroupUnavailable:
        current = None  # the probe still shows whether fork stops, not exactly where
    room = limit - (current or 0)
    if room > PIDS_PROBE_MAX:
        result.skip(f"probing would start {room} processes; only limits up to {PIDS_PROBE_MAX} free are probed")
    seconds = PROBE_MOST_SECONDS * time_scale(spec)
    started, failure = fork_until_refused(limit + 1, seconds)
    if failure == TOO_SLOW:
        result.skip(f"the probe started only {started} processes in {seconds:g}s: too slow to tell")
    if failure is None:
        already = f" with {current} tasks already in the cgroup" if current else ""
        result.fail("linux.resources.pids.limit", limit, f"{started} more processes started",
                    why=f"fork(2) never failed{already}")
    elif failure != errno.EAGAIN:
        result.fail("linux.resources.pids.limit", "fork(2) fails with EAGAIN",
                    errno.errorcode.get(failure, failure), why=f"after {started} processes")
    elif current is not None and started != room:
        result.fail("linux.resources.pids.limit", f"{room} more processes", f"{started}",
                    why=f"fork(2) EAGAIN with {current} tasks in the cgroup before the probe")
    else:
        result.note(f"fork(2) failed with EAGAIN after {started} more processes")


def fork_until_refused(most, seconds=None):
    """Fork children that wait, until fork fails or `most` started; returns (started, why it stopped):
    the errno of the failed fork, TOO_SLOW, or None.

    Every child blocks reading a pipe and exits when it closes; all are reaped
    before returning, and nothing runs longer than `seconds` (PROBE_MOST_SECONDS).
    """
    import signal  # noqa: F401  here, once: children that imported it each would pay in memory

    seconds = PROBE_MOST_SECONDS if seconds is None else seconds
    reader_fd, writer_fd = os.pipe()
    children, failure = [], None
    deadline = time.monotonic() + seconds
    try:
        while len(children) < most:
            if time.monotonic() >= deadline:
                failure = TOO_SLOW
                break
            try:
                pid = os.fork()
            except OSError as error:
                failure = error.errno
                break
            if pid == 0:
                wait_for_close(reader_fd, writer_fd, seconds)
            children.append(pid)
    finally:
        os.close(writer_fd)
        os.close(reader_fd)
        reap(children)
    return len(children), failure


def wait_for_close(reader_fd, writer_fd, seconds):
    """A probe child: block until the checker closes the pipe, then exit at once."""
    try:
        os.close(writer_fd)
        import signal  # imported by the parent before the fork: here a look-up

        signal.alarm(int(seconds) + 10)  # never outlive the probe, whatever happens
        os.read(reader_fd, 1)
    finally:
        os._exit(0)


def reap(children):
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


@check("linux.resources.memory.limit.enforced", MUST, MEMORY, needs="linux.resources.memory.limit")
def memory_limit_is_enforced(spec, result):
    """A child allocating past linux.resources.memory.limit is refused or killed; the checker survives.

    On cgroup v2, a kill must show in memory.events as the cgroup's own OOM kill.
    """
    skip_without_cgroup_management(spec, result)
    limit = spec.int("linux.resources.memory.limit")
    if limit <= 0:
        result.skip("no memory limit to probe")
    if limit > MEMORY_PROBE_MAX:
        result.skip(f"the limit ({limit} bytes) is larger than the probe allocates ({MEMORY_PROBE_MAX})")
    oom_disabled = spec.bool("linux.resources.memory.disableOOMKiller", False)
    swap_room = swap_allowance(spec, limit)
    if swap_room is None:
        result.skip("swap is on and memory+swap is not limited: a child past the limit is swapped, not stopped")
    group = memory_group_to_probe(result)
    kills_before = oom_kills(group)
    target = limit + swap_room + MEMORY_PROBE_MARGIN
    stall = PROBE_SECONDS * time_scale(spec)
    before = limit_hits(group)
    outcome, allocated = allocate_in_child(target, stall, PROBE_MOST_SECONDS * time_scale(spec))
    after = limit_hits(group)
    if outcome.startswith("error"):
        result.skip(f"the probe could not run: {outcome}")
    kills = f"memory.events oom_kill {kills_before} -> {oom_kills(group)}" if kills_before is not None else None
    if outcome == "allocated" or allocated > limit + swap_room:
        result.fail("linux.resources.memory.limit", limit, f"a child allocated {allocated} bytes",
                    why=f"then {outcome}")
    elif outcome == "stalled" and not oom_disabled:
        judge_stall(result, allocated, before, after, stall)
    elif outcome.startswith("killed") and kills is not None and oom_kills(group) == kills_before:
        result.fail("linux.resources.memory.limit", "killed by the cgroup's OOM killer",
                    f"killed at {allocated} bytes", why=f"{kills}: not the cgroup's doing")
    else:
        result.note(f"a child allocating up to {target} bytes was {outcome} after {allocated}"
                    + (f" ({kills})" if kills else ""))


def memory_group_to_probe(result):
    """The container's memory cgroup, or None; SKIPs when an OOM kill would take the checker along."""
    try:
        group = reader().cgroup("memory")
    except CgroupUnavailable:
        return None
    if group.read("memory.oom.group") == "1":
        result.skip("memory.oom.group is set: an OOM kill would take the checker with it")
    return group


def oom_kills(group):
    """The oom_kill count of a v2 cgroup's memory.events, or None where there is none."""
    if group is None or group.version != 2:
        return None
    for line in (group.read("memory.events") or "").splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def limit_hits(group):
    """(counter, value): how often the cgroup met its memory limit, as the kernel counts; None unreadable.

    cgroup v2 counts in memory.events ("max": reclaim at memory.max, "oom_kill"),
    cgroup v1 in memory.failcnt (charges refused at the limit).
    """
    if group is None:
        return None
    if group.version == 2:
        text = group.read("memory.events")
        if text is None:
            return None
        events = dict(line.split(None, 1) for line in text.splitlines() if len(line.split()) == 2)
        return "memory.events max+oom_kill", int(events.get("max", 0)) + int(events.get("oom_kill", 0))
    text = group.read("memory.failcnt")
    return ("memory.failcnt", int(text)) if text and text.isdigit() else None


def judge_stall(result, allocated, before, after, stall):
    """A child still allocating at the alarm: held at the limit (enforced) or just slow, as the counters tell.

    At the limit the kernel reclaims before it OOM-kills: a child whose own
    pages are file-backed (an interpreter unpacked on a disk) is paged in and
    out and can stay below the limit for seconds without being killed.
    """
    stalled = f"the child made no progress for {stall:g}s, at {allocated} bytes"
    if before is None or after is None:
        result.skip(f"{stalled}, and the cgroup's counters (memory.events, memory.failcnt) cannot be "
                    "read to tell whether the limit held it")
    if after[1] > before[1]:
        result.note(f"{stalled}, held at the limit: {after[0]} went from {before[1]} to {after[1]}")
    else:
        result.skip(f"{stalled}, and the cgroup never met its limit ({after[0]} stayed {after[1]}): "
                    "too slow to tell")


def swap_allowance(spec, limit):
    """How far past the limit swap could carry a child: 0 without swap, None when unbounded."""
    try:
        with open("/proc/meminfo") as handle:
            swap = next((int(line.split()[1]) for line in handle if line.startswith("SwapTotal:")), 0)
    except OSError:
        swap = 0
    if swap == 0:
        return 0
    memsw = spec.int("linux.resources.memory.swap")
    if memsw is None or memsw < 0:
        return None
    return max(memsw - limit, 0)


PROBE_CHUNK = 1 << 20
TOO_SLOW_EXIT = 5


def allocate_in_child(target, stall=None, most=None):
    """Fork a child that touches up to `target` bytes; (how it ended, bytes it got).

    It ends refused, killed, allocated, or stalled (no progress for `stall`
    seconds, PROBE_SECONDS: its own alarm ends it), and gives up after `most`
    (PROBE_MOST_SECONDS). It reports each MiB it holds on a pipe, so the
    checker knows how far it got. The checker only waits: at a limit with the
    OOM killer off, anything it allocated would stall it too.
    """
    import signal  # noqa: F401  before the fork: the child's memory is the probe's measure

    stall = PROBE_SECONDS if stall is None else stall
    most = PROBE_MOST_SECONDS if most is None else most
    reader_fd, writer_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:
        os.close(reader_fd)
        os.close(writer_fd)
        return f"error: fork: {error.strerror}", 0
    if pid == 0:
        os.close(reader_fd)
        allocate_and_exit(target, writer_fd, stall, most)
    os.close(writer_fd)
    # Blocking wait: the child ends by itself within its alarms.
    _, status = os.waitpid(pid, 0)
    allocated = drain(reader_fd) * PROBE_CHUNK
    os.close(reader_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == SIGKILL:
            return "killed (SIGKILL)", allocated
        if sig == SIGALRM:
            return "stalled", allocated
        return f"error: child died of signal {sig}", allocated
    code = os.WEXITSTATUS(status)
    if code == TOO_SLOW_EXIT:
        return f"error: too slow to tell: {allocated >> 20} MiB in {most:g}s", allocated
    return {0: "allocated", 3: "refused (MemoryError)"}.get(code, f"error: child exited {code}"), allocated


def drain(fd):
    count = 0
    while True:
        data = os.read(fd, 65536)
        if not data:
            return count
        count += len(data)


def charge_chunk():
    return b"\1" * PROBE_CHUNK  # written, so every page is really charged


def allocate_and_exit(target, progress_fd, stall, most):
    """The memory probe child: first in line for the OOM killer, bounded in time.

    Its alarm is set again before each MiB: SIGALRM (default action: terminate)
    ends it once one MiB takes `stall` seconds, as at a limit with the OOM
    killer off; after `most` seconds it gives up.
    """
    code = 4
    try:
        import signal  # imported by the parent before the fork: here a look-up

        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
        kept, started = [], time.monotonic()
        try:
            code = 0
            while len(kept) * PROBE_CHUNK < target:
                if time.monotonic() - started > most:
                    code = TOO_SLOW_EXIT
                    break
                signal.alarm(max(1, round(stall)))
                kept.append(charge_chunk())
                os.write(progress_fd, b".")
        except MemoryError:
            code = 3
    finally:
        os._exit(code)
