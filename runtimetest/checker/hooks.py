"""The static binary's helper modes, so that no shell is needed in a rootfs.

    runtimetest --hook LABEL [--record DIR] [--exit N] [--sleep SECONDS]
    runtimetest --await-signal [--every] [SECONDS]

Hook mode is the program of a hook (config.md "POSIX-platform Hooks"). It
records what the runtime gave it, as one JSON file in the record directory: the
argv and environment the runtime started it with, the container state it read
on stdin, the namespaces it runs in, the command line of the process the state
names, and when (CLOCK_MONOTONIC, which the driver shares). Then it behaves as
told: sleeps, and exits with the given status. It decides nothing: the driver
compares the records with the spec and reports (runtimetest/driver/outside/hooks.py).
If the runtime aborts it (a hook timeout kills the process the runtime
started), the record keeps no finish time.

Await-signal mode is a container process for lifecycle cases: once its signal
handlers are in place it prints `awaiting signals` on stdout; it then stays
until a signal arrives (at most SECONDS, default 3600), prints
`received SIGNAME` and exits 128 + the signal's number, as a shell reports such
a death. With --every it reports every signal it receives the same way and
goes on after those that do not ask a process to end (SIGUSR1, SIGUSR2,
SIGALRM, ...): only SIGHUP, SIGINT, SIGQUIT and SIGTERM end it. As pid 1 of a
pid namespace it receives only the signals it has a handler for (and SIGKILL
from outside it): every signal it awaits has one.

Only the standard library and runtimetest.checker.container are imported: this runs in
the same rootfs, as any uid, as the checker does.
"""

import json
import os
import signal
import sys
import time

from runtimetest.checker import container
from runtimetest.linux.proc import cmdline

USAGE = """\
usage: runtimetest --hook LABEL [--record DIR] [--exit N] [--sleep SECONDS]
       runtimetest --await-signal [--every] [SECONDS]
"""
# Where a hook records when --record is not reachable from its namespace: the
# driver bind-mounts the record directory here for container-namespace hooks.
IN_CONTAINER_RECORDS = "/.runtimetest-hooks"
NAMESPACES = ("mnt", "pid", "net", "uts", "ipc", "user", "cgroup")
AWAITED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGALRM",
           "SIGWINCH", "SIGCONT", "SIGPIPE")
# The signals whose purpose is to end a process: with --every, only these end it.
ENDING = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM")


class UsageError(Exception):
    pass


def parse_hook_args(args):
    """--hook's options as a dict: label, record, exit, sleep, and any other words
    (arguments a hook may be given, which only need to reach it)."""
    options = {"label": None, "record": None, "exit": 0, "sleep": 0.0, "other": []}
    args = list(args)
    while args:
        word = args.pop(0)
        if word not in ("--hook", "--record", "--exit", "--sleep"):
            options["other"].append(word)
            continue
        if not args:
            raise UsageError(f"{word} needs a value")
        value = args.pop(0)
        try:
            if word == "--hook":
                options["label"] = value
            elif word == "--record":
                options["record"] = value
            elif word == "--exit":
                options["exit"] = int(value)
            else:
                options["sleep"] = float(value)
        except ValueError:
            raise UsageError(f"{word}: not a number: {value!r}") from None
    if not options["label"]:
        raise UsageError("--hook needs a label")
    return options


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def top_pid():
    """The process the runtime started: this one.

    Read from /proc alone: a createContainer hook may run in the container's
    pid namespace with the host's /proc still mounted, where os.getpid() names
    another process.
    """
    return int(os.readlink("/proc/self"))


def _environ(pid):
    try:
        return container.environ_of(pid)
    except OSError:
        return dict(os.environ)


def observe(stdin_text):
    """What the runtime gave this hook, as a JSON-ready dict."""
    top = top_pid()
    seen = {
        "pid": int(os.readlink("/proc/self")),
        "top": top,
        "argv": cmdline(top),
        "env": sorted(f"{k}={v}" for k, v in _environ(top).items()),
        "stdin": stdin_text,
        "namespaces": {ns: _readlink(f"/proc/self/ns/{ns}") for ns in NAMESPACES},
        "state_pid_cmdline": None,
    }
    try:
        state = json.loads(stdin_text)
        pid = state.get("pid") if isinstance(state, dict) else None
        if isinstance(pid, int) and pid > 0:
            seen["state_pid_cmdline"] = cmdline(pid)
    except ValueError:
        pass
    return seen


def record_dir(given):
    for path in (given, IN_CONTAINER_RECORDS):
        if path and os.path.isdir(path) and os.access(path, os.W_OK):
            return path
    return None


def write_record(directory, name, record):
    path = os.path.join(directory, name)
    with open(path + ".tmp", "w") as handle:
        json.dump(record, handle)
    os.replace(path + ".tmp", path)


def hook_main(args):
    started = time.monotonic()
    try:
        options = parse_hook_args(args)
    except UsageError as error:
        sys.stderr.write(f"runtimetest: {error}\n{USAGE}")
        return 2
    stdin_text = sys.stdin.buffer.read().decode("utf-8", "replace")
    directory = record_dir(options["record"])
    if directory is None:
        sys.stderr.write(f"runtimetest --hook: no writable record directory "
                         f"({options['record']} or {IN_CONTAINER_RECORDS})\n")
        return 125
    record = observe(stdin_text)
    record.update(label=options["label"], started=started, planned={"exit": options["exit"], "sleep": options["sleep"]},
                  finished=None)
    name = f"{time.monotonic_ns()}-{os.getpid()}.json"
    write_record(directory, name, record)
    deadline = started + options["sleep"]
    while time.monotonic() < deadline:
        time.sleep(max(0.0, deadline - time.monotonic()))
    record["finished"] = time.monotonic()
    write_record(directory, name, record)
    return options["exit"]


def parse_await_args(args):
    """--await-signal's options: (every, seconds); UsageError for anything else."""
    args = list(args)
    every = "--every" in args
    args = [arg for arg in args if arg != "--every"]
    if len(args) > 1:
        raise UsageError(f"--await-signal: unexpected {' '.join(args[1:])!r}")
    try:
        seconds = float(args[0]) if args else 3600.0
    except ValueError:
        raise UsageError(f"--await-signal: not a number: {args[0]!r}") from None
    return every, seconds


def await_main(args):
    try:
        every, seconds = parse_await_args(args)
    except UsageError as error:
        sys.stderr.write(f"runtimetest: {error}\n{USAGE}")
        return 2

    def received(signo, frame):
        name = signal.Signals(signo).name
        os.write(1, f"received {name}\n".encode())
        if not every or name in ENDING:
            os._exit(128 + signo)

    for name in AWAITED:
        signal.signal(getattr(signal, name), received)
    os.write(1, b"awaiting signals\n")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return 0


def main(argv):
    """Entry from the checker: argv starts with --hook or --await-signal."""
    if argv[0] == "--await-signal":
        return await_main(argv[1:])
    return hook_main(argv)
