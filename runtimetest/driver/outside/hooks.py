"""Hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"), checked from outside.

After the container is deleted (poststop hooks run during delete) the driver
reads the records its hooks in hook mode wrote (outside/hookplan.py prepares
the bundle for them) and compares them with the hooks of the spec the checker
is told (so a NAME.spec.json can make a runtime look wrong, as for any check)
and with what it saw of the lifecycle: when each runtime command ran, the
container process's namespaces and pid.
"""

import json
import os

from runtimetest.core import facts
from runtimetest.core.registry import MUST
from runtimetest.core.spec import show
from runtimetest.driver.outside.hookplan import (OPERATION, POINTS, RUNS_IN_CONTAINER, expected_failure,
                                                 first_fatal, planned_hooks)
from runtimetest.driver.outside.registry import outside_check

# The status the state on a hook's stdin must have. runtime.md calls step 2 of
# the lifecycle `creating` and what comes after it `created`; the hooks of create
# run in steps 3 to 5, inside the create operation, so either reading is accepted.
STATUS = {"prestart": ("creating", "created"), "createRuntime": ("creating", "created"),
          "createContainer": ("creating", "created"), "startContainer": ("created",),
          "poststart": ("running", "stopped"), "poststop": ("stopped",)}
SECTION = "config.md#posix-platform-hooks"


def read_records(directory):
    """The hooks' records, in the order they started."""
    records = []
    for name in sorted(os.listdir(directory)) if directory and os.path.isdir(directory) else []:
        if name.endswith(".json"):
            try:
                with open(os.path.join(directory, name)) as handle:
                    records.append(json.load(handle))
            except (OSError, ValueError):
                continue
    return sorted(records, key=lambda r: r.get("started", 0))


class Seen:
    """What the driver saw of one declared hook: its record (or None) and the lifecycle."""

    def __init__(self, planned, record, context):
        self.planned = planned
        self.record = record
        self.context = context


class Context:
    """What the driver saw of the case's lifecycle."""

    def __init__(self, spec, session, records, stdout):
        self.spec = spec
        self.cid = session.cid
        self.bundle = session.bundle.path
        self.pid = session.pid
        self.namespaces = session.namespaces
        self.events = [e for e in session.events if e.target in ("container", "clean-up")]
        self.host_process = session.runtime.host_process
        self.records = records
        self.program_output = stdout  # the checker always prints TAP here once it runs
        self.driver_pid_ns = os.readlink("/proc/self/ns/pid")
        process = spec.get("process") if isinstance(spec.get("process"), dict) else {}
        self.process_args = process.get("args")
        linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
        namespaces = linux.get("namespaces") if isinstance(linux.get("namespaces"), list) else []
        self.new_namespaces = {n.get("type") for n in namespaces if isinstance(n, dict) and not n.get("path")}

    def operation_at(self, moment):
        """The runtime command that was running at `moment`, or None."""
        for event in self.events:
            if event.started <= moment <= event.ended:
                return event.op
        return None

    def failed(self, op):
        """Whether the first `op` command of the container failed (None: never ran)."""
        for event in self.events:
            if event.op == op and event.target == "container":
                return not event.ok
        return None


def _order(planned):
    return POINTS.index(planned.point), planned.index


@outside_check("hooks.called", MUST, "runtime.md#lifecycle")
def hook_is_called_once(seen, result):
    """Every hook is called once, but none that comes after a failed hook of create or start (poststop still is)."""
    planned, record = seen.planned, seen.record
    if planned is None:
        result.fail(f"hook {record.get('label')!r}", "not called", "called", why="the spec declares no such hook")
        return
    count = sum(1 for r in seen.context.records if r.get("label") == planned.label)
    fatal = first_fatal(planned_hooks(seen.context.spec), seen.context.spec)
    after_failure = (fatal is not None and planned.point != "poststop" and _order(planned) > _order(fatal))
    if after_failure and record is not None:
        result.fail(planned.field, "not called", "called", why=f"{fatal.field} failed before it")
    elif not after_failure and record is None:
        result.fail(planned.field, "called", "not called")
    elif count > 1:
        result.fail(planned.field, "called once", f"called {count} times")


@outside_check("hooks.order", MUST, SECTION)
def hooks_run_in_order(context, result):
    """Hooks are called in the listed order, prestart to poststop."""
    order = [p.label for p in planned_hooks(context.spec)]
    called = [r.get("label") for r in context.records if r.get("label") in order]
    expected = [label for label in order if label in called]
    if called != expected:
        result.fail("hooks", expected, called, why="labels of the hooks in the order they were called")


@outside_check("hooks.args", MUST, SECTION)
def hook_gets_its_args(seen, result):
    """A hook's argv is exactly its args."""
    declared = seen.planned.hook.get("args")
    if seen.record is not None and seen.record.get("argv") != declared:
        result.fail(f"{seen.planned.field}.args", declared, seen.record.get("argv"))


@outside_check("hooks.env", MUST, SECTION)
def hook_gets_its_env(seen, result):
    """A hook's environment is exactly its env."""
    declared = seen.planned.hook.get("env")
    if seen.record is None or not isinstance(declared, list):
        return
    found = seen.record.get("env") or []
    if sorted(declared) != sorted(found):
        result.fail(f"{seen.planned.field}.env", sorted(declared), sorted(found))


@outside_check("hooks.state", MUST, SECTION)
def hook_reads_the_state(seen, result):
    """A hook reads the container's state on stdin: its id, bundle, status and pid, and the annotations."""
    planned, record, context = seen.planned, seen.record, seen.context
    if record is None:
        return
    field = f"{planned.field} stdin"
    try:
        state = json.loads(record.get("stdin") or "")
    except ValueError:
        state = None
    if not isinstance(state, dict):
        result.fail(field, "the container state (a JSON object)", (record.get("stdin") or "")[:80])
        return
    if state.get("id") != context.cid:
        result.fail(f"{field}.id", context.cid, state.get("id"))
    if state.get("bundle") != context.bundle:
        result.fail(f"{field}.bundle", context.bundle, state.get("bundle"))
    wanted = STATUS[planned.point]
    if state.get("status") not in wanted:
        result.fail(f"{field}.status", wanted[0] if len(wanted) == 1 else list(wanted), state.get("status"))
    if state.get("status") in ("created", "running"):
        _check_state_pid(seen, result, state.get("pid"), field)
    told = {k: v for k, v in (context.spec.get("annotations") or {}).items()
            if not str(k).startswith(facts.PREFIX)}
    given = {k: v for k, v in (state.get("annotations") or {}).items() if not str(k).startswith(facts.PREFIX)}
    if told != given:
        result.fail(f"{field}.annotations", told, given)


def _check_state_pid(seen, result, pid, field):
    context, record = seen.context, seen.record
    if context.pid is None or not context.host_process:
        return
    accepted = {context.pid}
    # A hook in the container's own pid namespace cannot see the host's pids: there
    # the container process is pid 1.
    if seen.planned.point in RUNS_IN_CONTAINER and "pid" in context.new_namespaces \
            and (record.get("namespaces") or {}).get("pid") == context.namespaces.get("pid"):
        accepted.add(1)
    if pid not in accepted:
        result.fail(f"{field}.pid", context.pid, pid, why="the container process")


@outside_check("hooks.namespace", MUST, SECTION)
def hook_runs_in_its_namespace(seen, result):
    """createContainer and startContainer hooks run in the container namespace, the others in the runtime's."""
    planned, record, context = seen.planned, seen.record, seen.context
    if record is None:
        return
    if not context.host_process:
        result.skip("the runtime's container process is not a host process: no namespaces to compare")
    namespaces = record.get("namespaces") or {}
    inside = planned.point in RUNS_IN_CONTAINER
    if not inside and namespaces.get("pid") != context.driver_pid_ns:
        result.fail(planned.field, "the runtime pid namespace", namespaces.get("pid"),
                    why=f"the runtime's is {context.driver_pid_ns}")
    container = context.namespaces.get("mnt")
    if container is None:
        result.skip("the container process's mount namespace was not seen (it was never created)")
    mine = namespaces.get("mnt")
    if inside and mine != container:
        result.fail(planned.field, "the container mount namespace", mine, why=f"the container's is {container}")
    # Once deleted, the container's namespaces are gone and their numbers free for
    # reuse: a hook that ran during delete is not compared with them.
    during_delete = context.operation_at(record.get("started", -1.0)) == "delete"
    if not inside and not during_delete and "mount" in context.new_namespaces and mine == container:
        result.fail(planned.field, "the runtime mount namespace", mine, why="that is the container's")


@outside_check("hooks.when", MUST, "runtime.md#lifecycle")
def hook_runs_at_its_point(seen, result):
    """A hook runs during its operation (create, start or delete), before or after the program is executed."""
    planned, record, context = seen.planned, seen.record, seen.context
    if record is None:
        return
    expected = [OPERATION[planned.point]]
    stopped = expected_failure(context.spec)
    if planned.point == "poststop" and stopped:
        # A failed hook makes the runtime destroy the container (lifecycle step 12)
        # and call the poststop hooks (step 13) within the failed operation.
        expected.insert(0, stopped)
    found = context.operation_at(record.get("started", -1.0))
    if found not in expected:
        result.fail(planned.field, f"during {' or '.join(expected)}",
                    f"during {found}" if found else "outside any runtime command")
    argv = record.get("state_pid_cmdline")
    if argv is None or not context.host_process or planned.point in RUNS_IN_CONTAINER:
        return
    executed = argv == context.process_args
    if planned.point == "poststart" and not executed and argv:
        result.fail(planned.field, "after process.args is executed", "before",
                    why=f"the container process was running {show(argv)}")
    if planned.point in ("prestart", "createRuntime") and executed:
        result.fail(planned.field, "before process.args is executed", "after")


@outside_check("hooks.timeout", MUST, SECTION)
def hook_is_aborted_after_its_timeout(seen, result):
    """A hook still running after its timeout is aborted."""
    planned, record = seen.planned, seen.record
    if record is None or planned.timeout is None:
        return
    if planned.overruns and record.get("finished") is not None:
        result.fail(f"{planned.field}.timeout", f"aborted after {planned.timeout}s",
                    f"ran its {planned.sleep:g}s to the end")
    if not planned.overruns and record.get("finished") is None:
        result.fail(f"{planned.field}.timeout", f"allowed {planned.timeout}s",
                    "aborted before it finished")


@outside_check("hooks.failure", MUST, "runtime.md#lifecycle")
def failed_hook_stops_the_container(context, result):
    """A failed prestart, createRuntime, createContainer or startContainer hook makes its operation fail and the program never runs; a failed poststop hook (and before runtime-spec 1.3 a poststart hook) changes nothing else."""
    planned = planned_hooks(context.spec)
    fatal = first_fatal(planned, context.spec)
    if fatal is not None:
        # "Generate an error": the OCI runtime command line reports one by a non-zero exit.
        op = OPERATION[fatal.point]
        if context.failed(op) is False:
            result.fail(op, "an error", "success", why=f"{fatal.field} failed")
        if fatal.point != "poststart" and context.program_output:
            result.fail("process", "the program never run", "it ran", why=f"{fatal.field} failed; it printed "
                        f"{show(context.program_output[:40].decode('utf-8', 'replace'))}")
        return
    for hook in planned:
        if hook.fails:
            failed = [op for op in ("create", "start", "delete") if context.failed(op)]
            if failed:
                result.fail(failed[0], "success", "an error", why=f"{hook.field} failed, which must only be logged")
            elif not context.program_output and hook.point == "poststart":
                result.fail("process", "the program run", "no output from it", why=f"{hook.field} failed, "
                            "which must only be logged")


def check_hooks(findings, spec, session, stdout, records_dir):
    """Run every hook check for a case; failures go to `findings`."""
    planned = planned_hooks(spec)
    if not planned:
        return
    records = read_records(records_dir)
    context = Context(spec, session, records, stdout)
    for hook in planned:
        matching = [r for r in records if r.get("label") == hook.label]
        seen = Seen(hook, matching[0] if matching else None, context)
        for check_id in ("hooks.called", "hooks.args", "hooks.env", "hooks.state",
                         "hooks.namespace", "hooks.when", "hooks.timeout"):
            findings.run(check_id, seen)
    findings.run("hooks.order", context)
    findings.run("hooks.failure", context)
    labels = {hook.label for hook in planned}
    for record in records:
        if record.get("label") not in labels:
            findings.run("hooks.called", Seen(None, record, context))
