"""process.capabilities: the five capability sets (config.md "Linux Process").

Each set named in the spec must hold exactly what the spec's sets make of it
once the runtime has applied them and exec'd the process, among the
capabilities this kernel knows (/proc/sys/kernel/cap_last_cap, or where that
file is absent, as under gVisor, the last one PR_CAPBSET_READ accepts):

- bounding and inheritable are kept as listed;
- a capability can only be ambient if it is also permitted and inheritable;
- execve(2) recomputes permitted and effective: for a root process (without
  SECBIT_NOROOT) permitted becomes bounding | inheritable, cut down to the
  permitted set it had when no_new_privs is set, plus ambient, and effective the
  same; for any other process both become the ambient set.

When the spec's own list differs from what execve(2) makes of it, the check
says so in a TAP note and expects the kernel's result. Capabilities the kernel
does not know cannot be granted: the spec asks runtimes to warn about them, not
to fail, so they are noted and left out.
"""

import errno
import os

from runtimetest.checker import container
from runtimetest.core.registry import MUST, check

SECTION = "config.md#linux-process"
SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
SECBIT_NOROOT = 1 << 0
PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET = 47, 1

# capabilities(7), by number; python-prctl's own table lags behind the kernel.
CAPABILITY_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def kernel_last_cap():
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read().strip())
    except FileNotFoundError:
        return probed_last_cap()


def probed_last_cap():
    """The last capability PR_CAPBSET_READ accepts: the kernel refuses unknown ones with EINVAL.

    Probed only as far as python-prctl's table goes; no capability beyond it is checked.
    """
    import prctl

    last = -1
    for number in sorted(prctl.ALL_CAPS):
        try:
            prctl.capbset_read(number)
        except OSError as error:
            if error.errno == errno.EINVAL:
                break
            raise
        last = number
    return last


def checkable_capabilities():
    """Name -> number of the capabilities both this kernel and python-prctl can query."""
    import prctl

    last_cap = kernel_last_cap()
    return {name: number for number, name in enumerate(CAPABILITY_NAMES)
            if number <= last_cap and number in prctl.ALL_CAPS}


class AmbientUnknown(Exception):
    """The kernel does not show the ambient set (the message says how it was asked)."""


def ambient_mask(numbers):
    """The ambient set as a bit mask: /proc/self/status's CapAmb, else PR_CAP_AMBIENT_IS_SET.

    AmbientUnknown when the kernel shows neither: gVisor has no CapAmb line and
    refuses PR_CAP_AMBIENT with EINVAL.
    """
    text = container.status().get("CapAmb")
    if text is not None:
        return int(text, 16)
    from runtimetest.linux.syscalls import prctl

    mask = 0
    for number in numbers:
        try:
            held = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, number, 0, 0)
        except OSError as error:
            name = errno.errorcode.get(error.errno, "an error")
            raise AmbientUnknown("this kernel shows no ambient capability set: /proc/self/status has "
                                 f"no CapAmb line and prctl(PR_CAP_AMBIENT) fails with {name}")
        mask |= held << number
    return mask


def held_by_process(set_name, names):
    """The names (of `names`) the process holds in one set."""
    import prctl

    numbers = list(names.values())
    if set_name == "bounding":
        held = {n for n in numbers if prctl.capbset_read(n)}
    elif set_name == "ambient":
        # python-prctl has no PR_CAP_AMBIENT: the kernel's status line, else prctl(2) itself.
        mask = ambient_mask(numbers)
        held = {n for n in numbers if mask >> n & 1}
    else:
        flag = {"effective": prctl.CAP_EFFECTIVE, "permitted": prctl.CAP_PERMITTED,
                "inheritable": prctl.CAP_INHERITABLE}[set_name]
        held = {n for n, present in prctl.get_caps((numbers, flag))[flag].items() if present}
    return {name for name, number in names.items() if number in held}


def root_rules():
    """Whether execve(2) treated the process as root for permitted, and for effective."""
    import prctl

    ruid, euid, _ = os.getresuid()
    noroot = bool(securebits() & SECBIT_NOROOT)
    return (0 in (ruid, euid)) and not noroot, euid == 0 and not noroot


def securebits():
    """The process's securebits; none on a kernel without them.

    gVisor refuses PR_GET_SECUREBITS with EINVAL: a kernel that cannot set
    securebits cannot have set SECBIT_NOROOT either.
    """
    import prctl

    try:
        return prctl.get_securebits()
    except OSError as error:
        if error.errno == errno.EINVAL:
            return 0
        raise


def no_new_privs():
    import prctl

    return bool(prctl.get_no_new_privs())


def after_execve(declared, held, root_permitted, root_effective, no_new_privs):
    """What each set holds once the declared sets are applied and the process exec'd.

    A set the spec leaves out is taken as the process holds it.
    """
    def given(name):
        return declared[name] if name in declared else held[name]

    bounding, inheritable, permitted_before = given("bounding"), given("inheritable"), given("permitted")
    ambient = given("ambient") & permitted_before & inheritable
    permitted = set()
    if root_permitted:
        permitted = bounding | inheritable
        if no_new_privs and not permitted <= permitted_before:
            permitted &= permitted_before  # no_new_privs: execve grants nothing new
    permitted |= ambient
    effective = permitted if root_effective else ambient
    return {"bounding": bounding, "inheritable": inheritable, "ambient": ambient,
            "permitted": permitted, "effective": effective}


def compare_set(spec, result, set_name):
    names = checkable_capabilities()
    declared = {}
    for name in SETS:
        listed = spec.strings(f"process.capabilities.{name}")
        if listed is None:
            continue
        unknown = sorted(set(listed) - set(names))
        if unknown and name == set_name:
            result.note(f"not capabilities this kernel and python-prctl know, left out: {', '.join(unknown)}")
        declared[name] = set(listed) & set(names)
    held = {name: held_by_process(name, names) for name in SETS if name != "ambient"}
    try:
        held["ambient"] = held_by_process("ambient", names)
    except AmbientUnknown as unknown:
        # The other sets need the held ambient set only when the spec leaves it out;
        # when it lists one, after_execve takes the listed set and never reads this.
        if set_name == "ambient" or "ambient" not in declared:
            result.skip(str(unknown))
        held["ambient"] = declared["ambient"]
    expected = after_execve(declared, held, *root_rules(), no_new_privs())[set_name]
    field = f"process.capabilities.{set_name}"
    if expected != declared[set_name]:
        result.note(f"execve(2) turns the declared {set_name} set {sorted(declared[set_name])} "
                    f"into {sorted(expected)} for this process: expecting that")
    found = held[set_name]
    if found != expected:
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        why = "; ".join(part for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(unexpected)}" if unexpected else "") if part)
        result.fail(field, sorted(expected), sorted(found), why)


def _declare(set_name):
    field = f"process.capabilities.{set_name}"

    def capability_set_is_applied(spec, result):
        compare_set(spec, result, set_name)

    capability_set_is_applied.__doc__ = f"The {set_name} capability set is what {field} makes of it."
    check(field, MUST, SECTION, needs=field)(capability_set_is_applied)


for _set_name in SETS:
    _declare(_set_name)
