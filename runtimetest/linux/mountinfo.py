"""/proc/PID/mountinfo (proc(5)): one parser, and the questions asked of its entries.

One line per mount, in the order the mounts were made, each with its mount
point, filesystem type, source, per-mount flags (ro, nosuid, nodev, noexec, the
atime family), propagation (shared:N, master:N, unbindable) and superblock
options. The checker reads its own; the driver reads the host's. Standard
library only: both import it.
"""

import errno
import os

MOUNTINFO = "/proc/self/mountinfo"
# Flags mountinfo prints with the superblock options, not the per-mount ones.
SUPERBLOCK_FLAGS = ("sync", "dirsync", "lazytime")


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


# --- /proc/PID/mounts ----------------------------------------------------------

MOUNTS = "/proc/self/mounts"


def parse_mounts(text):
    """The entries of a /proc/PID/mounts (mtab) text, as MountEntry without ids or roots.

    That table merges the per-mount and superblock options into one field:
    both `flags` and `super_options` hold it.
    """
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        options = fields[3].split(",")
        entries.append(MountEntry(
            position=len(entries), mount_id=None, parent_id=None, device=None, root=None,
            mount_point=unescape(fields[1]), flags=options, optional=[], fstype=fields[2],
            source=unescape(fields[0]), super_options=options))
    return entries


def read_mounts(path=MOUNTS):
    """The entries of a mounts table; [] when it cannot be read."""
    try:
        with open(path) as handle:
            return parse_mounts(handle.read())
    except OSError:
        return []
