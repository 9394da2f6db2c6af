"""linux.resources.unified: cgroup v2 files by name (config-linux.md "Unified")."""

from runtimetest.checker.checks.cgroups.common import reader
from runtimetest.core.registry import MUST, check
from runtimetest.linux.cgroupfs import CgroupUnavailable


@check("linux.resources.unified", MUST, "config-linux.md#unified", needs="linux.resources.unified")
def unified_is_applied(spec, result):
    """Each linux.resources.unified file of the container's cgroup2 cgroup holds its value."""
    declared = spec.dict("linux.resources.unified")
    try:
        group = reader().unified()
    except CgroupUnavailable as error:
        result.skip(f"linux.resources.unified needs cgroup v2: {error}")
    for key in sorted(declared):
        value = declared[key]
        if not isinstance(value, str):
            result.problem(f"linux.resources.unified[{key}]: spec field should be a string, found {value!r}")
            continue
        if "/" in key or key.startswith("."):
            result.problem(f"linux.resources.unified[{key}]: not a file name")
            continue
        found = group.read(key)
        if found is None or " ".join(found.split()) != " ".join(value.split()):
            result.fail(f"linux.resources.unified[{key}]", value, found, why=f"{key} in the container's cgroup")
