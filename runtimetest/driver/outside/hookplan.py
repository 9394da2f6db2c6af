"""Hooks in hook mode: what a case's hooks are planned to do, and its bundle rewritten for them.

A case's hooks run the static binary in hook mode (runtimetest/checker/hooks.py),
which records what the runtime gave it; outside/hooks.py judges the records.

In a case's hooks, `"path": "/runtimetest"` names the checker binary. The
driver rewrites it to the bundle's copy (<bundle>/rootfs/runtimetest) for the
hooks whose path resolves in the runtime namespace (all but startContainer), and
adds `--record DIR` to the args of every hook in hook mode. For hooks run in the
container namespace it bind-mounts the record directory at /.runtimetest-hooks.
The spec the checker is told gets the same changes, so they compare equal.

A hook in hook mode is named by the word after `--hook` (its label); `--exit N`
and `--sleep S` say how it behaves, and so whether the runtime must treat it as
failed (a non-zero exit, or a sleep longer than its `timeout`).
"""

import os

from runtimetest.core.spec import major_minor

POINTS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
# Where each hook's path resolves and where it runs (config.md "POSIX-platform Hooks").
PATH_IN_CONTAINER = ("startContainer",)
RUNS_IN_CONTAINER = ("createContainer", "startContainer")
# The operation each hook belongs to.
OPERATION = {"prestart": "create", "createRuntime": "create", "createContainer": "create",
             "startContainer": "start", "poststart": "start", "poststop": "delete"}
# A failure of these hooks must stop the container (runtime.md "Lifecycle" steps 3-7);
# from runtime-spec 1.3 a failed poststart hook must too (runtime-spec#1262), before
# that it was only to be logged.
FATAL = ("prestart", "createRuntime", "createContainer", "startContainer")
POSTSTART_FATAL_FROM = (1, 3)
CHECKER = "/runtimetest"
RECORDS_IN_CONTAINER = "/.runtimetest-hooks"
RECORDS_DIR = "hooks-record"


def hooks_of(config):
    hooks = config.get("hooks")
    return hooks if isinstance(hooks, dict) else {}


def label_of(hook):
    args = hook.get("args") if isinstance(hook, dict) else None
    if isinstance(args, list) and "--hook" in args:
        index = args.index("--hook")
        if index + 1 < len(args) and isinstance(args[index + 1], str):
            return args[index + 1]
    return None


def _option(args, flag, kind, default):
    if flag in args:
        index = args.index(flag)
        try:
            return kind(args[index + 1])
        except (IndexError, ValueError, TypeError):
            return default
    return default


class Planned:
    """How a hook in hook mode behaves, from its declaration."""

    def __init__(self, point, index, hook):
        self.point = point
        self.index = index
        self.hook = hook
        self.field = f"hooks.{point}[{index}]"
        args = hook.get("args") if isinstance(hook.get("args"), list) else []
        self.label = label_of(hook)
        self.exit = _option(args, "--exit", int, 0)
        self.sleep = _option(args, "--sleep", float, 0.0)
        timeout = hook.get("timeout")
        self.timeout = timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None

    @property
    def overruns(self):
        return self.timeout is not None and self.sleep > self.timeout

    @property
    def fails(self):
        return self.exit != 0 or self.overruns


def fatal_points(spec):
    version = major_minor(spec.get("ociVersion"))
    return FATAL + ("poststart",) if version and version >= POSTSTART_FATAL_FROM else FATAL


def planned_hooks(spec):
    """Every hook in hook mode the spec declares, in the order they must run."""
    planned = []
    hooks = hooks_of(spec)
    for point in POINTS:
        entries = hooks.get(point)
        for index, hook in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(hook, dict) and label_of(hook):
                planned.append(Planned(point, index, hook))
    return planned


def first_fatal(planned, spec):
    """The first hook whose failure must stop the container, or None."""
    points = fatal_points(spec)
    return next((p for p in planned if p.point in points and p.fails), None)


def expected_failure(spec):
    """The operation ("create" or "start") the spec's hooks must stop, or None."""
    fatal = first_fatal(planned_hooks(spec), spec)
    return OPERATION[fatal.point] if fatal else None


def any_hook_fails(spec):
    return any(p.fails for p in planned_hooks(spec))


# -- preparing a bundle --------------------------------------------------------------

def prepare(config, spec, bundle):
    """Point hook-mode hooks at the bundle's checker and record directory (config and spec alike).

    Returns the host directory the hooks record into, or None when the case has no hooks.
    """
    if not (hooks_of(config) or hooks_of(spec)):
        return None
    records = os.path.join(bundle.path, RECORDS_DIR)
    os.makedirs(records, exist_ok=True)
    os.chmod(records, 0o777)
    in_container = False
    documents = [config] if spec is config else [config, spec]  # one object without NAME.spec.json
    for document in documents:
        for point, entries in hooks_of(document).items():
            for hook in entries if isinstance(entries, list) else []:
                if not isinstance(hook, dict):
                    continue
                if hook.get("path") == CHECKER and point not in PATH_IN_CONTAINER:
                    hook["path"] = bundle.rootfs + CHECKER
                if label_of(hook):
                    inside = point in PATH_IN_CONTAINER
                    hook["args"] = list(hook["args"]) + ["--record", RECORDS_IN_CONTAINER if inside else records]
                    in_container = in_container or point in RUNS_IN_CONTAINER
    if in_container:
        os.makedirs(bundle.rootfs + RECORDS_IN_CONTAINER, exist_ok=True)
        mount = {"destination": RECORDS_IN_CONTAINER, "type": "bind", "source": records,
                 "options": ["rbind", "rw"]}
        for document in documents:
            if isinstance(document.get("mounts"), list):
                document["mounts"].append(dict(mount))
    return records
