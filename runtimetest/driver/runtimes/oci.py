"""The OCI runtime command line (create, start, state, kill, delete), as runc speaks it.

Every adapter is a Runtime; the subclasses in runc.py, crun.py and runsc.py
hold what differs. Each command is bounded in time (command.py). The runtime's
own diagnostics go to a log file of the driver's (`--log`), never into the
container's stderr.
"""

import json
import re

from runtimetest.driver.runtimes.command import DEFAULT_COMMAND_TIMEOUT, RuntimeFault, run_command
from runtimetest.core.spec import major_minor


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
        return args + operands(cid)

    def kill_args(self, cid, sig):
        return ["kill", *operands(cid), *operands(sig)]

    def delete_args(self, cid, force):
        return ["delete", *(["--force"] if force else []), *operands(cid)]

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
        """Run one runtime command, bounded in time; its output is captured (command.run_command)."""
        timeout = self.command_timeout if timeout is None else timeout
        return run_command(self.children, self.argv(args, log, cid), self.program, timeout,
                           stdin=stdin, stdout=stdout, stderr=stderr, cancel=cancel)

    def create(self, cid, bundle, pid_file, stdin, stdout, stderr, log, config=None,
               console_socket=None, cancel=None):
        return self.run(self.create_args(cid, bundle, pid_file, console_socket), log=log,
                        stdin=stdin, stdout=stdout, stderr=stderr, cancel=cancel, cid=cid)

    def start(self, cid, log, cancel=None):
        return self.run(["start", *operands(cid)], log=log, cancel=cancel, cid=cid)

    def state_result(self, cid, log, cancel=None):
        return self.run(["state", *operands(cid)], log=log, cancel=cancel, cid=cid)

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


def operands(word):
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
