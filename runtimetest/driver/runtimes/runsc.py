"""runsc (gVisor), whose container process lives inside the sandbox's own kernel.

The pid in `state` (and --pid-file) is the sandbox's. The sandbox process is
re-parented to the driver like any container process and exits with the
container's status (a death by signal N as 128+N), so it is waited for as
runc's is. (`runsc wait` is no substitute: once a root container's sandbox has
gone, it answers "exit status is unavailable".) A container without a network
of its own needs `--network=none` on every command, not just create. runsc
applies cgroup settings to the sandbox's cgroup on the host, which the
container (in gVisor's kernel) cannot see, and a hook acting on the pid in the
state acts on the sandbox: cases asking for either are a SKIP.
"""

from runtimetest.driver.runtimes.oci import Runtime
from runtimetest.driver.runtimes.rules import cgroup_requests, hooks_of_their_own, mount_options_runsc_refuses


class Runsc(Runtime):
    """gVisor's runsc."""

    name = "runsc"
    host_process = False
    SANDBOX_CGROUP = ("runsc applies cgroup settings to the sandbox's cgroup on the host, around gVisor's "
                      "kernel and the gofer: the container sees no cgroup of its own, and a limit there "
                      "bounds the whole sandbox")
    SANDBOX_PID = ("the pid in runsc's state is the sandbox's on the host, not the container process's "
                   "(which lives in gVisor's kernel)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._network = {}  # container id -> --network value, for every later command

    def global_args(self, log, cid=None):
        network = self._network.get(cid, "none")
        args = [f"--network={network}"]
        if log:
            args += ["--log", log, "--log-format", "text"]
        return args + self.extra_args

    def create(self, cid, bundle, pid_file, stdin, stdout, stderr, log, config=None,
               console_socket=None, cancel=None):
        self._network[cid] = network_mode(config or {})
        return super().create(cid, bundle, pid_file, stdin, stdout, stderr, log, config,
                              console_socket, cancel)

    def forget(self, cid):
        super().forget(cid)
        self._network.pop(cid, None)

    def cannot_run(self, config, spec=None):
        reason = super().cannot_run(config, spec)
        if reason:
            return reason
        asked = cgroup_requests(config) | (cgroup_requests(spec) if spec is not None else set())
        if asked:
            return f"{self.SANDBOX_CGROUP} (this case sets {', '.join(sorted(asked))})"
        hooks = hooks_of_their_own(config)
        if hooks:
            return f"{self.SANDBOX_PID}: this case's own hooks act on the process through it ({', '.join(hooks)})"
        refused = mount_options_runsc_refuses(config)
        if refused:
            return (f"runsc refuses the mount options {', '.join(refused)} (recursive attributes: \"unknown "
                    "mount option\"; a tmpfs size in percent: EINVAL), so it cannot run this case")
        return None


def network_mode(config):
    """runsc's --network for a config: its own empty namespace unless it shares the host's."""
    linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
    namespaces = linux.get("namespaces") if isinstance(linux.get("namespaces"), list) else []
    for namespace in namespaces:
        if isinstance(namespace, dict) and namespace.get("type") == "network":
            return "none" if not namespace.get("path") else "sandbox"
    return "host"
