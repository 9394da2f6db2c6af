"""process.apparmorProfile, process.selinuxLabel and linux.mountLabel.

Which Linux security modules are active is read where a container can see it:
AppArmor shows /sys/module/apparmor/parameters/enabled ("Y") and
/proc/self/attr/apparmor/; SELinux gives /proc/self/attr/current a context
(user:role:type:level). Reading /proc/self/attr/current fails with EINVAL when
no active module labels processes.

A label asked for on a kernel without the module that applies it cannot be
carried by the process: such a config cannot be applied, and the runtime must
refuse it (runtime.md, "Lifecycle": "If the runtime is unable to create the
environment specified in the config.json, it MUST generate an error"). runc
does. So a label the process provably does not carry is a failure, whatever
the reason; only what cannot be read is a skip. An empty label asks for
nothing, and is a skip.
"""

import errno
import os

from runtimetest.core.registry import MUST, check

APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
ATTR = "/proc/self/attr"
REFUSE = "a runtime that cannot apply a label must refuse the config"
# Filesystems a runtime mounts with context=<mountLabel> (bind mounts keep their source's label).
CONTEXT_FILESYSTEMS = ("tmpfs", "devpts", "mqueue", "shm")


def _read(path):
    with open(path) as handle:
        return handle.read().rstrip("\n\0")


def current_label():
    """(label, None) from /proc/self/attr/current, or (None, errno) when it cannot be read."""
    try:
        return _read(f"{ATTR}/current"), None
    except OSError as error:
        return None, error.errno


def apparmor_state():
    """(active, how we know)."""
    try:
        return _read(APPARMOR_ENABLED).strip() == "Y", APPARMOR_ENABLED
    except OSError:
        pass
    if os.path.isdir(f"{ATTR}/apparmor"):
        try:
            _read(f"{ATTR}/apparmor/current")
            return True, f"{ATTR}/apparmor/current"
        except OSError:
            pass
    return False, f"no {APPARMOR_ENABLED}"


def selinux_state():
    """(active, how we know, the process's context or None); active None when it cannot be told."""
    label, error = current_label()
    if error == errno.EINVAL:
        return False, f"{ATTR}/current: EINVAL", None
    if error is not None:
        return None, f"{ATTR}/current: {errno.errorcode.get(error, error)}", None
    if os.path.isdir("/sys/fs/selinux") and os.path.exists("/sys/fs/selinux/enforce"):
        return True, "/sys/fs/selinux", label
    if label.count(":") >= 2 and "(" not in label:
        return True, f"{ATTR}/current holds a context", label
    return False, f"{ATTR}/current holds {label!r}, not an SELinux context", None


def apparmor_profile_name(text):
    """'name (enforce)' -> 'name'; 'unconfined' stays."""
    return text.rsplit(" (", 1)[0] if text.endswith(")") else text


@check("process.apparmorProfile", MUST, "config.md#linux-process", needs="process.apparmorProfile")
def apparmor_profile_is_applied(spec, result):
    """The process runs under the AppArmor profile process.apparmorProfile names."""
    expected = spec.str("process.apparmorProfile")
    active, how = apparmor_state()
    if not expected:
        result.skip("an empty profile asks for none" + ("" if active else f"; AppArmor is not enabled here ({how})"))
    if not active:
        result.fail("process.apparmorProfile", expected, "no AppArmor on this kernel", why=f"{how}; {REFUSE}")
        return
    path = f"{ATTR}/apparmor/current" if os.path.exists(f"{ATTR}/apparmor/current") else f"{ATTR}/current"
    found = apparmor_profile_name(_read(path))
    if found != expected:
        result.fail("process.apparmorProfile", expected, found, why=path)


def selinux_label_asked(spec, result, field):
    """(label asked for, the process's label) when there is a label to compare.

    An empty label, or not knowing whether SELinux is enabled, is a SKIP; a
    label asked for on a kernel without SELinux is a failure (the process cannot
    carry it) and gives (None, None).
    """
    expected = spec.str(field)
    active, how, label = selinux_state()
    if not expected:
        result.skip("an empty label asks for none" + ("" if active else f"; SELinux is not enabled here ({how})"))
    if active is None:
        result.skip(f"cannot tell whether SELinux is enabled: {how}")
    if not active:
        result.fail(field, expected, "no SELinux on this kernel", why=f"{how}; {REFUSE}")
        return None, None
    return expected, label


@check("process.selinuxLabel", MUST, "config.md#linux-process", needs="process.selinuxLabel")
def selinux_label_is_applied(spec, result):
    """The process carries the SELinux label process.selinuxLabel."""
    expected, label = selinux_label_asked(spec, result, "process.selinuxLabel")
    if expected is not None and label != expected:
        result.fail("process.selinuxLabel", expected, label, why=f"{ATTR}/current")


def mount_contexts(spec):
    """(destination, context= value or None) for each declared mount made with context=."""
    from runtimetest.checker.checks.mounts.declared import declared_mounts

    declared, _ = declared_mounts(spec)
    for mount in declared:
        if mount.entry is None or mount.bind or mount.entry.fstype not in CONTEXT_FILESYSTEMS:
            continue
        value = mount.entry.super_value("context")
        yield mount.destination, value.strip('"') if value else None


@check("linux.mountLabel", MUST, "config-linux.md#mount-label", needs="linux.mountLabel")
def mount_label_is_applied(spec, result):
    """The container's mounts carry the SELinux context linux.mountLabel."""
    expected, _ = selinux_label_asked(spec, result, "linux.mountLabel")
    if expected is None:
        return
    seen = 0
    for destination, context in mount_contexts(spec):
        seen += 1
        if context != expected:
            result.fail("linux.mountLabel", expected, context or "no context= option",
                        why=f"the mount at {destination}")
    if not seen:
        result.skip(f"no declared mount of a filesystem that takes context= ({', '.join(CONTEXT_FILESYSTEMS)})")
