"""crun, and what it cannot do on a host with hybrid cgroups.

On such a host (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified)
crun refuses to run. Each crun command is then started in a private mount
namespace with a fresh cgroup2 mounted on /sys/fs/cgroup and
`--cgroup-manager=disabled`: containers run, but no cgroup limit, device rule
or cgroup path is applied, so a case whose config or told spec asks for one is
a SKIP saying so. crun also applies an empty SELinux label or AppArmor profile
as given, and fails where that module is off: a SKIP too.
"""

from runtimetest.core import facts
from runtimetest.driver import cgroups
from runtimetest.driver.runtimes.oci import Runtime
from runtimetest.driver.runtimes.rules import cgroup_requests, empty_labels_of_disabled_modules
from runtimetest.linux import cgroupfs


class Crun(Runtime):
    """crun; on a hybrid-cgroup host, each command runs in a private cgroup2 view."""

    name = "crun"
    CGROUPS_OFF = ("crun refuses hybrid cgroups, so it runs here with "
                   "--cgroup-manager=disabled: cgroup limits are not applied, nor device rules "
                   "nor the cgroup path")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.private_cgroup2 = cgroups.mode() == cgroupfs.HYBRID

    def prefix(self):
        if not self.private_cgroup2:
            return []
        # unshare(1) execs the shell in a new mount namespace; the shell mounts a
        # fresh cgroup2 over the hybrid tree there and execs crun ($0) in place.
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"']

    def global_args(self, log, cid=None):
        args = ["--cgroup-manager=disabled"] if self.private_cgroup2 else []
        if log:
            args += [f"--log={log}", "--log-format=text"]
        return args + self.extra_args

    def cannot_run(self, config, spec=None):
        reason = super().cannot_run(config, spec)
        if reason:
            return reason
        labels = empty_labels_of_disabled_modules(config)
        if labels:
            return (f"crun applies an empty {' and '.join(labels)} as a label to set, and fails where "
                    "that security module is off (here): the case's premise, that an empty label asks "
                    "for nothing, does not hold for crun")
        if not self.private_cgroup2:
            return None
        asked = cgroup_requests(config) | (cgroup_requests(spec) if spec is not None else set())
        if asked:
            return f"{self.CGROUPS_OFF} (this case sets {', '.join(sorted(asked))})"
        return None

    def host_facts(self):
        return {facts.CGROUP_LIMITS: facts.cgroups_not_applied(self.CGROUPS_OFF)} if self.private_cgroup2 else {}
