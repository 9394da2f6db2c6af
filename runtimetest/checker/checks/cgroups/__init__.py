"""linux.cgroupsPath and linux.resources: the container's own cgroup, as the process
sees it (config-linux.md "Control groups").

The container's cgroup is found from inside (runtimetest.linux.cgroupfs): /proc/self/cgroup
says which cgroup of each hierarchy the process is in, /proc/self/mountinfo where
each hierarchy is mounted and which of its cgroups the mount shows as its root.

Each resource is compared with the file the kernel shows for it (memory.max or
memory.limit_in_bytes, ...), one module per resource. Two limits a sandbox
relies on are also probed in forked children (probes): forking past
pids.limit must fail with EAGAIN, and a child allocating past the memory limit
must be refused or killed while the checker survives.

The modules register in this order, which is the order of the TAP stream.
"""

# noqa: F401 throughout: importing is registering.
from runtimetest.checker.checks.cgroups import path  # noqa: F401  linux.cgroupsPath
from runtimetest.checker.checks.cgroups import memory  # noqa: F401
from runtimetest.checker.checks.cgroups import cpu  # noqa: F401
from runtimetest.checker.checks.cgroups import pids  # noqa: F401
from runtimetest.checker.checks.cgroups import io  # noqa: F401
from runtimetest.checker.checks.cgroups import hugetlb  # noqa: F401
from runtimetest.checker.checks.cgroups import network  # noqa: F401
from runtimetest.checker.checks.cgroups import unified  # noqa: F401
from runtimetest.checker.checks.cgroups import probes  # noqa: F401  (last: they fork and allocate)
