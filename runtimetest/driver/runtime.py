"""OCI runtimes, one adapter each: the only place that knows a runtime's quirks.

Every adapter speaks the OCI runtime command line (create, start, state, kill,
delete). Each command is bounded in time: one that does not finish is killed
and reported as a runtime fault, never waited on for ever. The runtime's own
diagnostics go to a log file of the driver's (`--log`), never into the
container's stderr.
"""

import json
import os
import shutil
import subprocess
import time

from .children import kill_group

DEFAULT_COMMAND_TIMEOUT = 30.0


class RuntimeFault(Exception):
    """A runtime command failed, hung, or answered nonsense."""


class CommandResult:
    def __init__(self, argv, exit, stdout, stderr, seconds):
        self.argv = argv
        self.exit = exit
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds

    @property
    def timed_out(self):
        return self.exit is None

    @property
    def ok(self):
        return self.exit is not None and self.exit.code == 0

    def describe(self):
        command = " ".join(self.argv[:1] + [a for a in self.argv[1:] if not a.startswith("/")][:4])
        if self.timed_out:
            return f"`{command}` did not finish in {self.seconds:.0f}s (killed)"
        text = (self.stderr or self.stdout).strip().splitlines()
        detail = f": {text[-1]}" if text else ""
        return f"`{command}` failed ({self.exit.describe()}){detail}"


class Runtime:
    """A runtime with runc's command line; subclasses hold other runtimes' quirks."""

    name = "oci"

    def __init__(self, program, children, extra_args=(), command_timeout=DEFAULT_COMMAND_TIMEOUT):
        self.program = program
        self.children = children
        self.extra_args = list(extra_args)
        self.command_timeout = command_timeout
        self._spec_version = False  # not asked yet

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

    def cannot_run(self, config):
        """Why this runtime cannot run a config at all (a SKIP reason), or None.

        A config declaring a newer minor version of the runtime-spec than the
        runtime implements is not compatible with it (config.md "Specification
        version"): fields it does not know are not a fault of the runtime.
        """
        wanted = _major_minor(config.get("ociVersion"))
        supported = _major_minor(self.spec_version())
        if wanted and supported and wanted > supported:
            return (f"{self.name} implements runtime-spec {self.spec_version()}; "
                    f"this case needs {config.get('ociVersion')}")
        return None

    # -- what differs between runtimes ---------------------------------------
    def global_args(self, log):
        args = ["--log", log, "--log-format", "text"] if log else []
        return args + self.extra_args

    def create_args(self, cid, bundle, pid_file):
        return ["create", "--bundle", bundle, "--pid-file", pid_file, cid]

    def kill_args(self, cid, sig):
        return ["kill", cid, sig]

    def delete_args(self, cid, force):
        return ["delete", "--force", cid] if force else ["delete", cid]

    def wait_for_exit(self, pid, since, timeout, log):
        """The container process's Exit, or None on timeout.

        runc-like runtimes leave the container process to the driver (as
        subreaper), so its own exit status is waited for directly.
        """
        return self.children.wait(pid, timeout=timeout, since=since)

    # -- the command line ------------------------------------------------------
    def run(self, args, log=None, timeout=None, stdin=None, stdout=None, stderr=None):
        """Run one runtime command, bounded in time; its output is captured."""
        import tempfile

        argv = [self.program] + (self.global_args(log) if args[:1] != ["--version"] else []) + list(args)
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
            exit = self.children.wait(process.pid, timeout=timeout, since=process.started)
            if exit is None:
                kill_group(process.pid)
                self.children.wait(process.pid, timeout=5, since=process.started)
            seconds = time.monotonic() - started
            return CommandResult(argv, exit, _read_back(out) if own_out else "",
                                 _read_back(err) if own_err else "", seconds if exit else timeout)
        finally:
            if own_out:
                out.close()
            if own_err:
                err.close()

    def create(self, cid, bundle, pid_file, stdin, stdout, stderr, log):
        return self.run(self.create_args(cid, bundle, pid_file), log=log,
                        stdin=stdin, stdout=stdout, stderr=stderr)

    def start(self, cid, log):
        return self.run(["start", cid], log=log)

    def state(self, cid, log):
        """The container's state as a dict; RuntimeFault when the answer is not one."""
        result = self.run(["state", cid], log=log)
        if not result.ok:
            raise RuntimeFault(result.describe())
        try:
            state = json.loads(result.stdout)
        except ValueError:
            raise RuntimeFault(f"`state {cid}` printed no JSON: {result.stdout[:200]!r}") from None
        if not isinstance(state, dict):
            raise RuntimeFault(f"`state {cid}` printed {type(state).__name__}, not an object")
        return state

    def kill(self, cid, log, sig="KILL"):
        return self.run(self.kill_args(cid, sig), log=log)

    def delete(self, cid, log, force=True):
        return self.run(self.delete_args(cid, force), log=log)


def _major_minor(version):
    if not isinstance(version, str):
        return None
    parts = version.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def _read_back(handle):
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


class Runc(Runtime):
    name = "runc"


ADAPTERS = {"runc": Runc}


def resolve(name_or_path, children, extra_args=(), command_timeout=DEFAULT_COMMAND_TIMEOUT):
    """The adapter for a runtime given by name (looked up on PATH) or by path."""
    if os.sep in name_or_path:
        program = os.path.abspath(name_or_path)
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise RuntimeFault(f"--runtime {name_or_path}: not an executable file")
    else:
        program = shutil.which(name_or_path)
        if program is None:
            raise RuntimeFault(f"--runtime {name_or_path}: not found on PATH")
    adapter = ADAPTERS.get(os.path.basename(program), Runtime)
    return adapter(program, children, extra_args, command_timeout)

