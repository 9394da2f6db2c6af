"""mounts, and the default filesystems, devices and /dev links (config.md "Mounts", config-linux.md).

What the process sees is read from /proc/self/mountinfo: one line per mount, in
the order the mounts were made, each with its mount point, filesystem type,
source, per-mount flags (ro, nosuid, nodev, noexec, the atime family),
propagation (shared:N, master:N, unbindable) and superblock options.

A runtime adds mounts of its own (masks over /proc files, read-only binds,
device nodes, a tmpfs holding the cgroup v1 hierarchies): the checks look only
at the mounts whose mount point is a declared destination, the k-th entry for a
destination being the k-th mount stacked there.

A bind mount's source lives outside the container: its identity (device and
inode, as the host sees them) reaches the checker as the annotation
`org.runtimetest.mounts.<index>.source-file`, and a block device source's
device number as `org.runtimetest.mounts.<index>.source-device`; both are
written by the driver (runtimetest/driver/hostfacts.py).

gVisor's kernel writes its own mountinfo: every source is "none", the per-mount
flags are only ro/rw, noatime and noexec, and its device and inode numbers are
not the host's. There, sources are a SKIP and the flags it never shows are
named in a TAP note, not compared.
"""

import errno
import os
import stat

from runtimetest.checker import container
from runtimetest.core.registry import MUST, SHOULD, check

MOUNTINFO = "/proc/self/mountinfo"
ANNOTATION = "org.runtimetest.mounts."
MOUNTS = "config.md#mounts"

# mount(8) option -> (flag, whether the option sets it), as mountinfo prints the
# flags (fs/proc_namespace.c): per mount, or with the superblock options.
FLAG_OPTIONS = {
    "nosuid": ("nosuid", True), "suid": ("nosuid", False),
    "nodev": ("nodev", True), "dev": ("nodev", False),
    "noexec": ("noexec", True), "exec": ("noexec", False),
    "noatime": ("noatime", True), "atime": ("noatime", False),
    "nodiratime": ("nodiratime", True), "diratime": ("nodiratime", False),
    "relatime": ("relatime", True), "norelatime": ("relatime", False),
    "nosymfollow": ("nosymfollow", True), "symfollow": ("nosymfollow", False),
    "sync": ("sync", True), "async": ("sync", False),
    "dirsync": ("dirsync", True),
    "lazytime": ("lazytime", True), "nolazytime": ("lazytime", False),
}
SUPERBLOCK_FLAGS = ("sync", "dirsync", "lazytime")
# The flags gVisor's mountinfo shows (vfs.GenerateProcMountInfo): ro/rw aside, only these.
GVISOR_SHOWN_FLAGS = ("noatime", "noexec")
# runtime-spec 1.1's recursive mount attributes (mount_setattr(2) with AT_RECURSIVE).
RECURSIVE_OPTIONS = {"r" + option for option in ("ro", "rw", "strictatime", *FLAG_OPTIONS)
                     if option not in ("sync", "async", "dirsync", "lazytime", "nolazytime")}
PROPAGATION_OPTIONS = {
    "shared": "shared", "rshared": "shared", "slave": "slave", "rslave": "slave",
    "private": "private", "rprivate": "private", "unbindable": "unbindable", "runbindable": "unbindable",
}
# Options that say how to mount, not what the mount is, or that only userspace reads.
NOT_MOUNT_STATE = {"bind", "rbind", "defaults", "remount", "auto", "noauto", "nofail", "user",
                   "nouser", "users", "owner", "group", "_netdev", "tmpcopyup", "loop"}
# Filesystem options whose value the kernel prints in a normal form.
OCTAL_KEYS = ("mode", "ptmxmode")
DECIMAL_KEYS = ("uid", "gid", "nr_inodes")
# Options holding an id, and the map that brings it into this user namespace.
ID_MAPS = {"uid": "/proc/self/uid_map", "gid": "/proc/self/gid_map"}


class MountEntry:
    """One line of /proc/self/mountinfo (proc(5))."""

    def __init__(self, position, mount_id, parent_id, device, root, mount_point, flags,
                 optional, fstype, source, super_options):
        self.position = position  # line number: mounts are listed in the order made
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.device = device  # (major, minor)
        self.root = root
        self.mount_point = mount_point
        self.flags = flags  # per-mount options, e.g. ["ro", "nosuid", "relatime"]
        self.optional = optional  # e.g. ["shared:2", "master:1", "unbindable"]
        self.fstype = fstype
        self.source = source
        self.super_options = super_options

    @property
    def readonly(self):
        return "ro" in self.flags or "ro" in self.super_options

    def flag(self, name):
        if name in SUPERBLOCK_FLAGS:
            return name in self.super_options
        return name in self.flags

    def super_value(self, key):
        """The value of key=value in the superblock options, None when not shown."""
        for option in self.super_options:
            name, sep, value = option.partition("=")
            if sep and name == key:
                return value
        return None

    @property
    def propagation(self):
        """'shared', 'slave', 'shared,slave', 'unbindable' or 'private', as findmnt says."""
        kinds = [tag.split(":")[0] for tag in self.optional]
        if "unbindable" in kinds:
            return "unbindable"
        states = [name for tag, name in (("shared", "shared"), ("master", "slave")) if tag in kinds]
        return ",".join(states) or "private"

    def __repr__(self):
        return f"<mount {self.mount_point} {self.fstype}>"


def unescape(field):
    r"""mountinfo escapes space, tab, newline and backslash as \ooo."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit() and len(field[i + 1:i + 4]) == 3:
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """The entries of a mountinfo text, in order; malformed lines are left out."""
    entries = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-", 6)
            major, minor = fields[2].split(":")
            entries.append(MountEntry(
                position=len(entries), mount_id=int(fields[0]), parent_id=int(fields[1]),
                device=(int(major), int(minor)), root=unescape(fields[3]),
                mount_point=unescape(fields[4]), flags=fields[5].split(","),
                optional=[f for f in fields[6:dash] if f], fstype=fields[dash + 1],
                source=unescape(fields[dash + 2]), super_options=fields[dash + 3].split(",")))
        except (ValueError, IndexError):
            continue
    return entries


def read_mountinfo(path=MOUNTINFO):
    with open(path) as handle:
        return parse_mountinfo(handle.read())


def stacked_at(entries, path):
    """The mounts whose mount point is `path`, bottom first (each later one on top)."""
    here = [e for e in entries if e.mount_point == path]
    ids = {e.mount_id for e in here}
    ordered = []
    current = [e for e in here if e.parent_id not in ids]
    while current:
        entry = min(current, key=lambda e: e.position)
        ordered.append(entry)
        current = [e for e in here if e.parent_id == entry.mount_id and e not in ordered]
    ordered.extend(e for e in here if e not in ordered)  # anything the chain missed
    return ordered


def top_at(entries, path):
    stack = stacked_at(entries, path)
    return stack[-1] if stack else None


def mount_holding(entries, path):
    """The visible mount that holds `path` (the longest mount point above it)."""
    path = os.path.normpath(path)
    best = None
    for entry in entries:
        point = entry.mount_point
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) > len(best.mount_point):
                best = entry
    return top_at(entries, best.mount_point) if best else None


# glibc's statvfs(3) hands on the kernel's ST_VALID bit inverted: set when the
# kernel did not fill in the mount flags (gVisor leaves them out).
FLAGS_NOT_GIVEN = 0x0020


def readonly_mount_at(path):
    """Whether the mount holding `path` is read-only, and where that was read.

    statvfs(3) says, unless the kernel gave it no flags: gVisor fills in none,
    and refuses statfs(2) on /proc/sys (ENOSYS). Its mountinfo still says ro or rw.
    """
    try:
        flags = os.statvfs(path).f_flag
        if not flags & FLAGS_NOT_GIVEN:
            return bool(flags & os.ST_RDONLY), f"statvfs(\"{path}\") ST_RDONLY"
    except OSError as error:
        if error.errno != errno.ENOSYS:
            raise
    entry = mount_holding(read_mountinfo(), os.path.realpath(path))
    if entry is None:
        return False, f"/proc/self/mountinfo, no mount holding {path}"
    return entry.readonly, f"/proc/self/mountinfo, {path} on {entry.mount_point}"


def children_of(entries, entry):
    return [e for e in entries if e.parent_id == entry.mount_id and e.mount_point != entry.mount_point]


def ancestors(entries, entry):
    """The mounts `entry` is mounted on: its parent, the parent's parent, ... (mountinfo's parent ids)."""
    by_id = {e.mount_id: e for e in entries}
    chain, current = [], by_id.get(entry.parent_id)
    while current is not None and current not in chain and current is not entry:
        chain.append(current)
        current = by_id.get(current.parent_id)
    return chain


def beneath(entries, entry):
    """`entry` and every mount mounted on it, directly or further down."""
    return [entry] + [e for e in entries if entry in ancestors(entries, e)]


# --- declared mounts and the entries that realise them ----------------------

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
    entries = read_mountinfo()
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
    return spec.annotation(f"{ANNOTATION}{index}.{name}")


# --- mounts ------------------------------------------------------------------

@check("mounts.destination", MUST, MOUNTS, needs="mounts")
def mounts_are_at_their_destinations(spec, result):
    """Each entry of mounts is mounted at its destination."""
    declared, _ = declared_mounts(spec)
    for mount in declared:
        if mount.destination is None:
            result.problem(f"{mount.field}.destination: spec field is required, found none")
        elif not mount.destination.startswith("/"):
            result.problem(f"{mount.field}.destination: spec field should be an absolute path, "
                           f"found {mount.destination!r}")
        elif mount.entry is None:
            result.fail(f"{mount.field}.destination", mount.destination, "not a mount point",
                        why="no such mount point in /proc/self/mountinfo")


def cgroup_hierarchies(entries, entry):
    """On a cgroup v1 host a runtime mounts a tmpfs holding one cgroup mount per controller."""
    if entry.fstype in ("cgroup", "cgroup2"):
        return [entry]
    if entry.fstype == "tmpfs":
        return [e for e in children_of(entries, entry) if e.fstype in ("cgroup", "cgroup2")]
    return []


@check("mounts.type", MUST, MOUNTS, needs="mounts")
def mounts_have_their_types(spec, result):
    """Each mount has the filesystem type its entry declares (bind mounts: the source's)."""
    declared, entries = declared_mounts(spec)
    for mount in declared:
        if mount.entry is None or mount.bind:
            continue
        if mount.type is None:
            result.note(f"{mount.field}: no type declared, none to compare")
        elif mount.cgroup:
            if not cgroup_hierarchies(entries, mount.entry):
                result.fail(f"{mount.field}.type", mount.type, mount.entry.fstype,
                            why=f"at {mount.destination}, with no cgroup hierarchy mounted in it")
        elif mount.entry.fstype != mount.type and not mount.entry.fstype.startswith(mount.type + "."):
            result.fail(f"{mount.field}.type", mount.type, mount.entry.fstype, why=f"at {mount.destination}")


def device_text(device):
    return f"{device[0]}:{device[1]}"


def parse_identity(text):
    """'major:minor:inode' (or 'major:minor') -> tuple of ints, None when malformed."""
    try:
        parts = tuple(int(part) for part in text.split(":"))
    except (AttributeError, ValueError):
        return None
    return parts if len(parts) in (2, 3) else None


def check_bind_source(spec, result, mount, entries):
    fact = host_fact(spec, mount.index, "source-file")
    if fact is None:
        result.note(f"{mount.field}: no host fact for the bind source {mount.source!r} "
                    f"(annotation {ANNOTATION}{mount.index}.source-file): identity not compared")
        return
    expected = parse_identity(fact)
    if expected is None or len(expected) != 3:
        result.problem(f"annotations[{ANNOTATION}{mount.index}.source-file]: should be "
                       f"major:minor:inode, found {fact!r}")
        return
    if top_at(entries, mount.entry.mount_point) is not mount.entry:
        result.note(f"{mount.field}: a later mount covers {mount.destination}: "
                    "its source's inode cannot be seen, only its device")
        found = mount.entry.device + (expected[2],)
    else:
        info = os.stat(mount.entry.mount_point)
        found = (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    if found != expected:
        result.fail(f"{mount.field}.source", f"{mount.source} ({':'.join(map(str, expected))})",
                    ":".join(map(str, found)), why=f"device:inode at {mount.destination}")


def check_device_source(spec, result, mount):
    fact = host_fact(spec, mount.index, "source-device")
    if fact is None:
        return False
    expected = parse_identity(fact)
    if expected is None or len(expected) != 2:
        result.problem(f"annotations[{ANNOTATION}{mount.index}.source-device]: should be "
                       f"major:minor, found {fact!r}")
    elif mount.entry.device != expected:
        result.fail(f"{mount.field}.source", f"{mount.source} ({device_text(expected)})",
                    device_text(mount.entry.device), why=f"device of the mount at {mount.destination}")
    return True


@check("mounts.source", MUST, MOUNTS, needs="mounts")
def mounts_have_their_sources(spec, result):
    """Each mount comes from its source: a bind mount's by device and inode, others by name or device."""
    declared, entries = declared_mounts(spec)
    if container.gvisor():
        result.skip("gVisor's mountinfo gives every mount the source \"none\", and its device and inode "
                    "numbers are its own, not the host's: no source can be compared")
    for mount in declared:
        if mount.entry is None or mount.source is None:
            continue
        if mount.bind:
            check_bind_source(spec, result, mount, entries)
        elif check_device_source(spec, result, mount):
            continue
        elif mount.cgroup:
            # A runtime realises a declared cgroup mount as it sees fit (one
            # mount per v1 hierarchy, named after it, or a cgroup2 mount): the
            # kernel's source names are the runtime's, not the declared dummy.
            result.note(f"{mount.field}: the sources of the cgroup mounts under "
                        f"{mount.destination} are the runtime's names, not compared")
        elif mount.entry.source != mount.source:
            result.fail(f"{mount.field}.source", mount.source, mount.entry.source,
                        why=f"mount source at {mount.destination}")


# --- options -----------------------------------------------------------------

def last_propagation_option(options):
    """The last propagation option (it decides), or None."""
    chosen = None
    for option in options:
        if option in PROPAGATION_OPTIONS:
            chosen = option
    return chosen


def propagation_matches(wanted, found):
    """Whether a mount's propagation ('shared,slave', ...) is what the option asked for.

    A slave of a mount that propagates nothing is private: "slave" only rules
    out shared and unbindable.
    """
    kinds = set(found.split(","))
    if wanted == "shared":
        return "shared" in kinds
    if wanted == "slave":
        return kinds <= {"slave", "private"}
    if wanted == "private":
        return kinds == {"private"}
    return kinds == {"unbindable"}


def atime_state(entry):
    if entry.flag("noatime"):
        return "noatime"
    if entry.flag("relatime"):
        return "relatime"
    return "strictatime"


def size_in_bytes(text):
    """A size as memparse(9) reads it: a number with an optional K, M, G, T, P or E suffix."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50, "e": 1 << 60}
    text = text.strip().lower()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def total_ram_pages(meminfo="/proc/meminfo"):
    """The kernel's totalram_pages: MemTotal is that count in KiB."""
    with open(meminfo) as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 // os.sysconf("SC_PAGE_SIZE")
    raise ValueError("no MemTotal in /proc/meminfo")


def tmpfs_size(value):
    """tmpfs's size= in bytes as it keeps it: whole pages, a percentage of RAM taken as the kernel does."""
    page = os.sysconf("SC_PAGE_SIZE")
    if value.strip().endswith("%"):
        return -(-int(value.strip()[:-1]) * total_ram_pages() // 100) * page
    return -(-size_in_bytes(value) // page) * page


def normal_value(key, value, fstype):
    """A filesystem option's value in the form the kernel prints it."""
    if key in OCTAL_KEYS:
        return int(value, 8)
    if key in DECIMAL_KEYS:
        return size_in_bytes(value) if key == "nr_inodes" else int(value)
    if key == "size" and fstype == "tmpfs":
        return tmpfs_size(value)
    return value


def id_inside(key, shown):
    """An id option as the kernel prints it, in this user namespace's terms (None: not mapped here).

    The kernel prints the uid= and gid= of devpts, tmpfs, fat, ... as ids of
    the initial user namespace; /proc/self/uid_map and gid_map translate ids of
    this namespace's parent, which is the initial one unless namespaces nest.
    """
    from runtimetest.checker.checks.idmap import inside_id, read_id_map

    return inside_id(read_id_map(ID_MAPS[key]), int(shown))


def check_data_option(result, mount, key, value, unshown):
    entry = mount.entry
    shown = entry.super_value(key)
    if shown is None and key == "mode" and entry.fstype == "tmpfs" and mount.covered is False:
        shown = oct(stat.S_IMODE(os.stat(entry.mount_point).st_mode))[2:]  # the root's mode
    if shown is None:
        unshown.append(f"{key}={value}")
        return
    found = f"{key}={shown}"
    if key in ID_MAPS and shown.isdigit():
        inside = id_inside(key, shown)
        if inside is None:
            result.note(f"{mount.field}: {key}={shown} (an id of the initial user namespace) is not mapped "
                        f"by {ID_MAPS[key]}: the parent of this user namespace is not the initial one, "
                        f"{key}={value} not compared")
            return
        if inside != int(shown):
            found = f"{key}={inside} ({key}={shown} in the initial user namespace)"
        shown = str(inside)
    try:
        same = normal_value(key, value, entry.fstype) == normal_value(key, shown, entry.fstype)
    except ValueError:
        same = value == shown
    if not same:
        result.fail(f"{mount.field}.options", f"{key}={value}", found,
                    why=f"superblock options at {mount.destination}")


def flag_shown(flag):
    """Whether this kernel's mountinfo would show the flag when it is set."""
    return flag in GVISOR_SHOWN_FLAGS or not container.gvisor()


def check_flag_option(result, mount, option, flag, wanted, entries):
    targets = cgroup_hierarchies(entries, mount.entry) if mount.cgroup else [mount.entry]
    for entry in targets or [mount.entry]:
        if entry.flag(flag) != wanted:
            found = flag if entry.flag(flag) else f"no {flag}"
            result.fail(f"{mount.field}.options", option, found,
                        why=f"flags of {entry.mount_point}: {','.join(entry.flags)}")
            return


def flag_state(entry, option):
    """Whether a mount has what a (non-recursive) option asks for; None when this kernel cannot show it."""
    if option in ("ro", "rw"):
        return entry.readonly == (option == "ro")
    if option == "strictatime":
        return atime_state(entry) == "strictatime" if flag_shown("relatime") else None
    flag, wanted = FLAG_OPTIONS[option]
    return entry.flag(flag) == wanted if flag_shown(flag) else None


def check_recursive_option(result, mount, option, entries):
    """A recursive attribute (rro, rnosuid, ...) holds for the mount and every mount beneath it."""
    plain = option[1:]
    for entry in beneath(entries, mount.entry):
        if flag_state(entry, plain) is False:
            result.fail(f"{mount.field}.options", option, f"not {plain} at {entry.mount_point}",
                        why=f"flags of {entry.mount_point}: {','.join(entry.flags)}")
            return


def check_options(result, mount, entries):
    entry = mount.entry
    unshown = []
    targets = cgroup_hierarchies(entries, entry) if mount.cgroup else [entry]
    for option in mount.options:
        if option in ("ro", "rw"):
            for target in targets or [entry]:
                if target.readonly != (option == "ro"):
                    result.fail(f"{mount.field}.options", option, "ro" if target.readonly else "rw",
                                why=f"at {target.mount_point}")
                    break
        elif option in FLAG_OPTIONS and not flag_shown(FLAG_OPTIONS[option][0]):
            unshown.append(option)
        elif option in FLAG_OPTIONS:
            flag, wanted = FLAG_OPTIONS[option]
            check_flag_option(result, mount, option, flag, wanted, entries)
        elif option == "strictatime" and not flag_shown("relatime"):
            unshown.append(option)
        elif option == "strictatime" and atime_state(entry) != "strictatime":
            result.fail(f"{mount.field}.options", option, atime_state(entry), why=f"at {mount.destination}")
        elif option in RECURSIVE_OPTIONS:
            check_recursive_option(result, mount, option, entries)
        elif option in PROPAGATION_OPTIONS or option in NOT_MOUNT_STATE or option.startswith(("x-", "X-")):
            continue
        elif "=" in option:
            key, _, value = option.partition("=")
            check_data_option(result, mount, key, value, unshown)
        elif option not in ("strictatime", "nostrictatime"):
            unshown.append(option)
    option = last_propagation_option(mount.options)
    if option and not propagation_matches(PROPAGATION_OPTIONS[option], entry.propagation):
        result.fail(f"{mount.field}.options", option, entry.propagation,
                    why=f"propagation of {mount.destination}")
    if unshown:
        result.note(f"{mount.field}: options the kernel does not show for {mount.destination}, "
                    f"not compared: {', '.join(unshown)}")


@check("mounts.options", MUST, MOUNTS, needs="mounts")
def mounts_have_their_options(spec, result):
    """Each mount has its options as the kernel reports them: ro/rw, nosuid, nodev, noexec, atime, propagation."""
    declared, entries = declared_mounts(spec)
    for mount in declared:
        if mount.entry is None:
            continue
        mount.covered = top_at(entries, mount.entry.mount_point) is not mount.entry
        check_options(result, mount, entries)


def within(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


@check("mounts.order", MUST, MOUNTS, needs="mounts")
def mounts_are_made_in_order(spec, result):
    """The mounts were made in the listed order: a later one at or under an earlier one's destination is mounted on it.

    Only the mount tree shows order (each mount's parent in mountinfo): the
    order of mountinfo's lines is the kernel's list, not the order of mounting,
    and mounts in unrelated places leave no trace of which came first.
    """
    declared, entries = declared_mounts(spec)
    found = [m for m in declared if m.entry is not None]
    for position, before in enumerate(found):
        for after in found[position + 1:]:
            if within(after.destination, before.destination):
                if before.entry not in ancestors(entries, after.entry):
                    result.fail(f"{after.field}.destination",
                                f"{after.destination} mounted on {before.field} ({before.destination})",
                                "mounted beneath it or beside it", why="parent ids in /proc/self/mountinfo")
            elif within(before.destination, after.destination) \
                    and after.entry in ancestors(entries, before.entry):
                result.fail(f"{before.field}.destination",
                            f"{before.destination} mounted before {after.field} ({after.destination})",
                            f"mounted on {after.field}", why="parent ids in /proc/self/mountinfo")


# --- default filesystems, devices and links ------------------------------------

DEFAULT_FILESYSTEMS = (("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"))


@check("default.filesystems", SHOULD, "config-linux.md#default-filesystems", needs="linux")
def default_filesystems_are_mounted(spec, result):
    """/proc, /sys, /dev/pts and /dev/shm are mounted with types proc, sysfs, devpts and tmpfs."""
    entries = read_mountinfo()
    for path, fstype in DEFAULT_FILESYSTEMS:
        entry = top_at(entries, path)
        if entry is None:
            result.fail(path, fstype, "not a mount point")
        elif entry.fstype != fstype:
            result.fail(path, fstype, entry.fstype)


# path -> (major, minor): char devices config-linux.md requires, mode 0666 as
# null(4), zero(4), full(4), random(4) and tty(4) give them.
DEFAULT_DEVICES = {
    "/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
    "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0),
}
DEFAULT_DEVICE_MODE = 0o666
PTY_SLAVE_MAJORS = range(136, 144)


def describe_node(info):
    if info is None:
        return "missing"
    kind = ("char" if stat.S_ISCHR(info.st_mode) else "block" if stat.S_ISBLK(info.st_mode)
            else "symlink" if stat.S_ISLNK(info.st_mode) else "directory" if stat.S_ISDIR(info.st_mode)
            else "regular file" if stat.S_ISREG(info.st_mode) else "other")
    if kind in ("char", "block"):
        return f"{kind} {os.major(info.st_rdev)}:{os.minor(info.st_rdev)} mode {oct(stat.S_IMODE(info.st_mode))[2:]:0>4}"
    return kind


def stat_or_none(path, follow=True):
    try:
        return os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None


def check_char_device(result, path, numbers, mode):
    info = stat_or_none(path)
    expected = f"char {numbers[0]}:{numbers[1]} mode {oct(mode)[2:]:0>4}"
    if info is None or not stat.S_ISCHR(info.st_mode) \
            or (os.major(info.st_rdev), os.minor(info.st_rdev)) != numbers \
            or stat.S_IMODE(info.st_mode) != mode:
        result.fail(path, expected, describe_node(info))


def check_ptmx(result):
    """/dev/ptmx is a symlink to, or a bind mount of, /dev/pts/ptmx."""
    link = stat_or_none("/dev/ptmx", follow=False)
    target = stat_or_none("/dev/pts/ptmx")
    if link is not None and stat.S_ISLNK(link.st_mode):
        pointed = os.path.normpath(os.path.join("/dev", os.readlink("/dev/ptmx")))
        if pointed != "/dev/pts/ptmx":
            result.fail("/dev/ptmx", "symlink to /dev/pts/ptmx", f"symlink to {pointed}")
        return
    same = link is not None and target is not None and (link.st_dev, link.st_ino) == (target.st_dev, target.st_ino)
    if not same:
        result.fail("/dev/ptmx", "symlink to or bind mount of /dev/pts/ptmx",
                    describe_node(link) + ("" if link is None else ", not /dev/pts/ptmx"))


def check_console(result):
    """With a terminal, /dev/console is the pseudoterminal the process's stdio is on."""
    info = stat_or_none("/dev/console")
    if info is None or not stat.S_ISCHR(info.st_mode) or os.major(info.st_rdev) not in PTY_SLAVE_MAJORS:
        result.fail("/dev/console", "the pseudoterminal (char 136-143:N)", describe_node(info))
        return
    try:
        stdin = os.fstat(0)
    except OSError:
        return
    if stat.S_ISCHR(stdin.st_mode) and stdin.st_rdev != info.st_rdev:
        result.fail("/dev/console", f"the terminal on stdin ({os.major(stdin.st_rdev)}:{os.minor(stdin.st_rdev)})",
                    describe_node(info))


@check("default.devices", MUST, "config-linux.md#default-devices", needs="linux")
def default_devices_are_supplied(spec, result):
    """/dev/null, zero, full, random, urandom, tty (char, numbers, mode 0666), ptmx, and console with a terminal."""
    declared = {entry.str("path") for entry in spec.items("linux.devices")}
    for path, numbers in DEFAULT_DEVICES.items():
        if path in declared:
            result.note(f"{path} is declared in linux.devices: checked there")
            continue
        check_char_device(result, path, numbers, DEFAULT_DEVICE_MODE)
    check_ptmx(result)
    if spec.bool("process.terminal"):
        check_console(result)


DEFAULT_SYMLINKS = (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
                    ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"))


@check("default.symlinks", MUST, "runtime-linux.md#dev-symbolic-links", needs="linux")
def dev_symlinks_are_set_up(spec, result):
    """/dev/fd, /dev/stdin, /dev/stdout and /dev/stderr link to /proc/self/fd, fd/0, fd/1 and fd/2."""
    if not os.path.exists("/proc/self/fd"):
        result.skip("/proc/self/fd does not exist: the links are only required when it does")
    for path, target in DEFAULT_SYMLINKS:
        try:
            found = f"symlink to {os.readlink(path)}"
        except OSError:
            found = describe_node(stat_or_none(path, follow=False))
        if found != f"symlink to {target}":
            result.fail(path, f"symlink to {target}", found)
