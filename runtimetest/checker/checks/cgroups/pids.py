"""linux.resources.pids: the limit as the kernel keeps it (config-linux.md "pids").

Whether forking past it fails is probed in probes.py.
"""

from runtimetest.checker.checks.cgroups.common import compare_file, resource_check, shown

@resource_check("linux.resources.pids.limit", "config-linux.md#pids", "pids")
def pids_limit_is_applied(spec, result, group):
    """pids.max is linux.resources.pids.limit ("max" when it is 0 or less)."""
    limit = spec.int("linux.resources.pids.limit")
    compare_file(result, "linux.resources.pids.limit", group, "pids.max", -1 if limit <= 0 else limit,
                 lambda e, f: shown(f) == e)
