"""Bundles: the base config, merging a case onto it, and writing a private bundle.

A case's NAME.json is merged onto the base config as a JSON merge patch
(RFC 7386: objects merge key by key, anything else replaces, null deletes), with
one addition: a key ending in "+" whose value is an array appends to the array
under the key without the "+" (`"mounts+": [...]` adds mounts to the base ones).
"""

import copy
import json
import os
import shutil
import tempfile

BASE_CONFIG_PATH = os.path.join(os.path.dirname(__file__), "base-config.json")
CHECKER_IN_ROOTFS = "/runtimetest"
SPEC_IN_ROOTFS = "/spec.json"


class MergeError(Exception):
    pass


def base_config():
    with open(BASE_CONFIG_PATH) as handle:
        return json.load(handle)


def merge(base, patch, where=""):
    """Merge `patch` onto a copy of `base` (RFC 7386 plus "key+" appends)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if key.endswith("+") and len(key) > 1:
            target = key[:-1]
            field = f"{where}.{target}" if where else target
            if not isinstance(value, list):
                raise MergeError(f"{field}+: an appended value should be an array")
            current = merged.get(target, [])
            if not isinstance(current, list):
                raise MergeError(f"{field}+: appends to {field}, which is not an array")
            merged[target] = current + copy.deepcopy(value)
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value, f"{where}.{key}" if where else key)
    return merged


class Bundle:
    """A private bundle directory (0700) holding config.json and rootfs/."""

    def __init__(self, path):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        self.config_path = os.path.join(path, "config.json")

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def write_config(self, config):
        """(Re)write config.json, what the runtime reads."""
        with open(self.config_path, "w") as handle:
            json.dump(config, handle, indent=1)

    def write_spec(self, spec):
        """(Re)write the spec the checker reads, /spec.json in the rootfs."""
        path = self.rootfs + SPEC_IN_ROOTFS
        with open(path, "w") as handle:
            json.dump(spec, handle, indent=1)
        os.chmod(path, 0o644)


def install_file(source, destination, mode):
    # A copy, not a hard link: a container with a writable root must not be able
    # to change the binary every other case runs.
    shutil.copyfile(source, destination)
    os.chmod(destination, mode)


def host_ids_of_root(config):
    """(uid, gid) on the host of the container's root when a user namespace maps it elsewhere, else None."""
    linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
    namespaces = linux.get("namespaces") if isinstance(linux.get("namespaces"), list) else []
    if not any(isinstance(n, dict) and n.get("type") == "user" and not n.get("path") for n in namespaces):
        return None
    ids = [host_id_of_zero(linux.get(field)) for field in ("uidMappings", "gidMappings")]
    return None if ids == [0, 0] or None in ids else tuple(ids)


def host_id_of_zero(mappings):
    for entry in mappings if isinstance(mappings, list) else []:
        if isinstance(entry, dict) and all(isinstance(entry.get(k), int) for k in ("containerID", "hostID", "size")):
            if entry["containerID"] <= 0 < entry["containerID"] + entry["size"]:
                return entry["hostID"] - entry["containerID"]
    return None


def write_bundle(config, spec, checker, parent=None, extra_files=()):
    """Create a fresh bundle: config.json for the runtime, spec.json for the checker.

    The rootfs holds nothing but the checker binary and the spec (plus any
    `extra_files` given as (source, path-in-rootfs) pairs).
    """
    path = tempfile.mkdtemp(prefix="runtimetest-bundle-", dir=parent)
    # A container whose root is another host user (a user namespace mapping 0
    # elsewhere) must still reach its rootfs (others may pass through the bundle,
    # not list it) and make its mount points there (the rootfs is that root's).
    root = host_ids_of_root(config)
    os.chmod(path, 0o700 if root is None else 0o711)
    bundle = Bundle(path)
    try:
        os.mkdir(bundle.rootfs, 0o755)
        os.chmod(bundle.rootfs, 0o755)
        if root is not None:
            os.chown(bundle.rootfs, *root)
        install_file(checker, bundle.rootfs + CHECKER_IN_ROOTFS, 0o755)
        for source, inside in extra_files:
            install_file(source, bundle.rootfs + inside, 0o755)
        bundle.write_spec(spec)
        bundle.write_config(config)
    except BaseException:
        bundle.remove()
        raise
    return bundle
