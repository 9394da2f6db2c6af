"""process.scheduler, process.ioPriority, process.execCPUAffinity and linux.personality
(config.md "Linux Process", config-linux.md "Personality").

Scheduling attributes and the I/O priority are read from the process the
runtime started (sched_getattr(2), ioprio_get(2), sched_getaffinity(2) on its
pid): the bootloaders between it and the checker could have lost a policy set
with SCHED_FLAG_RESET_ON_FORK. The personality is inherited unchanged and is
read from /proc/self/personality, else asked of personality(2) (gVisor has
neither: a SKIP there).
"""

import errno
import os
import struct

from runtimetest.checker import container
from runtimetest.core.registry import MUST, check
from runtimetest.linux.proc import format_cpu_list, parse_cpu_list

SCHED_POLICIES = {
    "SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
    "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6,
}
# Flags sched_getattr(2) reports back; KEEP_* and UTIL_CLAMP_* only steer a set.
SCHED_FLAGS_SHOWN = {
    "SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02, "SCHED_FLAG_DL_OVERRUN": 0x04,
}
SCHED_FLAGS_SET_ONLY = {
    "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
}
IOPRIO_CLASSES = {"IOPRIO_CLASS_NONE": 0, "IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
IOPRIO_WHO_PROCESS = 1
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
PER_MASK = 0x00FF

SCHED_ATTR = struct.Struct("=IIQiIQQQII")  # struct sched_attr, as the kernel fills it
SCHED_ATTR_FIELDS = ("size", "policy", "flags", "nice", "priority", "runtime", "deadline", "period",
                     "util_min", "util_max")


def sched_getattr(pid):
    """struct sched_attr of a process, as a dict."""
    from runtimetest.linux.syscalls import call

    buffer = bytearray(SCHED_ATTR.size)
    call("sched_getattr", pid, buffer, SCHED_ATTR.size, 0)
    return dict(zip(SCHED_ATTR_FIELDS, SCHED_ATTR.unpack(buffer)))


def unavailable(result, what, error):
    # Under seccomp or an old kernel the call may be refused: that cannot decide anything.
    if error.errno in (errno.ENOSYS, errno.EPERM, errno.EACCES):
        result.skip(f"{what} is not available here ({errno.errorcode.get(error.errno)}: {error.strerror})")
    raise error


def name_of(table, value):
    for name, number in table.items():
        if number == value:
            return name
    return value


@check("process.scheduler", MUST, "config.md#linux-process", needs="process.scheduler")
def scheduler_is_applied(spec, result):
    """sched_getattr(2) on the process shows process.scheduler: policy, nice, priority, flags, deadline times."""
    policy = spec.str("process.scheduler.policy")
    if policy not in SCHED_POLICIES:
        result.problem(f"process.scheduler.policy: {policy!r} is not a scheduling policy")
        return
    try:
        attr = sched_getattr(container.pid())
    except OSError as error:
        unavailable(result, "sched_getattr(2)", error)
    if attr["policy"] != SCHED_POLICIES[policy]:
        result.fail("process.scheduler.policy", policy, name_of(SCHED_POLICIES, attr["policy"]))
    for key in ("nice", "priority", "runtime", "deadline", "period"):
        wanted = spec.int(f"process.scheduler.{key}")
        if wanted is not None and attr[key] != wanted:
            result.fail(f"process.scheduler.{key}", wanted, attr[key])
    flags = spec.strings("process.scheduler.flags", [])
    for flag in flags:
        if flag not in SCHED_FLAGS_SHOWN and flag not in SCHED_FLAGS_SET_ONLY:
            result.problem(f"process.scheduler.flags: {flag!r} is not a sched_setattr(2) flag")
    wanted_shown = sorted(f for f in flags if f in SCHED_FLAGS_SHOWN)
    found_shown = sorted(n for n, bit in SCHED_FLAGS_SHOWN.items() if attr["flags"] & bit)
    if wanted_shown != found_shown:
        result.fail("process.scheduler.flags", wanted_shown, found_shown, why="flags sched_getattr(2) reports")


@check("process.ioPriority", MUST, "config.md#linux-process", needs="process.ioPriority")
def io_priority_is_applied(spec, result):
    """ioprio_get(2) on the process shows process.ioPriority's class and priority."""
    from runtimetest.linux.syscalls import call

    klass = spec.str("process.ioPriority.class")
    if klass not in IOPRIO_CLASSES:
        result.problem(f"process.ioPriority.class: {klass!r} is not an I/O scheduling class")
        return
    priority = spec.int("process.ioPriority.priority", 0)
    try:
        value = call("ioprio_get", IOPRIO_WHO_PROCESS, container.pid())
    except OSError as error:
        unavailable(result, "ioprio_get(2)", error)
    found_class, found_priority = value >> 13, value & 0x1FFF
    if found_class != IOPRIO_CLASSES[klass]:
        result.fail("process.ioPriority.class", klass, name_of(IOPRIO_CLASSES, found_class))
    elif klass != "IOPRIO_CLASS_IDLE" and found_priority != priority:
        # The idle class has no levels: its priority is not kept.
        result.fail("process.ioPriority.priority", priority, found_priority)


@check("process.execCPUAffinity.final", MUST, "config.md#linux-process",
       needs="process.execCPUAffinity.final")
def exec_cpu_affinity_is_applied(spec, result):
    """The process runs on exactly the CPUs of process.execCPUAffinity.final."""
    text = spec.str("process.execCPUAffinity.final")
    try:
        expected = parse_cpu_list(text)
    except ValueError:
        result.problem(f"process.execCPUAffinity.final: {text!r} is not a CPU list")
        return
    found = sorted(os.sched_getaffinity(container.pid()))
    if found != expected:
        result.fail("process.execCPUAffinity.final", text, format_cpu_list(found), why="sched_getaffinity(2)")


class PersonalityUnknown(Exception):
    """The kernel shows no personality (the message says how it was asked)."""


def current_personality():
    """(personality, where it was read): /proc/self/personality, else personality(0xffffffff)."""
    try:
        with open("/proc/self/personality") as handle:
            return int(handle.read().strip(), 16), "/proc/self/personality"
    except FileNotFoundError:
        pass
    from runtimetest.linux.syscalls import personality

    try:
        found = personality(0xFFFFFFFF)
    except OSError as error:
        name = errno.errorcode.get(error.errno, "an error")
        raise PersonalityUnknown(f"this kernel shows no personality: /proc/self/personality is absent "
                                 f"and personality(2) fails with {name}")
    return found, "personality(2)"


@check("linux.personality", MUST, "config-linux.md#personality", needs="linux.personality")
def personality_is_applied(spec, result):
    """The execution domain (personality(2)) is linux.personality.domain."""
    domain = spec.str("linux.personality.domain")
    flags = spec.strings("linux.personality.flags", [])
    if domain not in PERSONALITY_DOMAINS:
        result.problem(f"linux.personality.domain: {domain!r} is not an execution domain (LINUX, LINUX32)")
        return
    if flags:
        result.note(f"linux.personality.flags {flags}: the spec defines no flag values; not compared")
    try:
        found, source = current_personality()
    except PersonalityUnknown as unknown:
        result.skip(str(unknown))
    found &= PER_MASK
    if found != PERSONALITY_DOMAINS[domain]:
        result.fail("linux.personality.domain", domain, name_of(PERSONALITY_DOMAINS, found),
                    why=f"{source} {found:#06x}")
