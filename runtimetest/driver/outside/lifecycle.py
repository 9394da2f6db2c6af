"""The lifecycle checks: what each step of a NAME.lifecycle file saw, judged from outside.

Each step's verdict is an outside check (lifecycle.create, .start, .state,
.kill, .delete, .race, .cgroups-path, .resources); its failures are lines in
the checker's format, compared with NAME.err after the container's own stderr.
The file format is read by driver/cases/steps.py and the steps are run by
driver/steps.py, which hands each check a Seen.
"""

import os

from runtimetest.core.registry import MAY, MUST
from runtimetest.driver.cases.steps import describe, signal_label, signal_number
from runtimetest.driver.outside.registry import outside_check

KILL_WAIT = 10.0  # seconds a killed container process may take to end


class Seen:
    """What one step observed, for its check."""

    def __init__(self, step, result, **facts):
        self.step = step
        self.result = result
        self.__dict__.update(facts)


def _must_fail(seen, result, field, why):
    if seen.result.ok:
        result.fail(field, "an error", "success", why=f"{describe(seen.step)}: {why}")


def _why(step, otherwise):
    """Why a step expects its operation to fail."""
    if step.mode == "noid":
        return "no container id given"
    return "no such container" if step.unknown else otherwise


def _must_succeed(seen, result, field):
    if not seen.result.ok:
        result.fail(field, "success", seen.result.describe(), why=describe(seen.step))
        return False
    return True


def _succeeded_as_it_must(seen, result, field, refusal):
    """A step expected to fail must fail (`refusal`: why, when the step names no other reason); any other
    must succeed. True when it succeeded as it had to, and what it did can be judged further."""
    if seen.step.fail:
        _must_fail(seen, result, field, _why(seen.step, refusal))
        return False
    return _must_succeed(seen, result, field)


@outside_check("lifecycle.create", MUST, "runtime.md#create")
def create_makes_one_container(seen, result):
    """create makes the container of a valid bundle and writes --pid-file; it fails without an id, or for an id in use."""
    refusal = "the id is already in use" if seen.again else "the step expects an error"
    if _succeeded_as_it_must(seen, result, "create", refusal) and seen.pid_problem:
        result.problem(f"--pid-file: {seen.pid_problem} ({describe(seen.step)})")


@outside_check("lifecycle.start", MUST, "runtime.md#start")
def start_runs_a_created_container(seen, result):
    """start runs the program of a created container, and fails for any other container, or without an id."""
    _succeeded_as_it_must(seen, result, "start", "the container is not created")


@outside_check("lifecycle.kill", MUST, "runtime.md#kill")
def kill_delivers_the_signal(seen, result):
    """kill sends the signal to the container process (which ends of it, or catches it), and fails otherwise.

    It fails for a container neither created nor running, an unknown id, or no id.
    """
    step = seen.step
    if not _succeeded_as_it_must(seen, result, "kill", "the container is neither created nor running"):
        return
    name = signal_label(step.arg)
    if step.mode == "caught":
        if not seen.reported:
            found = seen.exit.describe() if seen.exit is not None else f"no report in {seen.waited:g}s"
            result.fail("kill", f"the container process reports received {name}", found, why=describe(step))
    elif seen.exit is None:
        result.fail("kill", f"the container process ended by {name}",
                    f"still running after {KILL_WAIT:g}s", why=describe(step))
    elif not seen.exit.ended_by(signal_number(step.arg)):
        result.fail("kill", f"the container process ended by {name}", seen.exit.describe(), why=describe(step))


@outside_check("lifecycle.delete", MUST, "runtime.md#delete")
def delete_removes_a_stopped_container(seen, result):
    """delete removes a stopped container (its id is then unknown); --force also a running one, ending it.

    Without --force it fails for a container not stopped, an unknown id, or no id.
    """
    if not _succeeded_as_it_must(seen, result, "delete", "the container is not stopped"):
        return
    if seen.still_known:
        result.fail("delete", "the id unknown to state", "state still reports it", why=describe(seen.step))
    if seen.step.mode == "force" and seen.exit is None:
        result.fail("delete --force", "the container process ended", f"still running after {KILL_WAIT:g}s",
                    why=describe(seen.step))


@outside_check("lifecycle.race", MUST, "runtime.md#operations")
def one_of_concurrent_operations_succeeds(seen, result):
    """Of operations on one container at the same moment (two starts, two deletes), exactly one succeeds.

    After the first, the container is no longer in the status the others need, and they must fail.
    """
    succeeded = sum(1 for each in seen.results if each.ok)
    if succeeded != 1:
        result.fail(seen.step.arg, f"1 of {len(seen.results)} to succeed", f"{succeeded} succeeded",
                    why=describe(seen.step))


@outside_check("lifecycle.cgroups-path", MAY, "config-linux.md#cgroups-path")
def cgroups_path_is_placed(seen, result):
    """A relative linux.cgroupsPath is placed below the runtime's own cgroup, in every controller's hierarchy.

    That is the runtime-determined location runc and crun use (on cgroup v2, runc's is its cgroup's parent);
    an absolute path is judged below the hierarchy's root. Seen from the host in /proc/PID/cgroup, the
    runtime run in a cgroup of the case's own.
    """
    if not isinstance(seen.wanted, str) or not seen.wanted:
        result.skip("the spec names no linux.cgroupsPath")
    if not seen.found:
        result.skip("the container process is gone: its cgroups cannot be read")
    wrong = {}
    for key, path in sorted(seen.found.items()):
        base = "/" if seen.wanted.startswith("/") else seen.runtime_cgroups.get(key)
        if base is None or key in seen.unmanaged:
            continue
        expected = _clean(base + "/" + seen.wanted)
        # On cgroup v2 a cgroup with processes (the runtime's) cannot enable controllers for a child:
        # runc places a relative path below its cgroup's parent there.
        beside = _clean(os.path.dirname(_clean(base)) + "/" + seen.wanted) if key == "" else expected
        if _clean(path) not in (expected, beside):
            wrong.setdefault((expected, path), []).append(key or "cgroup2")
    for (expected, path), keys in sorted(wrong.items()):
        result.fail("linux.cgroupsPath", expected, path,
                    why=f"the {'; '.join(keys)} hierarchy, {describe(seen.step)}")


def _clean(path):
    return "/" + "/".join(part for part in path.split("/") if part)


@outside_check("lifecycle.resources", MUST, "runtime.md#delete")
def delete_releases_what_create_made(seen, result):
    """delete releases what create made (cgroups, namespaces, host mounts) and leaves what it did not make.

    What it did not make: a cgroup the container was moved into, a namespace it joined by path.
    """
    where = describe(seen.step)
    for what, left in seen.left:
        result.fail(what, "released", "; ".join(left), why=where)
    for what, gone in seen.lost:
        result.fail(what, "left as it was", "; ".join(gone), why=where)


@outside_check("lifecycle.state", MUST, "runtime.md#state")
def state_reports_the_container(seen, result):
    """state reports ociVersion, the id, the status, the bundle, the annotations and the process's pid (created, running).

    The annotations are the config's as created (absent or empty when it has none), whatever config.json says later.
    """
    step = seen.step
    if not _succeeded_as_it_must(seen, result, "state", "the step expects an error"):
        return
    state = seen.state
    if not isinstance(state, dict):
        result.problem(f"state: printed no JSON object ({describe(step)}): {seen.result.stdout.strip()[:120]!r}")
        return
    where = describe(step)
    if not isinstance(state.get("ociVersion"), str):
        result.fail("state.ociVersion", "a string", state.get("ociVersion"), why=where)
    if state.get("id") != seen.cid:
        result.fail("state.id", seen.cid, state.get("id"), why=where)
    if state.get("status") != step.arg:
        result.fail("state.status", step.arg, state.get("status"), why=where)
    if state.get("bundle") != seen.bundle:
        result.fail("state.bundle", seen.bundle, state.get("bundle"), why=where)
    if step.arg in ("created", "running") and state.get("status") == step.arg:
        _check_pid(seen, result, state.get("pid"), where)
    if (state.get("annotations") or {}) != seen.annotations:
        result.fail("state.annotations", seen.annotations, state.get("annotations"), why=where)


def _check_pid(seen, result, pid, where):
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        result.fail("state.pid", "the pid of the container process", pid, why=where)
        return
    if seen.pid_file_pid is not None and pid != seen.pid_file_pid:
        result.fail("state.pid", seen.pid_file_pid, pid, why=f"the pid in --pid-file; {where}")
    if not seen.host_process:
        result.note(f"{where}: the runtime's container process is not a host process; "
                    "its command line is not checked")
        return
    running = seen.cmdline == seen.process_args
    if seen.step.arg == "running" and not running:
        result.fail("state.pid", "a process running process.args", seen.cmdline, why=f"pid {pid}; {where}")
    if seen.step.arg == "created" and running:
        result.fail("state.pid", "a process that has not run process.args yet", seen.cmdline,
                    why=f"pid {pid}; {where}")
