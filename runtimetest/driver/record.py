"""A record of the containers and bundles a driver has live, kept while it runs.

If the driver is killed outright (SIGKILL), `runtimetest clean` reads the
records of drivers that are no longer running and removes what they left:
it kills and deletes each container with the runtime that made it and removes
each bundle and work directory.
"""

import json
import os
import shutil
import threading


def default_state_dir():
    if os.geteuid() == 0:
        return "/run/runtimetest"
    return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "runtimetest")


class Record:
    def __init__(self, state_dir, runtime_argv, work_root):
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.path = os.path.join(state_dir, f"driver-{os.getpid()}.json")
        self._lock = threading.Lock()
        self._data = {"pid": os.getpid(), "start": process_start_time(os.getpid()),
                      "runtime": runtime_argv, "work": work_root, "containers": {}}
        self._write()

    def _write(self):
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(self._data, handle)
        os.replace(temporary, self.path)

    def add(self, cid, bundle):
        with self._lock:
            self._data["containers"][cid] = bundle
            self._write()

    def remove(self, cid):
        with self._lock:
            self._data["containers"].pop(cid, None)
            self._write()

    def close(self):
        """The driver ended normally: nothing is left for `clean`."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def process_start_time(pid):
    """Clock ticks after boot at which pid started (tells a reused pid apart)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(data):
    pid = int(data.get("pid", 0))
    return pid > 0 and process_start_time(pid) == data.get("start")


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


def clean(state_dir, run_runtime, out):
    """Remove what dead drivers left. `run_runtime(argv)` runs a runtime command.

    Returns the number of containers removed.
    """
    removed = 0
    for path, data in leftovers(state_dir):
        runtime = data.get("runtime") or []
        for cid, bundle in sorted(data.get("containers", {}).items()):
            if runtime:
                run_runtime(runtime + ["kill", cid, "KILL"])
                run_runtime(runtime + ["delete", "--force", cid])
            shutil.rmtree(bundle, ignore_errors=True)
            out.write(f"removed container {cid} and its bundle {bundle}\n")
            removed += 1
        work = data.get("work")
        if work:
            shutil.rmtree(work, ignore_errors=True)
        os.unlink(path)
    return removed
