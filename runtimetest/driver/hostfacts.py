"""Host facts the checker cannot see from inside, passed as spec annotations.

The driver adds them to the spec the checker reads (never to the runtime's
config) under the `org.runtimetest.` prefix, just before the container is
created. A spec without them still checks everything else: a check that needs
an absent fact is a SKIP that names the annotation.

Keys (every value is a string; the constants are in runtimetest/core/facts.py):

  org.runtimetest.host.ns.<type>
      the inode of the runtime's own namespace of each type the kernel has
      (pid, network, mount, ipc, uts, user, cgroup, time): a namespace the
      config does not list must be this one, one it lists without a path must
      not be.
  org.runtimetest.host.nspath.<type>
      for each linux.namespaces entry with a `path`: the inode of the namespace
      at that path, or, when the path is not a namespace file, the reason
      ("not a namespace: ...", "cannot stat: ...").
  org.runtimetest.host.no-new-privs
      "1" or "0": whether the runtime itself runs with no_new_privs (its
      NoNewPrivs in /proc/self/status), which the process would inherit.
  org.runtimetest.host.cgroup.mode
      how the runtime's /sys/fs/cgroup is laid out: "v1", "hybrid" (v1
      controllers plus a cgroup2 mount at /sys/fs/cgroup/unified) or "v2".
  org.runtimetest.host.cgroup.root.<controller>
      the cgroup (inside its hierarchy) that the runtime's cgroup mount of each
      controller shows as its root ("unified" for the cgroup2 hierarchy): an
      absolute linux.cgroupsPath is relative to it.
  org.runtimetest.host.netdev.<name>.addresses
      for each linux.netDevices entry: the permanent addresses of that host
      device that are not host-scoped, as space-separated CIDRs ("" for none),
      or "absent: ..." when the runtime's network namespace has no such device.
  org.runtimetest.mounts.<index>.source-file
      "major:minor:inode" of a bind mount's source (mounts[index]) as the host
      stats it (symlinks followed; a relative source is relative to the bundle).
  org.runtimetest.mounts.<index>.source-device
      "major:minor" of a non-bind mount's source when it is a block device.
  org.runtimetest.mounts.rootfs-host-propagation
      the propagation ("shared", "slave", "shared,slave", "private" or
      "unbindable") of the host mount that holds root.path: a slave rootfs can
      only have a master to follow when that mount propagates.
  org.runtimetest.time-scale
      how many times slower than usual the machine is (`suite --time-scale`,
      an emulated one), when not 1: the checker's enforcement probes give
      themselves that much longer.

The driver adds, from the runtime's adapter:

  org.runtimetest.cgroup-limits
      "not applied: <why>" when the runtime is run without cgroup management
      (crun on a hybrid host): cgroup checks are then a SKIP with that reason.

The mount facts are computed from the spec the checker is told, so that a
negative case that names another source is judged against that source.
"""

import os
import stat

from runtimetest.core import facts as keys
from runtimetest.linux import cgroupfs, proc
from runtimetest.linux.mountinfo import mount_holding, read_mountinfo

NS_FILES = {
    "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc",
    "uts": "uts", "user": "user", "cgroup": "cgroup", "time": "time",
}
CGROUP_MOUNT = "/sys/fs/cgroup"


def annotate(spec, config, bundle_path, time_scale=1.0):
    """The spec with host facts added as annotations (a new dict).

    `config` is what the runtime gets; `bundle_path` its bundle directory (for
    paths in the config that are relative to the bundle); `time_scale` how
    many times slower than usual this machine is (`suite --time-scale`).
    """
    annotated = dict(spec)
    annotations = dict(annotated.get("annotations") or {})
    annotated["annotations"] = annotations
    annotations.update(mount_facts(spec, bundle_path))
    linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
    annotations.update(namespace_facts())
    annotations.update(namespace_path_facts(linux.get("namespaces")))
    annotations.update(cgroup_facts())
    annotations.update(privilege_facts())
    annotations.update(netdevice_facts(linux.get("netDevices")))
    if time_scale != 1:
        annotations[keys.TIME_SCALE] = f"{time_scale:g}"
    return annotated


# -- namespaces ------------------------------------------------------------------

def namespace_facts(proc="/proc/self"):
    """org.runtimetest.host.ns.<type>: the runtime's own namespaces (it runs in the driver's)."""
    facts = {}
    for kind, name in NS_FILES.items():
        try:
            facts[keys.host_ns(kind)] = str(os.stat(f"{proc}/ns/{name}").st_ino)
        except OSError:
            pass  # this kernel has no such namespace
    return facts


def namespace_path_facts(namespaces, proc="/proc/self"):
    """org.runtimetest.host.nspath.<type>: the namespace at each linux.namespaces[].path."""
    facts = {}
    if not isinstance(namespaces, list):
        return facts
    try:
        nsfs = os.stat(f"{proc}/ns/net").st_dev
    except OSError:
        return facts
    for entry in namespaces:
        if not isinstance(entry, dict):
            continue
        kind, path = entry.get("type"), entry.get("path")
        if isinstance(kind, str) and isinstance(path, str) and path:
            facts[keys.host_nspath(kind)] = _namespace_at(path, nsfs)
    return facts


def _namespace_at(path, nsfs):
    try:
        info = os.stat(path)
    except OSError as error:
        return f"cannot stat: {error.strerror}"
    if info.st_dev != nsfs:
        return f"not a namespace: {path} is not on nsfs"
    return str(info.st_ino)


# -- privileges ------------------------------------------------------------------

def privilege_facts(status="/proc/self/status"):
    """org.runtimetest.host.no-new-privs: whether the runtime (it runs as this process does) has it."""
    try:
        value = proc.read_status(status).get("NoNewPrivs", "")
    except OSError:
        return {}
    return {keys.HOST_NO_NEW_PRIVS: value} if value in ("0", "1") else {}


# -- cgroups -------------------------------------------------------------------------

def cgroup_facts(mountinfo="/proc/self/mountinfo", mount=CGROUP_MOUNT):
    """org.runtimetest.host.cgroup.*: the layout and roots of the runtime's cgroup mounts."""
    try:
        entries = read_mountinfo(mountinfo)
    except OSError:
        return {}
    layout = cgroupfs.layout(entries, mount)
    if layout is None:
        return {}
    facts = {keys.HOST_CGROUP_MODE: layout}
    known = cgroupfs.kernel_controllers()
    for entry in cgroupfs.cgroup_mounts(entries, mount):
        names = [cgroupfs.UNIFIED_NAME] if entry.fstype == "cgroup2" else [
            name for name in cgroupfs.controllers(entry) if name in known or name.startswith("name=")]
        for name in names:
            facts[keys.host_cgroup_root(name)] = entry.root
    return facts


# -- network devices ----------------------------------------------------------------
# Read with pyroute2, whose import (asyncio, ssl, sqlite3: ~250 ms) is paid only by a
# run with a netDevices case; the checker reads the container's own with
# runtimetest.linux.netlink and never imports pyroute2.

IFA_F_PERMANENT = 0x80  # an address configured without a lifetime (linux/if_addr.h)
RT_SCOPE_HOST = 254


def netdevice_facts(devices):
    """org.runtimetest.host.netdev.<name>.addresses: what each device to be moved carries now."""
    if not isinstance(devices, dict) or not devices:
        return {}
    facts = {}
    for name in devices:
        if isinstance(name, str):
            facts[keys.netdev_addresses(name)] = _device_addresses(name)
    return facts


def _device_addresses(name):
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        found = permanent_addresses(name)
    except (OSError, NetlinkError) as error:
        return f"absent: rtnetlink cannot be asked ({error})"
    if found is None:
        return f"absent: no device {name} in the runtime's network namespace"
    return " ".join(found)


def permanent_addresses(name):
    """The permanent, not host-scoped addresses of a device as CIDRs (sorted), or None when it is absent."""
    from pyroute2 import IPRoute

    with IPRoute() as route:
        indexes = route.link_lookup(ifname=name)
        if not indexes:
            return None
        return sorted(address_of(message) for message in route.get_addr(index=indexes[0])
                      if _flags(message) & IFA_F_PERMANENT and message["scope"] != RT_SCOPE_HOST)


def _flags(message):
    # IFA_FLAGS holds all 32 bits; the header's byte only the low 8 (older kernels send no attribute).
    flags = message.get_attr("IFA_FLAGS")
    return message["flags"] if flags is None else flags


def address_of(message):
    """An RTM_NEWADDR message's "address/prefixlen" (the local address of a point-to-point link)."""
    address = message.get_attr("IFA_LOCAL") or message.get_attr("IFA_ADDRESS")
    return f"{address}/{message['prefixlen']}"


# -- mounts ----------------------------------------------------------------------

def _in_bundle(path, bundle_path):
    return path if os.path.isabs(path) else os.path.join(bundle_path, path)


def _is_bind(mount):
    options = mount.get("options")
    options = options if isinstance(options, list) else []
    return mount.get("type") == "bind" or "bind" in options or "rbind" in options


def mount_facts(spec, bundle_path, mountinfo="/proc/self/mountinfo"):
    """Annotations describing the host side of the spec's mounts (see the module docstring)."""
    facts = {}
    mounts = spec.get("mounts")
    for index, mount in enumerate(mounts if isinstance(mounts, list) else []):
        source = mount.get("source") if isinstance(mount, dict) else None
        if not isinstance(source, str) or not source:
            continue
        bind = _is_bind(mount)
        if not bind and not os.path.isabs(source):
            continue  # a name ("tmpfs", "proc"), not a path
        try:
            info = os.stat(_in_bundle(source, bundle_path))
        except OSError:
            continue
        if bind:
            facts[keys.mount_fact(index, "source-file")] = \
                f"{os.major(info.st_dev)}:{os.minor(info.st_dev)}:{info.st_ino}"
        elif stat.S_ISBLK(info.st_mode):
            facts[keys.mount_fact(index, "source-device")] = \
                f"{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"
    propagation = _rootfs_host_propagation(spec, bundle_path, mountinfo)
    if propagation:
        facts[keys.ROOTFS_HOST_PROPAGATION] = propagation
    return facts


def _rootfs_host_propagation(spec, bundle_path, mountinfo):
    root = spec.get("root")
    path = root.get("path") if isinstance(root, dict) else None
    if not isinstance(path, str) or not path:
        return None
    try:
        entries = read_mountinfo(mountinfo)
    except OSError:
        return None
    holder = mount_holding(entries, os.path.realpath(_in_bundle(path, bundle_path)))
    return holder.propagation if holder else None
