"""linux.rootfsPropagation (config-linux.md "Rootfs Mount Propagation").

The rootfs mount ("/" in /proc/self/mountinfo) shows its propagation: shared:N
for shared, master:N for slave, unbindable, or nothing for private. A slave
only has a master when the host mount it was copied from propagates: the
driver says whether it does (annotation
`org.runtimetest.mounts.rootfs-host-propagation`).

With CAP_SYS_ADMIN the behaviour is probed with real mounts, in a scratch
directory under $TMPDIR: "/" is bind-mounted there (unbindable refuses with
EINVAL), then a file is bind-mounted over a file of that copy; only if "/" is
shared does it also appear at the same place under "/". Everything mounted is
unmounted again.
"""

import errno
import os
import stat

from runtimetest.checker import container
from runtimetest.core.registry import MUST, check
from runtimetest.core import facts
from runtimetest.linux.mountinfo import read_mountinfo, top_at

SECTION = "config-linux.md#rootfs-mount-propagation"
HOST_PROPAGATION = facts.ROOTFS_HOST_PROPAGATION
VALUES = {"shared": "shared", "rshared": "shared", "slave": "slave", "rslave": "slave",
          "private": "private", "rprivate": "private", "unbindable": "unbindable",
          "runbindable": "unbindable"}
CAP_SYS_ADMIN = 21
MS_BIND = 0x1000
MNT_DETACH = 2
PROBE_FINDINGS = {
    "unbindable": 'bind-mount probe: binding "/" failed with EINVAL',
    "shared": 'bind-mount probe: a mount on a bind of "/" showed at "/"',
    "not shared": 'bind-mount probe: a mount on a bind of "/" did not show at "/"',
}


def flags_match(wanted, found, host_propagates):
    """Whether the propagation shown for "/" ('shared', 'slave', 'shared,slave', ...) is `wanted`.

    Returns (matches, decided): a slave of a host mount that propagates nothing
    looks private, so "slave" is only decided when the host mount is known to propagate.
    """
    kinds = set(found.split(","))
    if wanted == "shared":
        return "shared" in kinds, True
    if wanted == "private":
        return kinds == {"private"}, True
    if wanted == "unbindable":
        return kinds == {"unbindable"}, True
    if kinds == {"slave"}:
        return True, True
    if kinds == {"private"}:
        return (False, True) if host_propagates else (True, False)
    return False, True


class Mounter:
    """mount(2) and umount2(2): Python has no binding for them."""

    def __init__(self):
        from runtimetest.linux import syscalls

        self.syscalls = syscalls

    def bind(self, source, target):
        try:
            self.syscalls.mount(source, target, None, MS_BIND)
        except OSError as error:
            raise OSError(error.errno, error.strerror, target) from None

    def detach(self, target):
        try:
            self.syscalls.umount2(target, MNT_DETACH)
        except OSError:
            pass


def a_file_in_root():
    """A regular file directly in "/" that is not itself a mount point, or None."""
    for name in sorted(os.listdir("/")):
        path = "/" + name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and not os.path.ismount(path):
            return name
    return None


def probe_behaviour():
    """What bind mounts show: 'unbindable', 'shared' (a mount on a copy of / shows at /) or 'not shared'."""
    mounter = Mounter()
    name = a_file_in_root()
    if name is None:
        raise LookupError('no regular file directly in "/" to mount over')
    import tempfile

    scratch = tempfile.mkdtemp(prefix=".runtimetest-propagation-")
    copy = os.path.join(scratch, "root")
    marker = os.path.join(scratch, "marker")
    os.mkdir(copy)
    with open(marker, "w"):
        pass
    mounted = []
    try:
        try:
            mounter.bind("/", copy)
        except OSError as error:
            if error.errno == errno.EINVAL:
                return "unbindable"
            raise
        mounted.append(copy)
        mounter.bind(marker, os.path.join(copy, name))
        mounted.append(os.path.join(copy, name))
        seen = os.stat("/" + name)
        mine = os.stat(marker)
        return "shared" if (seen.st_dev, seen.st_ino) == (mine.st_dev, mine.st_ino) else "not shared"
    finally:
        for target in reversed(mounted):
            mounter.detach(target)
        os.unlink(marker)
        os.rmdir(copy)
        os.rmdir(scratch)


def has_sys_admin():
    return bool(int(container.status().get("CapEff", "0"), 16) >> CAP_SYS_ADMIN & 1)


@check("linux.rootfsPropagation", MUST, SECTION, needs="linux.rootfsPropagation")
def rootfs_propagation_is_applied(spec, result):
    """The rootfs mount is shared, slave, private or unbindable as declared, and behaves so."""
    declared = spec.str("linux.rootfsPropagation")
    wanted = VALUES.get(declared)
    if wanted is None:
        result.problem(f"linux.rootfsPropagation: should be shared, slave, private or unbindable, found {declared!r}")
        return
    root = top_at(read_mountinfo(), "/")
    if root is None:
        result.skip('no mount at "/" in /proc/self/mountinfo')
    host = spec.annotation(HOST_PROPAGATION)
    matches, decided = flags_match(wanted, root.propagation, host not in (None, "private", "unbindable"))
    if not matches:
        result.fail("linux.rootfsPropagation", declared, root.propagation,
                    why='propagation of "/" in /proc/self/mountinfo')
    reasons = []
    if not decided:
        reasons.append(f'the host mount holding the rootfs is {host or "unknown (no " + HOST_PROPAGATION + ")"}: '
                       "a slave of it has no master, and cannot be told from private")
    if not has_sys_admin():
        reasons.append("behaviour not probed: bind mounts need CAP_SYS_ADMIN")
    else:
        try:
            compare_behaviour(result, declared, wanted, probe_behaviour())
        except (OSError, LookupError) as error:
            reasons.append(f"bind-mount probe not possible here: {error}")
    if reasons:
        result.skip(f'"/" shows {root.propagation}; ' + "; ".join(reasons))


def compare_behaviour(result, declared, wanted, behaviour):
    expected = {"shared": "shared", "unbindable": "unbindable"}.get(wanted, "not shared")
    if behaviour == expected:
        return
    if wanted == "unbindable":
        result.fail("linux.rootfsPropagation", declared, "bindable", why='bind-mount probe: binding "/" succeeded')
    else:
        result.fail("linux.rootfsPropagation", declared, behaviour, why=PROBE_FINDINGS[behaviour])
