"""mounts.destination, mounts.type, mounts.source: each declared mount is there, of its type, from its source."""

import os

from runtimetest.checker import container
from runtimetest.checker.checks.mounts.declared import MOUNTS, cgroup_hierarchies, declared_mounts, host_fact
from runtimetest.core import facts
from runtimetest.core.registry import MUST, check
from runtimetest.linux.mountinfo import top_at


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
                    f"(annotation {facts.mount_fact(mount.index, 'source-file')}): identity not compared")
        return
    expected = parse_identity(fact)
    if expected is None or len(expected) != 3:
        result.problem(f"annotations[{facts.mount_fact(mount.index, 'source-file')}]: should be "
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
        result.problem(f"annotations[{facts.mount_fact(mount.index, 'source-device')}]: should be "
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
