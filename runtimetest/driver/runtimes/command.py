"""One runtime command, bounded in time, and what it answered.

A command that does not finish in time is killed (with its whole process
group) and reported as a runtime fault, never waited on for ever; one that is
running when the run is cancelled (Ctrl-C, SIGTERM) is killed at once.
"""

import os
import subprocess
import tempfile
import time

from runtimetest.driver.children import kill_group

DEFAULT_COMMAND_TIMEOUT = 30.0
# The OCI command-line operations (and --version): what a message names of a command.
COMMANDS = ("create", "start", "state", "kill", "delete", "wait", "list", "--version")


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
        command = " ".join(shown_command(self.argv, self.program))
        if self.timed_out:
            return f"`{command}` did not finish in {self.seconds:.0f}s (killed)"
        text = (self.stderr or self.stdout).strip().splitlines()
        detail = f": {text[-1].strip()}" if text else ""
        return f"`{command}` failed ({self.exit.describe()}){detail}"


def shown_command(argv, program):
    """The runtime's name and its command, without flags and paths (for messages)."""
    words = [os.path.basename(program)]
    rest = argv[argv.index(program) + 1:] if program in argv else argv[1:]
    for index, arg in enumerate(rest):
        if arg in COMMANDS:
            words += [a for a in rest[index:] if not a.startswith(("-", "/"))][:3]
            break
    return words


def run_command(children, argv, program, timeout, stdin=None, stdout=None, stderr=None, cancel=None):
    """Run `argv` as a child of `children`, bounded by `timeout`; output not sent elsewhere is captured.

    With `cancel` (a threading.Event), the command is killed as soon as the
    event is set and Cancelled is raised.
    """
    own_out = stdout is None
    own_err = stderr is None
    out = tempfile.TemporaryFile() if own_out else stdout
    err = tempfile.TemporaryFile() if own_err else stderr
    started = time.monotonic()
    try:
        process = children.spawn(argv, stdin=subprocess.DEVNULL if stdin is None else stdin,
                                 stdout=out, stderr=err)
        exit = children.wait(process.pid, timeout=timeout, since=process.started, cancel=cancel)
        if exit is None:
            kill_group(process.pid)
            children.wait(process.pid, timeout=5, since=process.started)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        seconds = time.monotonic() - started
        return CommandResult(argv, exit, _read_back(out) if own_out else "",
                             _read_back(err) if own_err else "", seconds if exit else timeout,
                             started, program)
    finally:
        if own_out:
            out.close()
        if own_err:
            err.close()


def _read_back(handle):
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")
