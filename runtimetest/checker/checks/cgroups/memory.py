"""linux.resources.memory: limit, reservation, swap, swappiness, disableOOMKiller (config-linux.md "Memory")."""

from runtimetest.checker.checks.cgroups.common import (UNLIMITED, as_number, bytes_match, compare_file,
                                                       resource_check, shown)

MEMORY = "config-linux.md#memory"


@resource_check("linux.resources.memory.limit", MEMORY, "memory")
def memory_limit_is_applied(spec, result, group):
    """The container's memory limit (memory.max, memory.limit_in_bytes) is linux.resources.memory.limit."""
    name = "memory.max" if group.version == 2 else "memory.limit_in_bytes"
    compare_file(result, "linux.resources.memory.limit", group, name,
                 spec.int("linux.resources.memory.limit"), bytes_match)


@resource_check("linux.resources.memory.reservation", MEMORY, "memory")
def memory_reservation_is_applied(spec, result, group):
    """The soft limit (memory.low, memory.soft_limit_in_bytes) is linux.resources.memory.reservation."""
    name = "memory.low" if group.version == 2 else "memory.soft_limit_in_bytes"
    compare_file(result, "linux.resources.memory.reservation", group, name,
                 spec.int("linux.resources.memory.reservation"), bytes_match)


@resource_check("linux.resources.memory.swap", MEMORY, "memory")
def memory_swap_is_applied(spec, result, group):
    """The memory+swap limit is linux.resources.memory.swap (v2: memory.max + memory.swap.max)."""
    swap = spec.int("linux.resources.memory.swap")
    if group.version == 1:
        if not group.has("memory.memsw.limit_in_bytes"):
            result.skip("swap accounting is off in this kernel (no memory.memsw.limit_in_bytes)")
        compare_file(result, "linux.resources.memory.swap", group, "memory.memsw.limit_in_bytes", swap,
                     bytes_match)
        return
    limit = spec.int("linux.resources.memory.limit")
    if swap >= 0 and (limit is None or limit < 0):
        result.skip("cgroup v2 limits swap apart from memory: a swap limit without a memory limit has no v2 value")
    # v2 keeps swap apart (memory.swap.max = swap - limit): their sum is the memory+swap limit.
    memory, only_swap = (as_number(group.read(name)) for name in ("memory.max", "memory.swap.max"))
    if memory is None or only_swap is None:
        absent = "memory.max" if memory is None else "memory.swap.max"
        result.fail("linux.resources.memory.swap", swap, None, why=f"{absent} is absent from the container's cgroup")
        return
    found = UNLIMITED if UNLIMITED in (memory, only_swap) else memory + only_swap
    if not bytes_match(swap, found):
        result.fail("linux.resources.memory.swap", swap, shown(found),
                    why=f"memory.max + memory.swap.max: {shown(memory)} + {shown(only_swap)}")


@resource_check("linux.resources.memory.swappiness", MEMORY, "memory")
def memory_swappiness_is_applied(spec, result, group):
    """memory.swappiness is linux.resources.memory.swappiness (cgroup v1)."""
    if group.version == 2:
        result.skip("cgroup v2 has no per-cgroup swappiness")
    compare_file(result, "linux.resources.memory.swappiness", group, "memory.swappiness",
                 spec.int("linux.resources.memory.swappiness"))


@resource_check("linux.resources.memory.disableOOMKiller", MEMORY, "memory")
def oom_killer_setting_is_applied(spec, result, group):
    """oom_kill_disable in memory.oom_control is 1 exactly when disableOOMKiller is true (cgroup v1)."""
    if group.version == 2:
        result.skip("cgroup v2 has no switch to disable a cgroup's OOM killer")
    expected = spec.bool("linux.resources.memory.disableOOMKiller")
    control = dict(line.split() for line in (group.read("memory.oom_control") or "").splitlines()
                   if len(line.split()) == 2)
    found = control.get("oom_kill_disable")
    if found != ("1" if expected else "0"):
        result.fail("linux.resources.memory.disableOOMKiller", expected,
                    None if found is None else found == "1", why="memory.oom_control oom_kill_disable")
