"""linux.namespaces: the namespaces the process is in (config-linux.md "Namespaces").

For every namespace type: one listed without a `path` must be new, one listed
with a `path` must be exactly the namespace at that path, one not listed must be
the runtime's own. Namespaces are told apart by the inode of /proc/self/ns/<x>.
The runtime's inodes and those of the paths cannot be seen from inside: the
driver passes them as annotations (org.runtimetest.host.ns.<type>,
org.runtimetest.host.nspath.<type>, see runtimetest/driver/hostfacts.py).
Without them, what the process can see for itself decides where it can (pid 1
in a new pid namespace, / in /proc/self/cgroup in a new cgroup namespace), and
the check is a SKIP where it cannot (uts, ipc, network, user, ...). Under
gVisor the process's namespaces are those of gVisor's own kernel, numbered by
it: the host's inodes say nothing about them, and only the process's own
evidence counts.
"""

import errno
import os

from runtimetest.checker import container
from runtimetest.core import facts
from runtimetest.core.registry import MUST, check
from runtimetest.core.spec import show

HOST_NS = facts.HOST_NS
HOST_NSPATH = facts.HOST_NSPATH
PROC_CGROUP = "/proc/self/cgroup"

# Spec type -> the name of its file in /proc/<pid>/ns.
NS_FILES = {
    "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc",
    "uts": "uts", "user": "user", "cgroup": "cgroup", "time": "time",
}


def own_namespace(kind):
    """The inode of this process's namespace of a type, or None when the kernel has none."""
    try:
        return os.stat(f"/proc/self/ns/{NS_FILES[kind]}").st_ino
    except OSError as error:
        if error.errno == errno.ENOENT:
            return None
        raise


def label(kind, inode):
    return f"{NS_FILES[kind]}:[{inode}]"


GVISOR_INODES = "gVisor's kernel numbers its namespaces itself: the host's inodes cannot be compared"


def inode_fact(spec, key):
    """An inode passed by the driver as an annotation, or None when absent, not one, or of another kernel."""
    if container.gvisor():
        return None
    value = spec.annotation(key)
    if value is None or not value.isdigit():
        return None
    return int(value)


def requested(spec, kind):
    """(field, entry) for the linux.namespaces entries of a type (field names its index)."""
    found = []
    for index, entry in enumerate(spec.items("linux.namespaces")):
        if entry.str("type") == kind:
            entry.str("path")  # a path of the wrong type is reported, never ignored
            found.append((f"linux.namespaces[{index}]", entry))
    return found


# -- what the process can see for itself -------------------------------------
# Each returns "new" or "runtime" when the evidence settles it, else None,
# with a description of what was seen.

def pid_evidence(spec):
    """The process the runtime starts in a new pid namespace is its pid 1."""
    top = container.pid()
    if top == 1:
        return "new", "the process the runtime started is pid 1"
    if container.under_init_shim(spec.strings("process.args", [])):
        return "new", f"pid 1 runs process.args (an init shim) and the checker, pid {top}, descends from it"
    # pid 1 of the runtime's namespace (or of one joined) is never the process it started.
    return "runtime", (f"the process the runtime started is pid {top}, "
                       "and pid 1 is not an init shim running process.args")


def network_evidence(spec):
    devices = network_devices()
    # Devices settle nothing: a runtime may itself run in a namespace holding
    # only `lo`, and devices can be moved into a new one between create and start.
    return None, f"network devices {show(devices)}, which a new namespace and the runtime's could both hold"


def network_devices(path="/proc/self/net/dev"):
    """The devices of this process's network namespace (the kernel's own list)."""
    with open(path) as handle:
        lines = handle.read().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line)


def user_evidence(spec):
    from runtimetest.linux import idmap

    mapping = idmap.read_id_map(idmap.UID_MAP)
    # A map says how ids reach the parent namespace, not who made the namespace:
    # a rootless runtime runs in a user namespace of its own, which the process
    # inherits, and a new namespace may be given the full identity map.
    return None, f"/proc/self/uid_map {show(mapping)}, which a new namespace and the runtime's could both have"


def cgroup_evidence(spec):
    from runtimetest.linux.cgroupfs import parse_proc_cgroup

    with open(PROC_CGROUP) as handle:
        paths = sorted({path for _, _, path in parse_proc_cgroup(handle.read())})
    seen = f"/proc/self/cgroup shows {show(paths)}"
    # A new cgroup namespace is rooted at the container's cgroup, so the process
    # sees itself at "/"; in the runtime's it sees the full path of the cgroup
    # the runtime made for it, which is never the root.
    if any(path.startswith("/..") for path in paths):
        return None, f"{seen}: outside its namespace's root"
    if paths != ["/"]:
        return "runtime", seen
    unmanaged = facts.cgroups_unmanaged(spec)
    if unmanaged:
        return None, f"{seen}, and the runtime made no cgroup ({unmanaged})"
    return "new", f"{seen}: every cgroup as /"


EVIDENCE = {
    "pid": pid_evidence,
    "network": network_evidence,
    "user": user_evidence,
    "cgroup": cgroup_evidence,
}


# -- the check, once per type --------------------------------------------------

def check_namespace(kind, spec, result):
    entries = requested(spec, kind)
    if len(entries) > 1:
        result.problem(f"linux.namespaces: {kind} is listed {len(entries)} times "
                       "(the runtime MUST generate an error for duplicated types)")
        return
    mine = own_namespace(kind)
    if mine is None:
        result.skip(f"this kernel has no {kind} namespaces (/proc/self/ns/{NS_FILES[kind]} is absent)")
    if not entries:
        expect_runtime_namespace(kind, spec, result, mine)
        return
    field, entry = entries[0]
    path = entry.str("path")
    if path:
        expect_namespace_at_path(kind, spec, result, mine, f"{field}.path", path)
    else:
        expect_new_namespace(kind, spec, result, mine, field)


def expect_runtime_namespace(kind, spec, result, mine):
    host = inode_fact(spec, HOST_NS + kind)
    why = f"{kind} is not listed: the runtime's namespace is inherited"
    if host is not None:
        if mine != host:
            result.fail("linux.namespaces", label(kind, host), label(kind, mine), why=why)
        return
    settled, seen = evidence(kind, spec)
    if settled == "new":
        result.fail("linux.namespaces", f"the runtime's {kind} namespace", f"a new one ({seen})", why=why)
    elif settled is None:
        result.skip(no_host_fact(kind, seen))
    else:
        result.note(f"the runtime's {kind} namespace seen from inside: {seen}")


def expect_new_namespace(kind, spec, result, mine, field):
    host = inode_fact(spec, HOST_NS + kind)
    if host is not None:
        if mine == host:
            result.fail(field, f"a new {kind} namespace", label(kind, mine), why="the runtime's own")
        return
    settled, seen = evidence(kind, spec)
    if settled == "runtime":
        result.fail(field, f"a new {kind} namespace", f"the runtime's ({seen})")
    elif settled is None:
        result.skip(no_host_fact(kind, seen))
    else:
        result.note(f"new {kind} namespace seen from inside: {seen}")


def expect_namespace_at_path(kind, spec, result, mine, field, path):
    target = inode_fact(spec, HOST_NSPATH + kind)
    if target is None and container.gvisor():
        result.skip(f"{GVISOR_INODES} with the namespace at {path}")
    if target is None and kind == "pid":
        # A process that joins a pid namespace is never its pid 1: that one is running.
        settled, seen = evidence(kind, spec)
        if settled == "new":
            result.fail(field, f"the pid namespace at {path}", f"a new one ({seen})")
        result.skip(f"not a new pid namespace ({seen}), but which one cannot be seen from inside "
                    f"without the {HOST_NSPATH}{kind} annotation")
    if target is None:
        told = spec.annotation(HOST_NSPATH + kind)
        if told:
            result.skip(f"the driver could not tell which namespace is at {path}: {told}")
        result.skip(f"the namespace at {path} cannot be seen from inside and the driver passed "
                    f"no {HOST_NSPATH}{kind} annotation")
    if mine != target:
        result.fail(field, label(kind, target), label(kind, mine), why=f"the namespace at {path}")


def evidence(kind, spec):
    probe = EVIDENCE.get(kind)
    if probe is None:
        return None, "nothing a process can see tells this namespace apart"
    return probe(spec)


def no_host_fact(kind, seen):
    unknown = GVISOR_INODES if container.gvisor() else f"no {HOST_NS}{kind} annotation"
    return (f"the runtime's {kind} namespace is not known ({unknown}) "
            f"and what the process sees does not settle it: {seen}")


def declare(kind):
    def namespace_is_applied(spec, result):
        check_namespace(kind, spec, result)

    # The title --list shows is the docstring: set it before registering.
    namespace_is_applied.__doc__ = (f"A listed {kind} namespace is new, or the one at its path; "
                                    f"an unlisted one is the runtime's.")
    # Any Linux spec says something of every type: listed, or not (then inherited).
    check(f"linux.namespaces.{kind}", MUST, "config-linux.md#namespaces", needs="linux")(namespace_is_applied)


for _kind in NS_FILES:
    declare(_kind)
