"""linux.resources.cpu: shares, quota, period, burst, real-time, idle, cpusets (config-linux.md "CPU")."""

from runtimetest.checker.checks.cgroups.common import UNLIMITED, compare_file, resource_check, shown
from runtimetest.linux.proc import parse_cpu_list

CPU = "config-linux.md#cpu"


def weight_from_shares(shares):
    """cgroup v2 cpu.weight for v1 shares, by the conversions runtimes use."""
    import math

    linear = 1 + ((shares - 2) * 9999) // 262142  # runc, crun before 1.10
    log = math.log2(max(shares, 2))
    curve = math.ceil(10 ** ((log * log + 125 * log) / 612.0 - 7.0 / 34.0))  # crun 1.10 and later
    return sorted({min(max(linear, 1), 10000), min(max(curve, 1), 10000)})


@resource_check("linux.resources.cpu.shares", CPU, "cpu")
def cpu_shares_are_applied(spec, result, group):
    """cpu.shares is linux.resources.cpu.shares (v2: cpu.weight, converted)."""
    shares = spec.int("linux.resources.cpu.shares")
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.shares", group, "cpu.shares", shares)
        return
    accepted = weight_from_shares(shares)
    text = group.read("cpu.weight")
    if text is None:
        result.fail("linux.resources.cpu.shares", shares, None, why="cpu.weight is absent from the container's cgroup")
    elif int(text) not in accepted:
        result.fail("linux.resources.cpu.shares", shares, int(text),
                    why=f"cpu.weight: shares {shares} convert to {' or '.join(map(str, accepted))}")


def cpu_max(group):
    """cgroup v2 cpu.max as (quota, period); quota is -1 for "max"."""
    fields = (group.read("cpu.max") or "").split()
    if len(fields) != 2:
        return None, None
    return (-1 if fields[0] == UNLIMITED else int(fields[0])), int(fields[1])


def compare_cpu_max(result, field, group, expected, index):
    found = cpu_max(group)[index]
    if found != expected:
        result.fail(field, expected, found, why="cpu.max")


@resource_check("linux.resources.cpu.quota", CPU, "cpu")
def cpu_quota_is_applied(spec, result, group):
    """The CFS quota (cpu.cfs_quota_us, cpu.max) is linux.resources.cpu.quota."""
    quota = spec.int("linux.resources.cpu.quota")
    expected = -1 if quota <= 0 else quota
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.quota", group, "cpu.cfs_quota_us", expected,
                     lambda e, f: shown(f) == e)
    else:
        compare_cpu_max(result, "linux.resources.cpu.quota", group, expected, 0)


@resource_check("linux.resources.cpu.period", CPU, "cpu")
def cpu_period_is_applied(spec, result, group):
    """The CFS period (cpu.cfs_period_us, cpu.max) is linux.resources.cpu.period."""
    period = spec.int("linux.resources.cpu.period")
    if group.version == 1:
        compare_file(result, "linux.resources.cpu.period", group, "cpu.cfs_period_us", period)
    else:
        compare_cpu_max(result, "linux.resources.cpu.period", group, period, 1)


@resource_check("linux.resources.cpu.burst", CPU, "cpu")
def cpu_burst_is_applied(spec, result, group):
    """The CFS burst (cpu.cfs_burst_us, cpu.max.burst) is linux.resources.cpu.burst."""
    name = "cpu.max.burst" if group.version == 2 else "cpu.cfs_burst_us"
    compare_file(result, "linux.resources.cpu.burst", group, name, spec.int("linux.resources.cpu.burst"))


def compare_realtime(spec, result, group, field, name, matches=None):
    """Real-time bandwidth is a cgroup v1 file, present only with RT group scheduling."""
    if group.version == 2:
        result.skip("cgroup v2 has no real-time bandwidth control")
    if not group.has(name):
        result.skip(f"this kernel has no real-time group scheduling (no {name})")
    compare_file(result, field, group, name, spec.int(field), matches)


@resource_check("linux.resources.cpu.realtimeRuntime", CPU, "cpu")
def cpu_rt_runtime_is_applied(spec, result, group):
    """cpu.rt_runtime_us is linux.resources.cpu.realtimeRuntime (cgroup v1)."""
    compare_realtime(spec, result, group, "linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us",
                     lambda e, f: shown(f) == e)


@resource_check("linux.resources.cpu.realtimePeriod", CPU, "cpu")
def cpu_rt_period_is_applied(spec, result, group):
    """cpu.rt_period_us is linux.resources.cpu.realtimePeriod (cgroup v1)."""
    compare_realtime(spec, result, group, "linux.resources.cpu.realtimePeriod", "cpu.rt_period_us")


@resource_check("linux.resources.cpu.idle", CPU, "cpu")
def cpu_idle_is_applied(spec, result, group):
    """cpu.idle is linux.resources.cpu.idle."""
    if not group.has("cpu.idle"):
        result.skip("this kernel has no cpu.idle (Linux < 5.15)")
    compare_file(result, "linux.resources.cpu.idle", group, "cpu.idle", spec.int("linux.resources.cpu.idle"))


def compare_list(result, field, group, name, text):
    try:
        expected = parse_cpu_list(text)
    except ValueError:
        result.problem(f"{field}: {text!r} is not a list like 0-3,7")
        return
    found = group.read(name)
    found_list = None if found is None else parse_cpu_list(found)
    if found_list != expected:
        result.fail(field, text, found, why=name)


@resource_check("linux.resources.cpu.cpus", CPU, "cpuset")
def cpuset_cpus_are_applied(spec, result, group):
    """cpuset.cpus lists exactly the CPUs of linux.resources.cpu.cpus."""
    compare_list(result, "linux.resources.cpu.cpus", group, "cpuset.cpus", spec.str("linux.resources.cpu.cpus"))


@resource_check("linux.resources.cpu.mems", CPU, "cpuset")
def cpuset_mems_are_applied(spec, result, group):
    """cpuset.mems lists exactly the memory nodes of linux.resources.cpu.mems."""
    compare_list(result, "linux.resources.cpu.mems", group, "cpuset.mems", spec.str("linux.resources.cpu.mems"))
