"""Host facts the checker cannot see from inside, passed as spec annotations.

The driver adds them to the spec the checker reads (never to the runtime's
config) under the `org.runtimetest.` prefix. A spec without them still checks
everything else.

Mounts (computed from the spec the checker is told, so that a negative case
that names another source is judged against that source):

- `org.runtimetest.mounts.<index>.source-file`: "major:minor:inode" of a bind
  mount's source (mounts[index]), as the host stats it (symlinks followed; a
  relative source is relative to the bundle).
- `org.runtimetest.mounts.<index>.source-device`: "major:minor" of a
  non-bind mount's source when it is a block device.
- `org.runtimetest.mounts.rootfs-host-propagation`: the propagation ("shared",
  "slave", "shared,slave", "private" or "unbindable") of the host mount that
  holds root.path: a slave rootfs can only have a master to follow when that
  mount propagates.
"""

import os
import stat

PREFIX = "org.runtimetest."
MOUNTS_PREFIX = PREFIX + "mounts."


def annotate(spec, config, bundle_path):
    """The spec with host facts added as annotations (a new dict).

    `config` is what the runtime gets; `bundle_path` its bundle directory (for
    paths in the config that are relative to the bundle).
    """
    annotated = dict(spec)
    annotations = dict(annotated.get("annotations") or {})
    annotations.update(mount_facts(spec, bundle_path))
    annotated["annotations"] = annotations
    return annotated


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
            facts[f"{MOUNTS_PREFIX}{index}.source-file"] = \
                f"{os.major(info.st_dev)}:{os.minor(info.st_dev)}:{info.st_ino}"
        elif stat.S_ISBLK(info.st_mode):
            facts[f"{MOUNTS_PREFIX}{index}.source-device"] = \
                f"{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"
    propagation = _rootfs_host_propagation(spec, bundle_path, mountinfo)
    if propagation:
        facts[f"{MOUNTS_PREFIX}rootfs-host-propagation"] = propagation
    return facts


def _rootfs_host_propagation(spec, bundle_path, mountinfo):
    root = spec.get("root")
    path = root.get("path") if isinstance(root, dict) else None
    if not isinstance(path, str) or not path:
        return None
    # The checker's own mountinfo parser, importable here: it needs only the standard library.
    from ..checks.mounts import mount_holding, parse_mountinfo

    try:
        with open(mountinfo) as handle:
            entries = parse_mountinfo(handle.read())
    except OSError:
        return None
    holder = mount_holding(entries, os.path.realpath(_in_bundle(path, bundle_path)))
    return holder.propagation if holder else None
