"""linux.resources.network: classID and priorities (config-linux.md "Network", cgroup v1)."""

from runtimetest.checker.checks.cgroups.common import compare_file, resource_check
from runtimetest.checker.checks.namespaces import inode_fact, own_namespace
from runtimetest.core import facts

@resource_check("linux.resources.network.classID", "config-linux.md#network", "net_cls")
def net_classid_is_applied(spec, result, group):
    """net_cls.classid is linux.resources.network.classID (cgroup v1)."""
    compare_file(result, "linux.resources.network.classID", group, "net_cls.classid",
                 spec.int("linux.resources.network.classID"))


@resource_check("linux.resources.network.priorities", "config-linux.md#network", "net_prio")
def net_priorities_are_applied(spec, result, group):
    """net_prio.ifpriomap gives each listed interface its priority (cgroup v1)."""
    host = inode_fact(spec, facts.host_ns("network"))
    if host is None or own_namespace("network") != host:
        # ifpriomap lists the interfaces of the reader's network namespace; the
        # priorities name interfaces of the runtime's.
        result.skip("net_prio.ifpriomap shows the interfaces of the container's network namespace; "
                    "linux.resources.network.priorities names those of the runtime's, "
                    "which the container does not share (or the driver did not say)")
    table = dict(line.split() for line in (group.read("net_prio.ifpriomap") or "").splitlines()
                 if len(line.split()) == 2)
    for index, entry in enumerate(spec.items("linux.resources.network.priorities")):
        name, priority = entry.str("name"), entry.int("priority")
        found = table.get(name)
        if found is None or int(found) != priority:
            result.fail(f"linux.resources.network.priorities[{index}]", {name: priority},
                        {name: None if found is None else int(found)}, why="net_prio.ifpriomap")
