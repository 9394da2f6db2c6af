"""OCI runtimes, one adapter each: the only place that knows a runtime's quirks.

Every adapter speaks the OCI runtime command line (create, start, state, kill,
delete). Each command is bounded in time: one that does not finish is killed
(with its whole process group) and reported as a runtime fault, never waited on
for ever; one that is running when the run is cancelled (Ctrl-C, SIGTERM) is
killed at once. The runtime's own diagnostics go to a log file of the driver's
(`--log`), never into the container's stderr.

What differs between runtimes lives in the subclasses:

- runc: the reference command line; the container process is left to the
  driver (as subreaper), which waits for it directly.
- crun: on a host with hybrid cgroups (v1 controllers plus an empty cgroup2 at
  /sys/fs/cgroup/unified) crun refuses to run. Each crun command is then started
  in a private mount namespace with a fresh cgroup2 mounted on /sys/fs/cgroup
  and `--cgroup-manager=disabled`: containers run, but no cgroup limit, device
  rule or cgroup path is applied, so a case whose config or told spec asks for
  one is a SKIP saying so. crun also applies an empty SELinux label or AppArmor
  profile as given, and fails where that module is off: a SKIP too.
- runsc (gVisor): the container process lives inside the sandbox's own kernel;
  the pid in `state` (and --pid-file) is the sandbox's. The sandbox process is
  re-parented to the driver like any container process and exits with the
  container's status (a death by signal N as 128+N), so it is waited for as
  runc's is. (`runsc wait` is no substitute: once a root container's sandbox
  has gone, it answers "exit status is unavailable".) A container without a
  network of its own needs `--network=none` on every command, not just create.
  runsc applies cgroup settings to the sandbox's cgroup on the host, which the
  container (in gVisor's kernel) cannot see, and a hook acting on the pid in
  the state acts on the sandbox: cases asking for either are a SKIP.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from runtimetest.core import facts
from runtimetest.core.spec import major_minor
from runtimetest.driver import cgroups
from runtimetest.driver.bundle import base_config
from runtimetest.driver.children import kill_group
from runtimetest.linux import cgroupfs

DEFAULT_COMMAND_TIMEOUT = 30.0


class RuntimeFault(Exception):
    """A runtime command failed, hung, or answered nonsense."""


class Cancelled(Exception):
    """The run was cancelled (SIGINT/SIGTERM) while this case was running."""


class CommandResult:
    def __init__(self, argv, exit, stdout, stderr, seconds, started=0.0, program=None):
        self.argv = argv
        self.program = program or (argv[0] if argv else "runtime")
        self.exit = exit
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.started = started  # time.monotonic() when the command was started
        self.ended = started + seconds

    @property
    def timed_out(self):
        return self.exit is None

    @property
    def ok(self):
        return self.exit is not None and self.exit.code == 0

    def describe(self):
        command = " ".join(_shown(self.argv, self.program))
        if self.timed_out:
            return f"`{command}` did not finish in {self.seconds:.0f}s (killed)"
        text = (self.stderr or self.stdout).strip().splitlines()
        detail = f": {text[-1].strip()}" if text else ""
        return f"`{command}` failed ({self.exit.describe()}){detail}"


def _shown(argv, program):
    """The runtime's name and its command, without flags and paths (for messages)."""
    words = [os.path.basename(program)]
    rest = argv[argv.index(program) + 1:] if program in argv else argv[1:]
    for index, arg in enumerate(rest):
        if arg in COMMANDS:
            words += [a for a in rest[index:] if not a.startswith(("-", "/"))][:3]
            break
    return words


COMMANDS = ("create", "start", "state", "kill", "delete", "wait", "list", "--version")


class ExitWatch:
    """Waits for the process --pid-file names, re-parented to the driver as its
    subreaper: runc's and crun's container process, runsc's sandbox."""

    def __init__(self, children, pid, since):
        self.children = children
        self.pid = pid
        self.since = since

    def wait(self, timeout, cancel=None):
        return self.children.wait(self.pid, timeout=timeout, since=self.since, cancel=cancel)

    def close(self):
        pass


class Runtime:
    """A runtime with runc's command line; subclasses hold other runtimes' quirks."""

    name = "oci"
    # The pid in `state` is the container process itself, a process on the host.
    host_process = True

    def __init__(self, program, children, extra_args=(), command_timeout=DEFAULT_COMMAND_TIMEOUT):
        self.program = program
        self.children = children
        self.extra_args = list(extra_args)
        self.command_timeout = command_timeout
        self._spec_version = False  # not asked yet
        self._placed = {}  # container id -> cgroup.procs files its runtime commands run in

    # What a runtime's init prints on the container's stderr when it could not
    # execute process.args (runc: "exec /x: argument list too long"; crun: "exec
    # container process `/x`: ..."), or when the runtime gave up on it part way.
    INIT_FAULTS = (r"(?:[\w.-]+: )?exec failed: .+", r"(?:[\w.-]+: )?exec {program}: .+",
                   r"(?:[\w.-]+: )?exec container process.+", r".*parent closed synchronisation channel.*")

    def init_fault(self, stdout, stderr, exit, program):
        """The runtime's own message when the container's stderr is its init's, not the program's; else None.

        Only a process that ended non-zero, printed nothing on stdout and whose
        first stderr line is such a message is taken for one.
        """
        lines = stderr.decode("utf-8", "replace").splitlines()
        if exit is None or exit.code == 0 or stdout.strip() or not lines:
            return None
        for pattern in self.INIT_FAULTS:
            if re.fullmatch(pattern.format(program=re.escape(str(program))), lines[0]):
                return lines[0]
        return None

    def describe(self):
        """What `runtimetest clean` needs to make this adapter again."""
        return {"adapter": self.name, "program": self.program, "extra_args": self.extra_args}

    def spec_version(self):
        """The runtime-spec version the runtime says it implements (`--version`), or None."""
        if self._spec_version is False:
            self._spec_version = None
            result = self.run(["--version"])
            for line in result.stdout.splitlines() if result.ok else []:
                key, _, value = line.partition(":")
                if key.strip().lower() == "spec":
                    self._spec_version = value.strip()
        return self._spec_version

    def cannot_run(self, config, spec=None):
        """Why this runtime cannot run a case at all (a SKIP reason), or None.

        `config` is what the runtime gets, `spec` what the checker is told (a
        negative case's differs). A config declaring a newer minor version of
        the runtime-spec than the runtime implements is not compatible with it
        (config.md "Specification version"): fields it does not know are not a
        fault of the runtime.
        """
        wanted = major_minor(config.get("ociVersion"))
        supported = major_minor(self.spec_version())
        if wanted and supported and wanted > supported:
            return (f"{self.name} implements runtime-spec {self.spec_version()}; "
                    f"this case needs {config.get('ociVersion')}")
        return None

    def host_facts(self):
        """Annotations (full keys, runtimetest/core/facts.py) telling the checker what this runtime does not apply here."""
        return {}

    # -- what differs between runtimes ---------------------------------------
    def prefix(self):
        """Programs the runtime is started through (none: it is run directly)."""
        return []

    def global_args(self, log, cid=None):
        args = ["--log", log, "--log-format", "text"] if log else []
        return args + self.extra_args

    def create_args(self, cid, bundle, pid_file, console_socket=None):
        args = ["create", "--bundle", bundle, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        return args + _ids(cid)

    def kill_args(self, cid, sig):
        return ["kill", *_ids(cid), *_ids(sig)]

    def delete_args(self, cid, force):
        return ["delete", *(["--force"] if force else []), *_ids(cid)]

    def watch(self, cid, pid, since, log):
        """Something whose `wait(timeout, cancel)` gives the container process's Exit.

        The runtimes here all leave the process of --pid-file to the driver (as
        subreaper), so its own exit status is waited for directly.
        """
        return ExitWatch(self.children, pid, since)

    def forget(self, cid):
        """The container is gone: drop whatever the adapter kept about it."""
        self._placed.pop(cid, None)

    def place(self, cid, procs_files):
        """Run every later command for container `cid` in the cgroup of these cgroup.procs files."""
        self._placed[cid] = list(procs_files)

    # -- the command line ------------------------------------------------------
    def argv(self, args, log=None, cid=None):
        if args[:1] == ["--version"]:
            return [self.program] + list(args)
        return (self._placement(cid) + self.prefix() + [self.program] + self.global_args(log, cid)
                + list(args))

    def _placement(self, cid):
        """A shell that moves itself into the container's chosen cgroup, then execs the command."""
        procs = self._placed.get(cid)
        if not procs:
            return []
        return ["/bin/sh", "-c", 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; '
                'shift; exec "$@"', "place", *procs, "--"]

    def run(self, args, log=None, timeout=None, stdin=None, stdout=None, stderr=None,
            cancel=None, cid=None):
        """Run one runtime command, bounded in time; its output is captured.

        With `cancel` (a threading.Event), the command is killed as soon as the
        event is set and Cancelled is raised.
        """
        argv = self.argv(args, log, cid)
        timeout = self.command_timeout if timeout is None else timeout
        own_out = stdout is None
        own_err = stderr is None
        out = tempfile.TemporaryFile() if own_out else stdout
        err = tempfile.TemporaryFile() if own_err else stderr
        started = time.monotonic()
        try:
            process = self.children.spawn(
                argv, stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=out, stderr=err)
            exit = self.children.wait(process.pid, timeout=timeout, since=process.started, cancel=cancel)
            if exit is None:
                kill_group(process.pid)
                self.children.wait(process.pid, timeout=5, since=process.started)
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
            seconds = time.monotonic() - started
            return CommandResult(argv, exit, _read_back(out) if own_out else "",
                                 _read_back(err) if own_err else "", seconds if exit else timeout,
                                 started, self.program)
        finally:
            if own_out:
                out.close()
            if own_err:
                err.close()

    def create(self, cid, bundle, pid_file, stdin, stdout, stderr, log, config=None,
               console_socket=None, cancel=None):
        return self.run(self.create_args(cid, bundle, pid_file, console_socket), log=log,
                        stdin=stdin, stdout=stdout, stderr=stderr, cancel=cancel, cid=cid)

    def start(self, cid, log, cancel=None):
        return self.run(["start", *_ids(cid)], log=log, cancel=cancel, cid=cid)

    def state_result(self, cid, log, cancel=None):
        return self.run(["state", *_ids(cid)], log=log, cancel=cancel, cid=cid)

    def state(self, cid, log, cancel=None):
        """The container's state as a dict; RuntimeFault when the answer is not one."""
        result = self.state_result(cid, log, cancel)
        if not result.ok:
            raise RuntimeFault(result.describe())
        return parse_state(cid, result.stdout)

    def kill(self, cid, log, sig="KILL", timeout=None, cancel=None):
        return self.run(self.kill_args(cid, sig), log=log, timeout=timeout, cancel=cancel, cid=cid)

    def delete(self, cid, log, force=True, timeout=None, cancel=None):
        return self.run(self.delete_args(cid, force), log=log, timeout=timeout, cancel=cancel, cid=cid)


def _ids(word):
    """A command's operand, or none at all (an operation without a container id)."""
    return [word] if word else []


def parse_state(cid, text):
    """The JSON object `state` printed; RuntimeFault naming what is wrong otherwise."""
    try:
        state = json.loads(text)
    except ValueError:
        raise RuntimeFault(f"`state {cid}` printed no JSON: {text[:200]!r}") from None
    if not isinstance(state, dict):
        raise RuntimeFault(f"`state {cid}` printed {type(state).__name__}, not an object")
    return state


def _read_back(handle):
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


class Runc(Runtime):
    name = "runc"


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


def _linux(doc):
    linux = doc.get("linux") if isinstance(doc, dict) else None
    return linux if isinstance(linux, dict) else {}


def cgroup_requests(doc):
    """The fields of a config that ask the runtime's cgroups for more than the base config does.

    The base config's device rule (deny all) is in every case, and the driver
    gives every case a cgroup path of its own: neither is a request of the case's.
    """
    resources = _linux(doc).get("resources")
    resources = resources if isinstance(resources, dict) else {}
    base_devices = _linux(base_config()).get("resources", {}).get("devices")
    asked = {f"linux.resources.{key}" for key, value in resources.items()
             if key != "devices" or value != base_devices}
    path = _linux(doc).get("cgroupsPath")
    if isinstance(path, str) and not is_driver_cgroups_path(path):
        asked.add("linux.cgroupsPath")
    return asked


def is_driver_cgroups_path(path):
    """Whether a cgroup path is the one the driver gives a case that names none: /runtimetest/<id>.

    A case's own path gets -<id> appended instead, so that it holds two "rtt-".
    """
    return re.fullmatch(r"/runtimetest/rtt-[A-Za-z0-9_.-]+", path) is not None and path.count("rtt-") == 1


# The spec fields naming a label, and whether this host's kernel has that module on.
LABEL_MODULES = {
    "process.selinuxLabel": lambda: os.path.exists("/sys/fs/selinux/enforce"),
    "process.apparmorProfile": lambda: _read_flag("/sys/module/apparmor/parameters/enabled") == "Y",
}


def _read_flag(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def empty_labels_of_disabled_modules(config):
    process = config.get("process") if isinstance(config.get("process"), dict) else {}
    return [field for field, enabled in LABEL_MODULES.items()
            if process.get(field.split(".")[1]) == "" and not enabled()]


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


def mount_options_runsc_refuses(config):
    """Options of the config's mounts that gVisor 2022-12-19 does not parse."""
    refused = []
    mounts = config.get("mounts") if isinstance(config.get("mounts"), list) else []
    for mount in mounts:
        options = mount.get("options") if isinstance(mount, dict) else None
        for option in options if isinstance(options, list) else []:
            if not isinstance(option, str) or option in refused:
                continue
            recursive = option in ("rro", "rrw") or (option.startswith("r") and option[1:] in RECURSIVE_FLAGS)
            if recursive or (option.startswith("size=") and option.endswith("%")):
                refused.append(option)
    return refused


# Flags that runtime-spec 1.1 makes recursive with an "r" in front (rnosuid, rnoexec, ...).
RECURSIVE_FLAGS = ("nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "nodiratime",
                   "diratime", "relatime", "norelatime", "strictatime", "nostrictatime", "nosymfollow",
                   "symfollow")
# Hooks run in the runtime's namespace, where the state's pid is the one they can act on.
RUNTIME_NAMESPACE_HOOKS = ("prestart", "createRuntime", "poststart", "poststop")
CHECKER = "/runtimetest"


def hooks_of_their_own(config):
    """The runtime-namespace hooks of a config that are programs of the case's, not the checker.

    The checker in hook mode only records what it sees; the case's own programs
    (a shell calling taskset, ionice, ip) act on the container through the state's pid.
    """
    hooks = config.get("hooks") if isinstance(config.get("hooks"), dict) else {}
    found = []
    for point in RUNTIME_NAMESPACE_HOOKS:
        entries = hooks.get(point) if isinstance(hooks.get(point), list) else []
        for index, hook in enumerate(entries):
            if isinstance(hook, dict) and hook.get("path") != CHECKER:
                found.append(f"hooks.{point}[{index}] {hook.get('path')}")
    return found


def network_mode(config):
    """runsc's --network for a config: its own empty namespace unless it shares the host's."""
    linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
    namespaces = linux.get("namespaces") if isinstance(linux.get("namespaces"), list) else []
    for namespace in namespaces:
        if isinstance(namespace, dict) and namespace.get("type") == "network":
            return "none" if not namespace.get("path") else "sandbox"
    return "host"


ADAPTERS = {"runc": Runc, "crun": Crun, "runsc": Runsc}


def resolve(name_or_path, children, extra_args=(), command_timeout=DEFAULT_COMMAND_TIMEOUT,
            adapter=None):
    """The adapter for a runtime given by name (looked up on PATH) or by path.

    The adapter is chosen by the program's name unless `adapter` names one.
    """
    if os.sep in name_or_path:
        program = os.path.abspath(name_or_path)
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise RuntimeFault(f"--runtime {name_or_path}: not an executable file")
    else:
        program = shutil.which(name_or_path)
        if program is None:
            raise RuntimeFault(f"--runtime {name_or_path}: not found on PATH")
    chosen = ADAPTERS.get(adapter or os.path.basename(program), Runtime)
    return chosen(program, children, extra_args, command_timeout)
