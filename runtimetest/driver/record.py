"""A record of the containers and bundles a driver has live, kept while it runs.

If the driver is killed outright (SIGKILL), `runtimetest clean` reads the
records of drivers that are no longer running and removes what they left:
it kills and deletes each container with the runtime the user names (or the
adapter's own program, found on PATH; never a program a record names), ends
the container process if the runtime could not (its pid and start time are
recorded, so a reused pid is never touched), and removes each bundle and work
directory. A container the runtime would not delete stays in the record, so
that `clean` can be run again.

The driver runs as root, so nothing here trusts the file system blindly:

- the state directory must be a directory (not a symlink) owned by the
  invoking user and writable by no one else; it is made 0700 if missing;
- a record is used only when it is a regular file of the invoking user,
  writable by no one else, with one link; it is written to a fresh temporary
  file (mkstemp: O_CREAT|O_EXCL, never through a link) then renamed;
- a directory is removed only when it proves the driver made it: it holds a
  marker file with the record's random token (bundles, and the work directory
  the driver made itself; never a --keep-logs directory or its contents);
- a driver is alive when a process with its pid, its start time and not a
  zombie exists in its pid namespace; a record from another pid namespace is
  left alone, since from here it cannot be told whether its driver lives.

Everything `clean` leaves, it names with the reason.
"""

import errno
import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading

from runtimetest.driver.children import is_zombie, start_time

MARKER = ".runtimetest-made-by"  # in a directory the driver made: the record's token
RECORD_LIMIT = 16 << 20  # bytes of one record
CONTAINER_ID = re.compile(r"rtt-[A-Za-z0-9_.-]+")  # the only ids the driver gives


class StateDirError(Exception):
    """The state directory or a record cannot be trusted: the message says why."""


def default_state_dir():
    if os.geteuid() == 0:
        return "/run/runtimetest"
    return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "runtimetest")


def check_state_dir(path, create=True):
    """Make the state directory (0700) if asked and missing; StateDirError unless it is safe to use."""
    if create:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    info = os.lstat(path)
    problem = _unsafe(info, "directory")
    if problem:
        raise StateDirError(f"state directory {path}: {problem}: refusing to use it "
                            "(remove it, or pass --state-dir a directory of your own)")


def _unsafe(info, kind):
    """Why a file with this lstat() cannot be trusted by the invoking user, or None."""
    wanted = stat.S_ISDIR if kind == "directory" else stat.S_ISREG
    if stat.S_ISLNK(info.st_mode):
        return "a symlink"
    if not wanted(info.st_mode):
        return f"not a {kind}"
    if info.st_uid != os.geteuid():
        return f"owned by uid {info.st_uid}, not by you (uid {os.geteuid()})"
    if info.st_mode & 0o022:
        return f"writable by others (mode {stat.S_IMODE(info.st_mode):04o})"
    if kind == "file" and info.st_nlink != 1:
        return f"{info.st_nlink} hard links"
    return None


def pid_namespace():
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def write_record(path, data):
    """Write a record without following any link: a fresh mkstemp file renamed over `path`."""
    directory, name = os.path.split(path)
    fd, temporary = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def read_record(path):
    """A record's data; StateDirError when the file is not one to trust or not a record."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise StateDirError("a symlink" if error.errno == errno.ELOOP else error.strerror) from None
    try:
        problem = _unsafe(os.fstat(fd), "file")
        if problem:
            raise StateDirError(problem)
        text = os.read(fd, RECORD_LIMIT + 1)
    finally:
        os.close(fd)
    try:
        data = json.loads(text) if len(text) <= RECORD_LIMIT else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("containers", {}), dict):
        raise StateDirError("not a record of this driver")
    return data


def mark(directory, token):
    """Leave the proof that the driver made `directory` (a new file: never through a link)."""
    fd = os.open(os.path.join(directory, MARKER), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)


def made_by(directory, token):
    """True when `directory` is a real directory of ours holding the marker with `token`."""
    if not isinstance(directory, str) or not os.path.isabs(directory) or not token:
        return False
    try:
        if _unsafe(os.lstat(directory), "directory"):
            return False
        fd = os.open(os.path.join(directory, MARKER), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return os.read(fd, 256).decode("ascii", "replace") == token
    finally:
        os.close(fd)


class Record:
    def __init__(self, state_dir, runtime, work_root, keep_logs=False):
        """`runtime` is what Runtime.describe() returns: adapter, program, extra args.

        `work_root` is marked as the driver's to remove unless it holds logs to keep.
        """
        check_state_dir(state_dir)
        self.token = secrets.token_hex(16)
        self.path = os.path.join(state_dir, f"driver-{os.getpid()}-{self.token[:8]}.json")
        self._lock = threading.Lock()
        if not keep_logs:
            mark(work_root, self.token)
        self._data = {"pid": os.getpid(), "start": start_time(os.getpid()), "pidns": pid_namespace(),
                      "token": self.token, "runtime": runtime, "work": work_root, "keep_logs": keep_logs,
                      "containers": {}}
        self._write()

    def _write(self):
        write_record(self.path, self._data)

    def add(self, cid, bundle, work=None):
        mark(bundle, self.token)
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


def driver_gone(data):
    """(True, why) when the record's driver no longer runs; (False, why) when it does or cannot be told."""
    pid = data.get("pid")
    if data.get("pidns") is not None and data.get("pidns") != pid_namespace():
        return False, (f"its driver (pid {pid}) ran in another pid namespace (pid:[{data.get('pidns')}]): "
                       "whether it still runs cannot be told from here; run `clean` there")
    if pid is None:
        return True, "its driver finished and left containers"
    if not isinstance(pid, int) or pid <= 0:
        return False, f"its pid {pid!r} is not a pid"
    if start_time(pid) != data.get("start"):
        return True, f"its driver (pid {pid}) is gone"
    if is_zombie(pid):
        return True, f"its driver (pid {pid}) was killed and is a zombie"
    return False, f"its driver (pid {pid}) is running"


def leftovers(state_dir, out):
    """(path, record) of every trusted record whose driver is gone; the others are named on `out`."""
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
            data = read_record(path)
        except StateDirError as error:
            out.write(f"left {path}: {error}: not a record to trust\n")
            continue
        gone, why = driver_gone(data)
        if gone:
            found.append((path, data))
        else:
            out.write(f"left {path}: {why}\n")
    return found


def _entry(value):
    """A container's entry: {"bundle": ..., ...} (the first format held the bundle path only)."""
    return value if isinstance(value, dict) else {"bundle": value}


def _end_process(entry):
    pid, started = entry.get("pid"), entry.get("pid_start")
    if isinstance(pid, int) and pid > 0 and started is not None and start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _remove(directory, token, what, out):
    """Remove a directory the driver proves it made; say why not otherwise."""
    if not directory:
        return
    if made_by(directory, token):
        shutil.rmtree(directory, ignore_errors=True)
    elif os.path.lexists(directory):
        out.write(f"not removing {what} {directory}: it holds no marker of this driver's\n")


def _remove_case_work(entry, data):
    """A case's work directory goes when it lies directly in a work root the driver made (logs not kept)."""
    work, root = entry.get("work"), data.get("work")
    if (data.get("keep_logs") or not isinstance(work, str) or not isinstance(root, str)
            or os.path.dirname(work) != root or not made_by(root, data.get("token"))):
        return
    try:
        if _unsafe(os.lstat(work), "directory") is None:
            shutil.rmtree(work, ignore_errors=True)
    except OSError:
        pass


def clean(state_dir, make_runtime, out):
    """Remove what dead drivers left. `make_runtime(description)` gives a runtime adapter or None.

    Returns the number of containers removed; StateDirError when the state directory is not safe.
    """
    if not os.path.lexists(state_dir):
        return 0
    check_state_dir(state_dir, create=False)
    removed = 0
    for path, data in leftovers(state_dir, out):
        removed += _clean_record(path, data, make_runtime, out)
    return removed


def _clean_record(path, data, make_runtime, out):
    containers = {cid: _entry(value) for cid, value in sorted(data.get("containers", {}).items())}
    runtime = make_runtime(data.get("runtime")) if containers else None
    if containers and runtime is None:
        out.write(f"left {path}: no runtime to delete its containers with ({', '.join(containers)}): "
                  "pass --runtime\n")
        return 0
    token, removed, kept = data.get("token"), 0, {}
    for cid, entry in containers.items():
        if not CONTAINER_ID.fullmatch(str(cid)):
            out.write(f"not deleting container {cid!r} of {path}: not an id this driver gives\n")
            continue
        if not _delete(runtime, cid):
            kept[cid] = entry
            out.write(f"could not delete container {cid}: kept in {path} for another `clean`\n")
            _end_process(entry)
            continue
        _end_process(entry)
        _remove(entry.get("bundle"), token, "bundle", out)
        _remove_case_work(entry, data)
        out.write(f"removed container {cid} and its bundle {entry.get('bundle')}\n")
        removed += 1
    if kept:
        data["containers"], data["pid"] = kept, None
        write_record(path, data)
        return removed
    if not data.get("keep_logs"):
        _remove(data.get("work"), token, "work directory", out)
    os.unlink(path)
    return removed


def _delete(runtime, cid):
    """Kill and force-delete one container; True when it is gone."""
    from runtimetest.driver.session import unknown_container

    runtime.kill(cid, None, "KILL")
    deleted = runtime.delete(cid, None, force=True)
    return deleted.ok or unknown_container(deleted)
