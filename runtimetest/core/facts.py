"""The annotations the driver passes to the checker: every `org.runtimetest.*` key, in one place.

The driver adds host facts the checker cannot see from inside to the spec the
checker reads (runtimetest/driver/hostfacts.py says what each one holds); a
case's own bundle may carry some too (preserve-fds). The key texts are a
contract with users' bundles: they never change.
"""

PREFIX = "org.runtimetest."

# The runtime's own namespaces, and those at linux.namespaces[].path: "<type>" follows.
HOST_NS = PREFIX + "host.ns."
HOST_NSPATH = PREFIX + "host.nspath."
HOST_NO_NEW_PRIVS = PREFIX + "host.no-new-privs"
# The layout of the runtime's /sys/fs/cgroup (runtimetest.linux.cgroupfs.LAYOUTS) and the
# root of each hierarchy's mount ("<controller>" or "unified" follows).
HOST_CGROUP_MODE = PREFIX + "host.cgroup.mode"
HOST_CGROUP_ROOT = PREFIX + "host.cgroup.root."
HOST_NETDEV = PREFIX + "host.netdev."
# mounts[<index>].source-file / .source-device, and the rootfs's host mount.
MOUNTS = PREFIX + "mounts."
ROOTFS_HOST_PROPAGATION = MOUNTS + "rootfs-host-propagation"
TIME_SCALE = PREFIX + "time-scale"
# Written from the runtime's adapter: "not applied: <why>" without cgroup management.
CGROUP_LIMITS = PREFIX + "cgroup-limits"
NOT_APPLIED = "not applied"
PRESERVE_FDS = PREFIX + "preserve-fds"


def host_ns(kind):
    return HOST_NS + kind


def host_nspath(kind):
    return HOST_NSPATH + kind


def host_cgroup_root(name):
    return HOST_CGROUP_ROOT + name


def netdev_addresses(name):
    return f"{HOST_NETDEV}{name}.addresses"


def mount_fact(index, name):
    """The key of a fact about mounts[index]: name is "source-file" or "source-device"."""
    return f"{MOUNTS}{index}.{name}"


def cgroups_not_applied(why):
    """The value of CGROUP_LIMITS for a runtime run without cgroup management."""
    return f"{NOT_APPLIED}: {why}"


def cgroups_unmanaged(spec):
    """The driver's CGROUP_LIMITS text when the runtime was run without cgroup management, else None."""
    state = spec.annotation(CGROUP_LIMITS)
    return state if state and state.startswith(NOT_APPLIED) else None


def time_scale(spec):
    """How many times slower than usual the driver says this machine is (1 when it does not say)."""
    try:
        return max(float(spec.annotation(TIME_SCALE) or 1), 1.0)
    except ValueError:
        return 1.0
