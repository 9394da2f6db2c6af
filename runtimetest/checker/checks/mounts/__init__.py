"""mounts, and the default filesystems, devices and /dev links (config.md "Mounts", config-linux.md).

What the process sees is read from /proc/self/mountinfo: one line per mount, in
the order the mounts were made, each with its mount point, filesystem type,
source, per-mount flags (ro, nosuid, nodev, noexec, the atime family),
propagation (shared:N, master:N, unbindable) and superblock options.

A runtime adds mounts of its own (masks over /proc files, read-only binds,
device nodes, a tmpfs holding the cgroup v1 hierarchies): the checks look only
at the mounts whose mount point is a declared destination, the k-th entry for a
destination being the k-th mount stacked there.

A bind mount's source lives outside the container: its identity (device and
inode, as the host sees them) reaches the checker as the annotation
`org.runtimetest.mounts.<index>.source-file`, and a block device source's
device number as `org.runtimetest.mounts.<index>.source-device` (core/facts.py);
both are written by the driver (runtimetest/driver/hostfacts.py). The
mountinfo parser is runtimetest.linux.mountinfo.

gVisor's kernel writes its own mountinfo: every source is "none", the per-mount
flags are only ro/rw, noatime and noexec, and its device and inode numbers are
not the host's. There, sources are a SKIP and the flags it never shows are
named in a TAP note, not compared.
"""


# noqa: F401 throughout: importing is registering, in this order (the TAP stream's).
from runtimetest.checker.checks.mounts import placement  # noqa: F401  mounts.destination, .type, .source
from runtimetest.checker.checks.mounts import options  # noqa: F401  mounts.options
from runtimetest.checker.checks.mounts import order  # noqa: F401  mounts.order
from runtimetest.checker.checks.mounts import defaults  # noqa: F401  default.*
