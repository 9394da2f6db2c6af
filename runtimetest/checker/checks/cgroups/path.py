"""linux.cgroupsPath: the process is in the cgroup the spec names (config-linux.md "Cgroups path")."""

from runtimetest.checker.checks.cgroups.common import reader
from runtimetest.checker.checks.namespaces import inode_fact, own_namespace
from runtimetest.checker.conditions import CGROUP_MANAGEMENT
from runtimetest.core import facts
from runtimetest.core.registry import MUST, check
from runtimetest.linux.cgroupfs import UNIFIED_NAME, V2


@check("linux.cgroupsPath", MUST, "config-linux.md#cgroups-path", needs="linux.cgroupsPath",
       requires=(CGROUP_MANAGEMENT,))
def cgroups_path_is_applied(spec, result):
    """The process is in the cgroup at linux.cgroupsPath (relative to the runtime's cgroup mounts)."""
    wanted = spec.str("linux.cgroupsPath")
    if new_cgroup_namespace(spec):
        result.skip("the container has a cgroup namespace of its own, rooted at its cgroup: "
                    "from inside, the cgroup path shows as /")
    memberships = managed_memberships(spec)
    if not memberships:
        result.skip("no cgroup hierarchy the runtime manages can be seen from inside")
    if not wanted.startswith("/"):
        placed = [path for _, path in memberships if path.rstrip("/").endswith("/" + wanted.strip("/"))]
        if len(placed) == len(memberships):
            return
        result.skip(f"a relative cgroupsPath is placed where the runtime decides; "
                    f"found {sorted({p for _, p in memberships})}")
    wrong = {}
    for name, path in memberships:
        root = spec.annotation(facts.host_cgroup_root(name)) or "/"
        expected = clean_path(root + "/" + wanted)
        if clean_path(path) != expected:
            wrong.setdefault((expected, path), []).append(name)
    for (expected, path), names in sorted(wrong.items()):
        result.fail("linux.cgroupsPath", expected, path,
                    why=f"the {', '.join(sorted(names))} cgroup in /proc/self/cgroup")


def clean_path(path):
    return "/" + "/".join(part for part in path.split("/") if part)


def new_cgroup_namespace(spec):
    host = inode_fact(spec, facts.host_ns("cgroup"))
    mine = own_namespace("cgroup")
    if host is not None and mine is not None:
        return mine != host
    return any(e.str("type") == "cgroup" and not e.str("path") for e in spec.items("linux.namespaces"))


def managed_memberships(spec):
    """(name, path) of each hierarchy the runtime places the container in: those mounted
    in the container, or, without mounts, those of the runtime's cgroup layout."""
    r = reader()
    mounted = []
    for hierarchy, controllers, path in r.memberships:
        if hierarchy == "0":
            if r.v2_mount() is not None:
                mounted.append((UNIFIED_NAME, path))
        else:
            mounted.extend((c, path) for c in controllers
                           if r.v1_mount(c) is not None and not c.startswith("name="))
    if mounted:
        return mounted
    if spec.annotation(facts.HOST_CGROUP_MODE) == V2:
        return [(UNIFIED_NAME, p) for h, _, p in r.memberships if h == "0"]
    return [(c, p) for h, cs, p in r.memberships if h != "0" for c in cs if not c.startswith("name=")]
