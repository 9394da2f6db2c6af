"""linux.devices and the device allow-list linux.resources.devices (config-linux.md "Devices").

linux.devices: each node exists at its path (a runtime may mknod it, bind
mount it or link to it) with its type, numbers, mode and owner.

linux.resources.devices: what the list allows can be opened, what it denies is
refused with EPERM by the device controller (which is asked before any
driver: a node without a driver answers ENXIO once the controller let it
through). The list is applied in order; a device's verdict is taken where the
two readings of that order agree (the last matching entry wins; cgroup v1's
default-and-exceptions), and only for devices a runtime does not add on its
own: the default devices, which it must supply, and their terminals.

Only nodes that are harmless to open are probed: a node of a major no driver
has registered (/proc/devices), or a few known ones (fuse, tun, loop). A
kernel without /proc/devices (gVisor) cannot say which majors those are, and a
runtime run without cgroup management applies no list: both are a SKIP. Probe
nodes come from linux.devices, or are made by the checker (mknod in /dev, when
it holds CAP_MKNOD) and removed again. mknod itself ("m") is not judged:
runtimes allow it for every node (runc adds "c *:* m" and "b *:* m") since
creating a node gives no access to the device.
"""

import errno
import os
import stat

from runtimetest.core.registry import MUST, check
from runtimetest.checker.conditions import CGROUP_MANAGEMENT

TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
TYPE_NAMES = {stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFREG: "regular file",
              stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink", stat.S_IFSOCK: "socket"}
CAP_MKNOD = 27
MAX_MAJOR, MAX_MINOR = (1 << 12) - 1, (1 << 20) - 1  # the kernel's dev_t
PROBE_DIR = "/dev"
PROBE_PREFIX = ".runtimetest-device-probe-"
# Each probe is judged against the whole list: a list of thousands of entries is
# judged on this many nodes of each kind (made, and from linux.devices), with a note.
MAX_PROBES = 64
MAX_RULES = 50000  # each entry is read once per probe: past this, a SKIP, not minutes of work

# Default devices and their terminals: a runtime allows them whatever the list says.
RUNTIME_ALLOWED = {("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9),
                   ("c", 5, 0), ("c", 5, 1), ("c", 5, 2)}
RUNTIME_ALLOWED_MAJORS = {("c", 136), ("c", 137), ("c", 138), ("c", 139), ("c", 140), ("c", 141),
                          ("c", 142), ("c", 143)}
# Registered devices that opening does nothing to: fuse, tun (no interface until an
# ioctl), loop devices.
SAFE_TO_OPEN = {("c", 10, 229), ("c", 10, 200)}
SAFE_MAJORS = {("b", 7)}


def mode_text(mode):
    return oct(mode)[2:].rjust(4, "0")


# --- linux.devices -------------------------------------------------------------

def check_device(entry, result):
    field = entry.path
    path, kind = entry.str("path"), entry.str("type")
    expected = {name: entry.int(name) for name in ("major", "minor", "fileMode", "uid", "gid")}
    if path is None or kind is None:
        result.problem(f"{field}: spec entry needs path and type")
        return
    for name in ("fileMode", "uid", "gid"):
        if expected[name] is not None and not 0 <= expected[name] < 1 << 32:
            result.problem(f"{field}.{name}: should be a uint32, found {expected[name]}")
            return
    if kind not in TYPES:
        result.problem(f"{field}.type: should be one of c, b, u, p, found {kind!r}")
        return
    try:
        info = os.stat(path)
    except OSError as error:
        found = "missing" if error.errno == errno.ENOENT else errno.errorcode.get(error.errno, str(error))
        result.fail(f"{field}.path", path, found)
        return
    found_type = stat.S_IFMT(info.st_mode)
    if found_type != TYPES[kind]:
        result.fail(f"{field}.type", kind, TYPE_NAMES.get(found_type, oct(found_type)), why=path)
        return
    found = {"major": os.major(info.st_rdev), "minor": os.minor(info.st_rdev),
             "uid": info.st_uid, "gid": info.st_gid}
    for name in ("major", "minor") if kind != "p" else ():
        if expected[name] is not None and found[name] != expected[name]:
            result.fail(f"{field}.{name}", expected[name], found[name], why=path)
    if expected["fileMode"] is not None and stat.S_IMODE(info.st_mode) != stat.S_IMODE(expected["fileMode"]):
        result.fail(f"{field}.fileMode", mode_text(stat.S_IMODE(expected["fileMode"])),
                    mode_text(stat.S_IMODE(info.st_mode)), why=path)
    for name in ("uid", "gid"):
        if expected[name] is not None and found[name] != expected[name]:
            result.fail(f"{field}.{name}", expected[name], found[name], why=path)


@check("linux.devices", MUST, "config-linux.md#devices", needs="linux.devices")
def devices_are_available(spec, result):
    """Each linux.devices node exists at its path with its type, major/minor, fileMode, uid and gid."""
    for entry in spec.items("linux.devices"):
        check_device(entry, result)


# --- linux.resources.devices ----------------------------------------------------

class Rule:
    """One allow-list entry: allow, type ('a', 'c', 'b'), major/minor (None = any), access."""

    def __init__(self, view):
        self.field = view.path
        self.allow = view.bool("allow")
        if self.allow is None:
            raise ValueError(f"{view.path}.allow: spec field is required, found none")
        self.type = view.str("type", "a")
        self.major = view.int("major")
        self.minor = view.int("minor")
        self.access = view.str("access", "rwm")
        if self.type not in ("a", "c", "b") or not set(self.access) <= set("rwm"):
            raise ValueError(f"{view.path}: type should be a, c or b and access made of r, w, m")
        if self.major is not None and self.major < 0:
            self.major = None  # -1: the older spelling of "any"
        if self.minor is not None and self.minor < 0:
            self.minor = None

    @property
    def everything(self):
        return self.type == "a" and self.major is None and self.minor is None

    def matches(self, kind, major, minor):
        return (self.type in ("a", kind) and self.major in (None, major) and self.minor in (None, minor))

    def same_device(self, other):
        return (self.type, self.major, self.minor) == (other.type, other.major, other.minor)


def last_match_verdict(rules, kind, major, minor, access):
    """The last entry matching the device and access decides; None when none does."""
    verdict = None
    for rule in rules:
        if access in rule.access and rule.matches(kind, major, minor):
            verdict = rule.allow
    return verdict


def exceptions_verdict(rules, kind, major, minor, access):
    """cgroup v1 devices: "a" entries set a default and clear the exceptions; others add or remove one.

    None when no "a" entry set the default (the cgroup's own is not the list's doing).
    Exceptions are kept per device (type, major, minor): an entry agreeing with the
    default takes its access away from that device's exception, in one step.
    """
    default, excepted = None, {}
    for rule in rules:
        device = (rule.type, rule.major, rule.minor)
        if rule.everything:
            default, excepted = rule.allow, {}
        elif default is None or rule.allow != default:
            excepted.setdefault(device, set()).update(rule.access)
        elif device in excepted:
            excepted[device] -= set(rule.access)
    if default is None:
        return None
    hit = any(access in granted and (t in ("a", kind) and ma in (None, major) and mi in (None, minor))
              for (t, ma, mi), granted in excepted.items())
    return (not default) if hit else default


def expected_verdict(rules, kind, major, minor, access):
    # Only entries matching the device can decide it ("a" entries match all).
    rules = [rule for rule in rules if rule.matches(kind, major, minor)]
    first = last_match_verdict(rules, kind, major, minor, access)
    second = exceptions_verdict(rules, kind, major, minor, access)
    return first if first == second else None


def registered_majors(path="/proc/devices"):
    """{'c': {majors}, 'b': {majors}} from /proc/devices."""
    majors, section = {"c": set(), "b": set()}, None
    with open(path) as handle:
        for line in handle:
            if line.startswith("Character"):
                section = "c"
            elif line.startswith("Block"):
                section = "b"
            elif section and line.split() and line.split()[0].isdigit():
                majors[section].add(int(line.split()[0]))
    return majors


def safe_to_open(kind, major, minor, registered):
    return (major not in registered[kind] or (kind, major, minor) in SAFE_TO_OPEN
            or (kind, major) in SAFE_MAJORS)


def runtime_allows(kind, major, minor):
    return (kind, major, minor) in RUNTIME_ALLOWED or (kind, major) in RUNTIME_ALLOWED_MAJORS


def has_capability(number):
    from runtimetest.checker import container

    return bool(int(container.status().get("CapEff", "0"), 16) >> number & 1)


def open_verdict(path, access):
    """True when the controller let an open through, False when it refused (EPERM), None when unsure."""
    flags = (os.O_RDONLY if access == "r" else os.O_WRONLY) | os.O_NONBLOCK | os.O_NOCTTY
    try:
        os.close(os.open(path, flags))
        return True
    except OSError as error:
        if error.errno == errno.EPERM:
            return False
        if error.errno == errno.EACCES:
            return None  # the node's own mode said no before the controller was asked
        return True  # ENXIO, ENODEV, EIO...: the driver answered, so the controller agreed


def verdict_text(allowed):
    return "allowed" if allowed else "denied (EPERM)"


class Probe:
    """A device node to open: one of linux.devices, or one the checker made."""

    def __init__(self, kind, major, minor, path):
        self.kind, self.major, self.minor, self.path = kind, major, minor, path

    @property
    def name(self):
        return f"{self.kind} {self.major}:{self.minor}"


def declared_probes(spec):
    """Probes from linux.devices nodes that exist as char or block devices."""
    for entry in spec.items("linux.devices"):
        path = entry.str("path")
        try:
            info = os.stat(path) if path else None
        except OSError:
            continue
        if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
            kind = "c" if stat.S_ISCHR(info.st_mode) else "b"
            yield Probe(kind, os.major(info.st_rdev), os.minor(info.st_rdev), path)


def unregistered_major(kind, registered, taken):
    for major in list(range(240, 255)) + list(range(60, 64)) + [42]:  # local/experimental use
        if major not in registered[kind] and (kind, major) not in taken:
            return major
    return None


def wanted_nodes(rules, registered, have):
    """(kind, major, minor) for every device an entry names, plus one no entry names."""
    wanted = {}  # a dict keeps the list's order and finds a repeat in one step
    for rule in rules:
        kinds = ["c", "b"] if rule.type == "a" else [rule.type]
        for kind in kinds:
            if rule.major is None or rule.major > MAX_MAJOR or (rule.minor or 0) > MAX_MINOR:
                continue  # no such device number: nothing to make
            node = (kind, rule.major, rule.minor if rule.minor is not None else 0)
            if node not in have:
                wanted[node] = True
    wanted = list(wanted)
    taken = {(k, m) for k, m, _ in wanted}
    major = unregistered_major("c", registered, taken)
    if major is not None:
        wanted.append(("c", major, 0))
    return wanted


def bounded_nodes(wanted, result):
    """At most MAX_PROBES of the nodes to make (the last, the one no entry names, always)."""
    if len(wanted) <= MAX_PROBES:
        return wanted
    result.note(f"the list names {len(wanted) - 1} devices: nodes are made for the first {MAX_PROBES - 1} only")
    return wanted[:MAX_PROBES - 1] + wanted[-1:]


def bounded_probes(probes, result):
    if len(probes) <= MAX_PROBES:
        return probes
    result.note(f"linux.devices gives {len(probes)} nodes: the first {MAX_PROBES} are opened")
    return probes[:MAX_PROBES]


def make_probe(kind, major, minor):
    path = os.path.join(PROBE_DIR, f"{PROBE_PREFIX}{kind}-{major}-{minor}")
    mode = (stat.S_IFCHR if kind == "c" else stat.S_IFBLK) | 0o666
    try:
        os.mknod(path, mode, os.makedev(major, minor))
        os.chmod(path, 0o666)  # the umask must not make the mode refuse us first
    except OSError:
        return None
    return Probe(kind, major, minor, path)


def judge(probe, rules, result, registered):
    """Open the probe for reading and for writing; what was found, for each access judged."""
    if runtime_allows(probe.kind, probe.major, probe.minor):
        return []
    if not safe_to_open(probe.kind, probe.major, probe.minor, registered):
        result.note(f"{probe.name} ({probe.path}) not opened: its driver could act on an open")
        return []
    judged = []
    for access in ("r", "w"):
        expected = expected_verdict(rules, probe.kind, probe.major, probe.minor, access)
        if expected is None:
            result.note(f"{probe.name} {access}: the list does not decide it unambiguously")
            continue
        found = open_verdict(probe.path, access)
        if found is None:
            result.note(f"{probe.name} {access}: refused by the node's own mode first ({probe.path})")
            continue
        judged.append(f"{probe.name} {access} {'allowed' if found else 'denied'}")
        if found != expected:
            result.fail("linux.resources.devices", f"{probe.name} {access} {verdict_text(expected)}",
                        verdict_text(found), why=f"open of {probe.path}")
    return judged


@check("linux.resources.devices", MUST, "config-linux.md#allowed-device-list",
       needs="linux.resources.devices")
def device_allow_list_is_applied(spec, result):
    """Opening a device the allow-list denies fails with EPERM; one it allows opens."""
    count = len(spec.list("linux.resources.devices"))
    if count > MAX_RULES:
        result.skip(f"linux.resources.devices has {count} entries: lists longer than {MAX_RULES} are not judged")
    try:
        rules = [Rule(view) for view in spec.items("linux.resources.devices")]
    except ValueError as error:
        result.problem(str(error))
        return
    # Not declared in requires: a malformed list is a problem whatever the runtime's cgroups.
    CGROUP_MANAGEMENT.require(spec, result)
    try:
        registered = registered_majors()
    except FileNotFoundError:
        result.skip("this kernel has no /proc/devices: which device majors have no driver, "
                    "and so which nodes are harmless to open, cannot be known")
    probes = list(declared_probes(spec))
    made = []
    if has_capability(CAP_MKNOD):
        have = {(p.kind, p.major, p.minor) for p in probes}
        for node in bounded_nodes(wanted_nodes(rules, registered, have), result):
            probe = make_probe(*node)
            if probe is not None:
                made.append(probe)
    probes = bounded_probes(probes, result)
    judged = []
    try:
        for probe in probes + made:
            judged += judge(probe, rules, result, registered)
    finally:
        for probe in made:
            try:
                os.unlink(probe.path)
            except OSError:
                pass
    if judged:
        result.note("opened: " + ", ".join(judged))
    else:
        how = ("no probe node could be made and opened safely" if has_capability(CAP_MKNOD)
               else "no node in linux.devices to open, and no CAP_MKNOD to make one")
        result.skip(f"no device access could be judged here: {how}")
