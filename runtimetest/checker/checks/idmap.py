"""linux.uidMappings, gidMappings and timeOffsets: what the user and time namespaces
were given (config-linux.md "User namespace mappings", "Offset for Time Namespace").

A process reads its own namespace's mappings in /proc/self/uid_map and gid_map
(containerID, then the ID in the parent namespace, then the size) and its time
namespace's clock offsets in /proc/self/timens_offsets.
"""

import errno

from runtimetest.core.registry import MUST, check
from runtimetest.linux import idmap

# Clocks a time namespace can offset, and the ids older kernels print instead.
TIME_CLOCKS = {"monotonic": "1", "boottime": "7"}


def declared_mappings(spec, field):
    mappings = []
    for entry in spec.items(field):
        mappings.append([entry.int("containerID"), entry.int("hostID"), entry.int("size")])
    return sorted(mappings, key=lambda m: [-1 if v is None else v for v in m])


def check_mappings(spec, result, field, path):
    expected = declared_mappings(spec, field)
    found = idmap.read_id_map(path)
    if found != expected:
        result.fail(field, expected, found, why=f"{path}: containerID hostID size")


@check("linux.uidMappings", MUST, "config-linux.md#user-namespace-mappings", needs="linux.uidMappings")
def uid_mappings_are_applied(spec, result):
    """/proc/self/uid_map holds exactly linux.uidMappings."""
    check_mappings(spec, result, "linux.uidMappings", idmap.UID_MAP)


@check("linux.gidMappings", MUST, "config-linux.md#user-namespace-mappings", needs="linux.gidMappings")
def gid_mappings_are_applied(spec, result):
    """/proc/self/gid_map holds exactly linux.gidMappings."""
    check_mappings(spec, result, "linux.gidMappings", idmap.GID_MAP)


def read_time_offsets(path="/proc/self/timens_offsets"):
    """clock name -> (secs, nanosecs) of this process's time namespace, or None without one."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        if error.errno == errno.ENOENT:
            return None
        raise
    by_id = {number: name for name, number in TIME_CLOCKS.items()}
    offsets = {}
    for line in lines:
        fields = line.split()
        if len(fields) == 3:
            offsets[by_id.get(fields[0], fields[0])] = (int(fields[1]), int(fields[2]))
    return offsets


@check("linux.timeOffsets", MUST, "config-linux.md#offset-for-time-namespace", needs="linux.timeOffsets")
def time_offsets_are_applied(spec, result):
    """/proc/self/timens_offsets holds each clock's linux.timeOffsets secs and nanosecs."""
    declared = spec.dict("linux.timeOffsets")
    offsets = read_time_offsets()
    if offsets is None:
        result.skip("this kernel has no time namespaces (/proc/self/timens_offsets is absent; Linux < 5.6)")
    for clock in sorted(declared):
        field = f"linux.timeOffsets.{clock}"
        if clock not in TIME_CLOCKS:
            result.problem(f"{field}: not a clock a time namespace offsets (monotonic, boottime)")
            continue
        secs = spec.int(f"{field}.secs", 0)
        nanosecs = spec.int(f"{field}.nanosecs", 0)
        found = offsets.get(clock)
        if found != (secs, nanosecs):
            result.fail(field, {"secs": secs, "nanosecs": nanosecs},
                        None if found is None else {"secs": found[0], "nanosecs": found[1]},
                        why="/proc/self/timens_offsets")
