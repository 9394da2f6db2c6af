"""mounts.options: each mount has its options as the kernel reports them."""

import os
import stat

from runtimetest.checker import container
from runtimetest.checker.checks.mounts.declared import MOUNTS, cgroup_hierarchies, declared_mounts
from runtimetest.core.registry import MUST, check
from runtimetest.linux import idmap
from runtimetest.linux.mountinfo import beneath, top_at
from runtimetest.linux.proc import meminfo_kib

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
    total = meminfo_kib("MemTotal", meminfo)
    if total is None:
        raise ValueError("no MemTotal in /proc/meminfo")
    return total * 1024 // os.sysconf("SC_PAGE_SIZE")


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
    return idmap.inside_id(idmap.read_id_map(idmap.MAPS[key]), int(shown))


def check_data_option(result, mount, key, value, unshown):
    entry = mount.entry
    shown = entry.super_value(key)
    if shown is None and key == "mode" and entry.fstype == "tmpfs" and mount.covered is False:
        shown = oct(stat.S_IMODE(os.stat(entry.mount_point).st_mode))[2:]  # the root's mode
    if shown is None:
        unshown.append(f"{key}={value}")
        return
    found = f"{key}={shown}"
    if key in idmap.MAPS and shown.isdigit():
        inside = id_inside(key, shown)
        if inside is None:
            result.note(f"{mount.field}: {key}={shown} (an id of the initial user namespace) is not mapped "
                        f"by {idmap.MAPS[key]}: the parent of this user namespace is not the initial one, "
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
