"""Every process the driver starts, and the container processes it inherits.

A runtime's `create` exits and leaves the container's process behind. The driver
makes itself the child subreaper (PR_SET_CHILD_SUBREAPER), so that process is
re-parented to the driver and the driver can wait for its exit status and
resource usage, as a container shim does. One thread does all the waiting
(wait4 on any child) and hands each status to whoever asks for that pid, so no
child, adopted or not, is ever left a zombie. Nothing else in the driver may
call wait: subprocess.Popen objects started here are never waited on directly.
"""

import os
import signal
import subprocess
import threading
import time

POLL = 0.1  # seconds between looks at a cancel flag while waiting


class Exit:
    """How a process ended: an exit code or a signal, and its resource usage."""

    def __init__(self, status, rusage):
        self.status = status
        self.rusage = rusage
        self.code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        self.signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None

    @classmethod
    def reported(cls, code=None, sig=None):
        """An Exit the runtime reported (no wait status of our own, no rusage)."""
        status = (code & 0xFF) << 8 if sig is None else sig & 0x7F
        return cls(status, None)

    @property
    def peak_rss_kib(self):
        return self.rusage.ru_maxrss if self.rusage is not None else None

    def ended_by(self, signo):
        """True when the process died of `signo`, or exited 128+signo as shells report it."""
        return self.signal == signo or self.code == 128 + signo

    def describe(self):
        if self.code is not None:
            return f"exit {self.code}"
        return f"killed by {signal_name(self.signal)}"


def signal_name(signo):
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


def set_child_subreaper():
    import prctl

    prctl.set_child_subreaper(1)


class Children:
    def __init__(self):
        set_child_subreaper()
        self._changed = threading.Condition()
        self._exited = {}
        self._children_may_exist = threading.Event()
        self._thread = threading.Thread(target=self._reap_forever, name="reaper", daemon=True)
        self._thread.start()

    def _reap_forever(self):
        while True:
            try:
                pid, status, rusage = os.wait4(-1, 0)
            except ChildProcessError:
                # No children right now: sleep until something is started (or adopted).
                self._children_may_exist.wait(0.2)
                self._children_may_exist.clear()
                continue
            except InterruptedError:
                continue
            with self._changed:
                self._exited[pid] = (Exit(status, rusage), time.monotonic())
                self._changed.notify_all()

    def spawn(self, argv, **popen_options):
        """Start a program in its own process group; wait for it with `wait(process.pid, ...)`."""
        popen_options.setdefault("start_new_session", True)
        popen_options.setdefault("close_fds", True)
        started = time.monotonic()
        process = subprocess.Popen(argv, **popen_options)
        # The reaper owns this pid's status: stop Popen from ever polling it.
        process.returncode = 0
        process.started = started
        self._children_may_exist.set()
        return process

    def adopted(self):
        """Tell the reaper a process may have been re-parented to us."""
        self._children_may_exist.set()

    def wait(self, pid, timeout=None, since=0.0, cancel=None):
        """The Exit of pid, or None when it has not ended within `timeout` seconds
        (or as soon as the `cancel` event is set).

        `since` (time.monotonic) ignores an earlier process that had the same pid.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                entry = self._exited.get(pid)
                if entry is not None and entry[1] >= since:
                    del self._exited[pid]
                    return entry[0]
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if cancel is not None and cancel.is_set():
                    return None
                slice_ = 1.0 if cancel is None else POLL
                self._changed.wait(slice_ if remaining is None else min(remaining, slice_))

    def strays(self):
        """Pids of live processes whose parent is the driver (spawned or adopted)."""
        me = os.getpid()
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and parent_of(int(entry)) == me and not is_zombie(int(entry)):
                found.append(int(entry))
        return found

    def kill_strays(self, timeout=5.0):
        """SIGKILL every process still parented to the driver and reap it.

        Used at the very end of a run: whatever a runtime left behind (a crashed
        runtime's container process, a hook's orphan) is the driver's to end.
        Returns the pids killed.
        """
        killed = []
        for pid in self.strays():
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        self.adopted()
        while killed and time.monotonic() < deadline and self.strays():
            time.sleep(0.05)
        return killed


def _stat_fields(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent_of(pid):
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def is_zombie(pid):
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def start_time(pid):
    """Clock ticks after boot at which pid started (tells a reused pid apart), or None."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def kill_group(pid, sig=signal.SIGKILL):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
