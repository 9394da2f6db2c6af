"""One case's container, operated through the runtime: create, start, state,
kill, wait, delete, each timed and remembered, and a clean-up that always runs.

The container's stdio: without a terminal, the case's stdin is a file and its
stdout and stderr are files of the case's work directory, given to `create` as
its own stdio (the container inherits them). Whatever `create` itself printed
before returning is the runtime's, not the container's (the container cannot
print before `start`), and is told apart by file offset. With process.terminal
true the container's stdio is a pseudoterminal whose master the runtime sends
to the driver's console socket (console.py).
"""

import os
import signal
import time

from runtimetest.driver import cgroups
from runtimetest.driver import console as consoles
from runtimetest.driver.children import parent_of, start_time
from runtimetest.driver.runtimes import RuntimeFault

CLEANUP_TIMEOUT_HURRIED = 3.0  # a runtime command's bound once a second signal asked to hurry


class Event:
    """One runtime command as run: which, when (time.monotonic) and whether it succeeded."""

    def __init__(self, op, result, target):
        self.op = op
        self.target = target  # "container" or "unknown" (an id no container has)
        self.started = result.started
        self.ended = result.ended
        self.ok = result.ok
        self.result = result

    def as_dict(self):
        return {"op": self.op, "target": self.target, "started": self.started,
                "ended": self.ended, "ok": self.ok}


def wants_terminal(config):
    process = config.get("process") if isinstance(config.get("process"), dict) else {}
    return process.get("terminal") is True


class Session:
    def __init__(self, runtime, cid, bundle, config, work, stdin=b"", cancel=None, record=None):
        self.runtime = runtime
        self.cid = cid
        self.unknown_cid = f"{cid}-unknown"
        self.bundle = bundle
        self.config = config
        self.work = work
        self.cancel = cancel
        self.record = record
        self.log = os.path.join(work, "runtime.log")
        self.pid_file = os.path.join(work, "pid")
        self.stdin_path = os.path.join(work, "stdin")
        with open(self.stdin_path, "wb") as handle:
            handle.write(stdin or b"")
        self.out = open(os.path.join(work, "stdout"), "w+b")
        self.err = open(os.path.join(work, "stderr"), "w+b")
        self.out_start = self.err_start = 0
        self.console = consoles.Console(work, stdin) if wants_terminal(config) else None
        self.pid = None
        self.pid_started = None  # the pid's start time (/proc), to tell a reused pid apart
        self.namespaces = {}  # the container process's namespaces, read after create
        self.watch = None
        self.exit = None
        self.events = []
        self.timings = {}
        self.may_exist = False
        self.created = False  # a create succeeded: from then on the stdio holds the container's output
        self.before_create = None
        linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
        self.cgroups_path = linux.get("cgroupsPath")
        self.peak_memory = None  # read before a delete step removes the cgroup

    # -- operations ------------------------------------------------------------
    def _event(self, op, result, target="container"):
        self.events.append(Event(op, result, target))
        return result

    def target(self, unknown):
        return self.unknown_cid if unknown else self.cid

    def create(self):
        """`create` the case's container; the pid file is read when it succeeds."""
        self.may_exist = True
        self.before_create = time.monotonic()
        socket = self.console.path if self.console else None
        if self.console:
            # An empty file of our own, never the host's /dev/null: crun 1.8.1 chowns the
            # stdin it is given to the container's user (containers/crun#1845).
            nothing_path = os.path.join(os.path.dirname(self.stdin_path), "runtime-stdin")
            with open(nothing_path, "wb+") as nothing:
                result = self.runtime.create(self.cid, self.bundle.path, self.pid_file, nothing,
                                             self.out, self.err, self.log, self.config, socket, self.cancel)
        else:
            with open(self.stdin_path, "rb") as stdin:
                result = self.runtime.create(self.cid, self.bundle.path, self.pid_file, stdin,
                                             self.out, self.err, self.log, self.config, socket, self.cancel)
        # What create itself printed is the runtime's: the container prints after start.
        self.out_start, self.err_start = self.out.tell(), self.err.tell()
        self.timings.setdefault("create", result.seconds)
        self._event("create", result)
        if result.ok:
            self.created = True
            self.runtime.children.adopted()
        return result

    def create_again(self):
        """A second `create` with the same id (which must fail)."""
        pid_file = os.path.join(self.work, "pid-again")
        with open(os.devnull, "rb") as nothing, open(os.devnull, "wb") as sink:
            result = self.runtime.create(self.cid, self.bundle.path, pid_file, nothing, sink, sink,
                                         self.log, self.config, None, self.cancel)
        return self._event("create", result, "again")

    def read_pid_file(self, path=None):
        """The pid the runtime wrote to --pid-file; RuntimeFault if there is none."""
        try:
            with open(path or self.pid_file) as handle:
                text = handle.read().strip()
        except OSError as error:
            raise RuntimeFault(f"the runtime wrote no pid file ({error.strerror})") from None
        if not text.isdigit():
            raise RuntimeFault(f"the runtime's pid file holds {text!r}, not a pid")
        return int(text)

    def follow(self, pid):
        """From now on, wait for the container process `pid`."""
        self.pid = pid
        self.pid_started = start_time(pid)
        for name in ("mnt", "pid"):
            try:
                self.namespaces[name] = os.readlink(f"/proc/{pid}/ns/{name}")
            except OSError:
                pass
        if self.record is not None:
            self.record.update(self.cid, pid=pid, pid_start=self.pid_started)
        self.watch = self.runtime.watch(self.cid, pid, self.before_create, self.log)

    def start(self, unknown=False):
        result = self.runtime.start(self.target(unknown), self.log, cancel=self.cancel)
        if not unknown:
            self.timings.setdefault("start", result.seconds)
        return self._event("start", result, "unknown" if unknown else "container")

    def state(self, unknown=False):
        result = self.runtime.state_result(self.target(unknown), self.log, cancel=self.cancel)
        return self._event("state", result, "unknown" if unknown else "container")

    def kill(self, sig, unknown=False):
        result = self.runtime.kill(self.target(unknown), self.log, sig, cancel=self.cancel)
        return self._event("kill", result, "unknown" if unknown else "container")

    def delete(self, force=False, unknown=False):
        if not unknown and self.peak_memory is None:
            self.peak_memory = cgroups.peak_memory(self.cgroups_path)
        result = self.runtime.delete(self.target(unknown), self.log, force=force, cancel=self.cancel)
        return self._event("delete", result, "unknown" if unknown else "container")

    def without_id(self, op, sig=None):
        """`op` (create, start, state, kill, delete) given no container id at all."""
        runtime, log = self.runtime, self.log
        if op == "create":
            with open(os.devnull, "rb") as nothing, open(os.devnull, "wb") as sink:
                result = runtime.create(None, self.bundle.path, os.path.join(self.work, "pid-no-id"),
                                        nothing, sink, sink, log, self.config, None, self.cancel)
        elif op == "kill":
            result = runtime.kill(None, log, sig, cancel=self.cancel)
        elif op == "delete":
            result = runtime.delete(None, log, force=False, cancel=self.cancel)
        else:
            result = getattr(runtime, "state_result" if op == "state" else op)(None, log, cancel=self.cancel)
        return self._event(op, result, "no id")

    def wait(self, timeout):
        """The container process's Exit, or None if it is still running after `timeout`."""
        if self.exit is not None:
            return self.exit
        if self.watch is None:
            return None
        started = time.monotonic()
        self.exit = self.watch.wait(timeout, cancel=self.cancel)
        self.timings["run"] = self.timings.get("run", 0.0) + time.monotonic() - started
        return self.exit

    def wait_for_line(self, line, timeout):
        """Wait until the container's stdout holds `line`; False if it does not in time."""
        deadline = time.monotonic() + timeout
        wanted = line.encode()
        while time.monotonic() < deadline:
            if self.cancel is not None and self.cancel.is_set():
                return False
            if wanted in self._stdout_so_far().replace(b"\r\n", b"\n").split(b"\n"):
                return True
            if self.exit is not None or (self.watch is not None and self.wait(0.0) is not None):
                return False  # it ended without printing it
            time.sleep(0.05)
        return False

    def stdout_lines(self):
        """The lines the container has printed on stdout so far."""
        return self._stdout_so_far().replace(b"\r\n", b"\n").split(b"\n")

    def _stdout_so_far(self):
        if self.console is not None:
            return self.console.text()
        self.out.flush()
        with open(self.out.name, "rb") as handle:
            handle.seek(self.out_start)
            return handle.read()

    # -- what the container printed --------------------------------------------
    def output(self, is_failure_line):
        """(stdout, stderr) of the container so far."""
        if self.console is not None:
            return consoles.split_streams(self.console.finish(timeout=5.0), is_failure_line)
        if not self.created:
            return b"", b""  # no container ever ran: what the stdio holds is the runtime's
        return _read_from(self.out, self.out_start), _read_from(self.err, self.err_start)

    def runtime_output(self):
        """What the runtime printed on the stdio it shared with the container: during create, or
        (when no create succeeded) at any time, e.g. its init process after the create failed."""
        if not self.created:
            return _read_from(self.out, 0) + _read_from(self.err, 0)
        return _read_to(self.out, self.out_start) + _read_to(self.err, self.err_start)

    # -- always -------------------------------------------------------------------
    def clean_up(self, hurry=False):
        """Kill and delete the container and end its process; returns a problem or None.

        A runtime that cannot delete its container leaves it in the record, for
        `runtimetest clean`.
        """
        timeout = CLEANUP_TIMEOUT_HURRIED if hurry else None
        problem = None
        if self.may_exist:
            deleted = self.runtime.delete(self.cid, self.log, force=True, timeout=timeout)
            self._event("delete", deleted, "clean-up")
            if not deleted.ok and not unknown_container(deleted):
                self.runtime.kill(self.cid, self.log, "KILL", timeout=timeout)
                deleted = self.runtime.delete(self.cid, self.log, force=True, timeout=timeout)
                self._event("delete", deleted, "clean-up")
                if not deleted.ok and not unknown_container(deleted):
                    problem = f"runtime fault: {deleted.describe()}: the container is left for `runtimetest clean`"
        self._end_process()
        self.runtime.forget(self.cid)
        if problem is None and self.may_exist:
            linux = self.config.get("linux") if isinstance(self.config.get("linux"), dict) else {}
            cgroups.remove_empty(linux.get("cgroupsPath"))
        return problem

    def close(self):
        """Release the session's files, watcher and console (after clean_up and output)."""
        if self.watch is not None:
            self.watch.close()
        if self.console is not None:
            self.console.close()
        for handle in (self.out, self.err):
            handle.close()

    def _end_process(self):
        """The container process, if the runtime left it running, is ended here."""
        pid = self.pid  # the container process, or runsc's sandbox: either way ours to end
        if pid is None:
            return
        if parent_of(pid) != os.getpid() or start_time(pid) != self.pid_started:
            # Gone (or not ours any more): its status, if it was ours, is with the reaper.
            if self.watch is not None and self.exit is None:
                self.exit = self.watch.wait(0.5)
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        if self.watch is not None and self.exit is None:
            self.exit = self.watch.wait(5.0)


def unknown_container(result):
    text = (result.stderr + result.stdout).lower()
    return any(words in text for words in ("does not exist", "not exist", "not found", "no such container"))


def _read_from(handle, offset):
    handle.seek(offset)
    return handle.read()


def _read_to(handle, offset):
    handle.seek(0)
    return handle.read(offset)

