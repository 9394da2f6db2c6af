"""default.*: the default filesystems, devices and /dev links (config-linux.md)."""

import os
import stat

from runtimetest.core.registry import MUST, SHOULD, check
from runtimetest.linux import mountinfo
from runtimetest.linux.mountinfo import top_at

DEFAULT_FILESYSTEMS = (("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"))


@check("default.filesystems", SHOULD, "config-linux.md#default-filesystems", needs="linux")
def default_filesystems_are_mounted(spec, result):
    """/proc, /sys, /dev/pts and /dev/shm are mounted with types proc, sysfs, devpts and tmpfs."""
    entries = mountinfo.read_mountinfo()
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
