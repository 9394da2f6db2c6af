"""What a case asks of a runtime that an adapter knows it cannot give here.

Read from a case's config (what the runtime gets) or the spec the checker is
told; the adapters turn what they find into a SKIP reason.
"""

import os
import re

from runtimetest.driver.bundle import base_config

# Flags that runtime-spec 1.1 makes recursive with an "r" in front (rnosuid, rnoexec, ...).
RECURSIVE_FLAGS = ("nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "nodiratime",
                   "diratime", "relatime", "norelatime", "strictatime", "nostrictatime", "nosymfollow",
                   "symfollow")
# Hooks run in the runtime's namespace, where the state's pid is the one they can act on.
RUNTIME_NAMESPACE_HOOKS = ("prestart", "createRuntime", "poststart", "poststop")
CHECKER = "/runtimetest"


def linux_of(doc):
    linux = doc.get("linux") if isinstance(doc, dict) else None
    return linux if isinstance(linux, dict) else {}


def cgroup_requests(doc):
    """The fields of a config that ask the runtime's cgroups for more than the base config does.

    The base config's device rule (deny all) is in every case, and the driver
    gives every case a cgroup path of its own: neither is a request of the case's.
    """
    resources = linux_of(doc).get("resources")
    resources = resources if isinstance(resources, dict) else {}
    base_devices = linux_of(base_config()).get("resources", {}).get("devices")
    asked = {f"linux.resources.{key}" for key, value in resources.items()
             if key != "devices" or value != base_devices}
    path = linux_of(doc).get("cgroupsPath")
    if isinstance(path, str) and not is_driver_cgroups_path(path):
        asked.add("linux.cgroupsPath")
    return asked


def is_driver_cgroups_path(path):
    """Whether a cgroup path is the one the driver gives a case that names none: /runtimetest/<id>.

    A case's own path gets -<id> appended instead, so that it holds two "rtt-".
    """
    return re.fullmatch(r"/runtimetest/rtt-[A-Za-z0-9_.-]+", path) is not None and path.count("rtt-") == 1


# The spec fields naming a label, and whether this host's kernel has that module on.
LABEL_MODULES = {
    "process.selinuxLabel": lambda: os.path.exists("/sys/fs/selinux/enforce"),
    "process.apparmorProfile": lambda: _read_flag("/sys/module/apparmor/parameters/enabled") == "Y",
}


def _read_flag(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def empty_labels_of_disabled_modules(config):
    process = config.get("process") if isinstance(config.get("process"), dict) else {}
    return [field for field, enabled in LABEL_MODULES.items()
            if process.get(field.split(".")[1]) == "" and not enabled()]


def mount_options_runsc_refuses(config):
    """Options of the config's mounts that gVisor 2022-12-19 does not parse."""
    refused = []
    mounts = config.get("mounts") if isinstance(config.get("mounts"), list) else []
    for mount in mounts:
        options = mount.get("options") if isinstance(mount, dict) else None
        for option in options if isinstance(options, list) else []:
            if not isinstance(option, str) or option in refused:
                continue
            recursive = option in ("rro", "rrw") or (option.startswith("r") and option[1:] in RECURSIVE_FLAGS)
            if recursive or (option.startswith("size=") and option.endswith("%")):
                refused.append(option)
    return refused


def hooks_of_their_own(config):
    """The runtime-namespace hooks of a config that are programs of the case's, not the checker.

    The checker in hook mode only records what it sees; the case's own programs
    (a shell calling taskset, ionice, ip) act on the container through the state's pid.
    """
    hooks = config.get("hooks") if isinstance(config.get("hooks"), dict) else {}
    found = []
    for point in RUNTIME_NAMESPACE_HOOKS:
        entries = hooks.get(point) if isinstance(hooks.get(point), list) else []
        for index, hook in enumerate(entries):
            if isinstance(hook, dict) and hook.get("path") != CHECKER:
                found.append(f"hooks.{point}[{index}] {hook.get('path')}")
    return found
