"""A record of the containers and bundles a driver has live, kept while it runs.

If the driver is killed outright (SIGKILL), `runtimetest clean` reads the
records of drivers that are no longer running and removes what they left:
it kills and deletes each container with the runtime (and adapter) that made
it, ends the container process if the runtime could not (its pid and start
time are recorded, so a reused pid is never touched), and removes each bundle
and work directory. A container the runtime would not delete stays in the
record, so that `clean` can be run again.
"""

import json
import os
import shutil
import signal
import threading

from .children import start_time


def default_state_dir():
    if os.geteuid() == 0:
        return "/run/runtimetest"
    return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "runtimetest")


class Record:
    def __init__(self, state_dir, runtime, work_root):
        """`runtime` is what Runtime.describe() returns: adapter, program, extra args."""
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.path = os.path.join(state_dir, f"driver-{os.getpid()}.json")
        self._lock = threading.Lock()
        self._data = {"pid": os.getpid(), "start": start_time(os.getpid()),
                      "runtime": runtime, "work": work_root, "containers": {}}
        self._write()

    def _write(self):
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(self._data, handle)
        os.replace(temporary, self.path)

    def add(self, cid, bundle, work=None):
        with self._lock:
            self._data["containers"][cid] = {"bundle": bundle, "work": work}
            self._write()

    def update(self, cid, **facts):
        with self._lock:
            if cid in self._data["containers"]:
                self._data["containers"][cid].update(facts)
                self._write()

    def remove(self, cid):
        with self._lock:
            self._data["containers"].pop(cid, None)
            self._write()

    def left(self):
        """Container ids still recorded (the runtime could not delete them)."""
        with self._lock:
            return sorted(self._data["containers"])

    def close(self):
        """The driver is done: the record goes, unless a container had to be left for `clean`."""
        with self._lock:
            if self._data["containers"]:
                self._data["pid"] = None  # no live driver: `clean` may take it now
                self._write()
                return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# Kept for callers of the first record format.
process_start_time = start_time


def _alive(data):
    pid = data.get("pid")
    return isinstance(pid, int) and pid > 0 and start_time(pid) == data.get("start")


def leftovers(state_dir):
    """(path, record) of every record whose driver is no longer running."""
    try:
        names = sorted(os.listdir(state_dir))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if not (name.startswith("driver-") and name.endswith(".json")):
            continue
        path = os.path.join(state_dir, name)
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and not _alive(data):
            found.append((path, data))
    return found


def _entry(value):
    """A container's entry: {"bundle": ..., ...} (the first format held the bundle path only)."""
    return value if isinstance(value, dict) else {"bundle": value}


def _end_process(entry):
    pid, started = entry.get("pid"), entry.get("pid_start")
    if isinstance(pid, int) and started is not None and start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def clean(state_dir, make_runtime, out):
    """Remove what dead drivers left. `make_runtime(description)` gives a runtime adapter.

    Returns the number of containers removed.
    """
    removed = 0
    for path, data in leftovers(state_dir):
        runtime = make_runtime(data.get("runtime"))
        kept = {}
        for cid, value in sorted(data.get("containers", {}).items()):
            entry = _entry(value)
            if runtime is not None and not _delete(runtime, cid):
                kept[cid] = entry
                out.write(f"could not delete container {cid}: kept in {path} for another `clean`\n")
                _end_process(entry)
                continue
            _end_process(entry)
            for directory in (entry.get("bundle"), entry.get("work")):
                if directory:
                    shutil.rmtree(directory, ignore_errors=True)
            out.write(f"removed container {cid} and its bundle {entry.get('bundle')}\n")
            removed += 1
        if kept:
            data["containers"], data["pid"] = kept, None
            with open(path, "w") as handle:
                json.dump(data, handle)
            continue
        work = data.get("work")
        if work:
            shutil.rmtree(work, ignore_errors=True)
        os.unlink(path)
    return removed


def _delete(runtime, cid):
    """Kill and force-delete one container; True when it is gone."""
    from .session import unknown_container

    runtime.kill(cid, None, "KILL")
    deleted = runtime.delete(cid, None, force=True)
    return deleted.ok or unknown_container(deleted)
