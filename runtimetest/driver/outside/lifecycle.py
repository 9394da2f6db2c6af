"""NAME.lifecycle: what the driver does to a case's container, checked from outside.

A case with a NAME.lifecycle file is run by its steps instead of the plain
create, start, wait, delete. One step per line (`#` starts a comment):

    create            create the container: must succeed and write --pid-file
    create fail       create again with the same id (or a first create that must
                      fail): must fail
    state STATUS      state: must report STATUS, the container's id, its bundle,
                      an ociVersion, and for created/running the pid of the
                      container process (the one in --pid-file, running the
                      user-specified program once started)
    start             start: must succeed
    start fail        start: must fail (the container is not `created`)
    kill SIGNAL       kill: must succeed, and the container process must then end
                      from SIGNAL (die of it, or exit 128+N as a shell reports it)
    kill SIGNAL fail  kill: must fail (the container is neither created nor running)
    wait              wait for the container process to end (bounded by the case's timeout)
    expect TEXT       wait until the container has printed the line TEXT on stdout
                      (bounded by the case's timeout), e.g. that it is ready for a signal
    delete            delete (without --force): must succeed, and `state` must
                      then no longer know the id
    delete fail       delete (without --force): must fail (the container is not stopped)
    OP unknown        start, state, kill SIGNAL or delete an id no container has:
                      must fail
    OP noid           create, start, state, kill [SIGNAL] or delete given no id: must fail
    kill SIGNAL caught
                      kill: must succeed, and the process (which handles SIGNAL and
                      goes on) must print `received SIGNAME` once more
    kill-process SIGNAL
                      signal the container process directly, from outside the runtime
    delete force      delete --force: must succeed, `state` no longer knows the id and
                      the process has ended
    race N OP         N starts or N deletes at the same moment: exactly one succeeds
    edit-config FIELD JSON
                      set a dotted field of the bundle's config.json (null deletes it)
    expect-cgroup     the process is in linux.cgroupsPath in every controller's
                      hierarchy (a relative path below the runtime's own cgroup)
    join-cgroup CONTROLLER
                      move the process into a cgroup the driver makes
    expect-gone cgroup|mount|ns
                      what create made (seen after create) is released
    expect-kept cgroup|ns
                      what the container was in but create did not make is still there

Each step's verdict is an outside check (lifecycle.create, .start, .state,
.kill, .delete, .race, .cgroups-path, .resources); its failures are lines in the checker's format, compared with
NAME.err after the container's own stderr. Whatever the steps leave, the
driver's clean-up removes (kill, delete --force) as for any case.
"""

import json
import os
import signal as signals
import threading
import time
from collections import namedtuple

from runtimetest.core.registry import MAY, MUST
from runtimetest.driver import resources
from runtimetest.driver.outside.registry import outside_check
from runtimetest.linux.proc import cmdline

OPS = ("create", "start", "state", "kill", "wait", "expect", "delete", "edit-config", "kill-process",
       "race", "join-cgroup", "expect-cgroup", "expect-gone", "expect-kept")
STATUSES = ("creating", "created", "running", "stopped")
NO_ID_OPS = ("create", "start", "state", "kill", "delete")
RACE_OPS = ("start", "delete")
RESOURCES = ("cgroup", "mount", "ns")  # what `expect-gone` looks for after delete
KEPT = ("cgroup", "ns")  # what `expect-kept` looks for: made by the driver, joined by the container
KILL_WAIT = 10.0  # seconds a killed container process may take to end
EXEC_GRACE = 1.0  # seconds a process `state` calls running may take to execute the program
RACE_PROMPT = 1.0  # seconds after which a losing operation of a race is noted as slow

# mode: "noid" (no container id given), "caught" (kill: the process catches the
# signal and goes on), "force" (delete --force); value: race's count, edit-config's JSON.
Step = namedtuple("Step", "op arg fail unknown line mode value", defaults=(None, None))
MODIFIERS = {"fail", "unknown", "noid", "caught", "force"}


class StepError(Exception):
    """A NAME.lifecycle line that is not a step: the message says why."""


def signal_number(text):
    """The number of a signal given as TERM, SIGTERM or 15; ValueError if none."""
    if text.isdigit():
        return signals.Signals(int(text)).value
    name = text.upper()
    return signals.Signals[name if name.startswith("SIG") else "SIG" + name].value


def signal_label(text):
    """SIGUSR1 for USR1, usr1, SIGUSR1 or 10."""
    return signals.Signals(signal_number(text)).name


def parse_steps(text):
    """The steps of a NAME.lifecycle text; StepError("line N: ...") for a bad line."""
    steps = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        try:
            steps.append(_parse_step(words, number))
        except StepError as error:
            raise StepError(f"line {number}: {error}") from None
    if not steps:
        raise StepError("no steps")
    return steps


def _parse_step(words, number):
    op, rest = words[0], words[1:]
    if op not in OPS:
        raise StepError(f"unknown step {op!r} (one of {', '.join(OPS)})")
    if op == "expect":
        if not rest:
            raise StepError("`expect` needs the line to wait for")
        return Step(op, " ".join(rest), False, False, number)
    if op in SPECIAL:
        return SPECIAL[op](rest, number)
    given = [word for word in rest if word in MODIFIERS]
    fail, unknown, noid = "fail" in given, "unknown" in given, "noid" in given
    mode = "noid" if noid else "caught" if "caught" in given else "force" if "force" in given else None
    args = [word for word in rest if word not in MODIFIERS]
    _check_modifiers(op, given, args)
    if op == "wait" and (fail or args):
        raise StepError("`wait` takes nothing")
    if op == "state" and not (fail or unknown or noid):
        if len(args) != 1:
            raise StepError("`state` needs the expected status (creating, created, running, stopped)")
    elif op == "kill" and not (noid and not args):
        _one_signal(op, args)
    elif args:
        raise StepError(f"`{op}` takes no {' '.join(args)!r}")
    return Step(op, args[0] if args else None, fail or unknown or noid, unknown, number, mode)


def _check_modifiers(op, given, args):
    if "unknown" in given and op in ("create", "wait"):
        raise StepError(f"`{op}` cannot be aimed at an unknown id")
    if "noid" in given and op not in NO_ID_OPS:
        raise StepError(f"`{op}` cannot be given without an id")
    if "caught" in given and op != "kill":
        raise StepError("only `kill SIGNAL caught` is caught")
    if "force" in given and op != "delete":
        raise StepError("only `delete force` is forced")
    if len(given) > 1 and not set(given) <= {"fail", "unknown"}:
        raise StepError(f"`{op}`: {' and '.join(given)} do not go together")


def _one_signal(op, args):
    if len(args) != 1:
        raise StepError(f"`{op}` needs a signal (e.g. TERM, SIGKILL, 9)")
    try:
        signal_number(args[0])
    except (KeyError, ValueError):
        raise StepError(f"`{op} {args[0]}`: no such signal") from None


def _parse_edit_config(rest, number):
    if len(rest) < 2:
        raise StepError("`edit-config` needs a field and a JSON value (e.g. hostname \"edited\")")
    field, text = rest[0], " ".join(rest[1:])
    try:
        value = json.loads(text)
    except ValueError:
        raise StepError(f"`edit-config {field}`: not a JSON value: {text!r}") from None
    if not all(field.split(".")):
        raise StepError(f"`edit-config {field}`: not a dotted field name")
    return Step("edit-config", field, False, False, number, None, value)


def _parse_kill_process(rest, number):
    _one_signal("kill-process", rest)
    return Step("kill-process", rest[0], False, False, number)


def _parse_race(rest, number):
    if len(rest) != 2 or not rest[0].isdigit() or int(rest[0]) < 2 or rest[1] not in RACE_OPS:
        raise StepError(f"`race` needs a count of 2 or more and an operation ({', '.join(RACE_OPS)}), "
                        "e.g. `race 2 start`")
    return Step("race", rest[1], False, False, number, None, int(rest[0]))


def _parse_join_cgroup(rest, number):
    if len(rest) != 1:
        raise StepError("`join-cgroup` needs a controller (e.g. pids)")
    return Step("join-cgroup", rest[0], False, False, number)


def _parse_expect_cgroup(rest, number):
    if rest:
        raise StepError(f"`expect-cgroup` takes no {' '.join(rest)!r}")
    return Step("expect-cgroup", None, False, False, number)


def _resource_parser(op, kinds):
    def parse(rest, number):
        if len(rest) != 1 or rest[0] not in kinds:
            raise StepError(f"`{op}` needs what: {', '.join(kinds)}")
        return Step(op, rest[0], False, False, number)

    return parse


SPECIAL = {"edit-config": _parse_edit_config, "kill-process": _parse_kill_process, "race": _parse_race,
           "join-cgroup": _parse_join_cgroup, "expect-cgroup": _parse_expect_cgroup,
           "expect-gone": _resource_parser("expect-gone", RESOURCES),
           "expect-kept": _resource_parser("expect-kept", KEPT)}


def describe(step):
    if step.op == "race":
        words = [step.op, str(step.value), step.arg]
    elif step.op == "edit-config":
        words = [step.op, step.arg, json.dumps(step.value)]
    else:
        words = [step.op] + ([step.arg] if step.arg else []) + (["unknown"] if step.unknown else [])
        if step.mode:
            words.append(step.mode)
        elif step.fail and not step.unknown:
            words.append("fail")
    return f"step {step.line} `{' '.join(words)}`"


# -- the checks ------------------------------------------------------------------

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


@outside_check("lifecycle.create", MUST, "runtime.md#create")
def create_makes_one_container(seen, result):
    """create makes the container of a valid bundle and writes --pid-file; it fails without an id, or for an id in use."""
    if seen.step.fail:
        _must_fail(seen, result, "create", _why(seen.step, "the id is already in use" if seen.again
                                                else "the step expects an error"))
        return
    if _must_succeed(seen, result, "create") and seen.pid_problem:
        result.problem(f"--pid-file: {seen.pid_problem} ({describe(seen.step)})")


@outside_check("lifecycle.start", MUST, "runtime.md#start")
def start_runs_a_created_container(seen, result):
    """start runs the program of a created container, and fails for any other container, or without an id."""
    if seen.step.fail:
        _must_fail(seen, result, "start", _why(seen.step, "the container is not created"))
    else:
        _must_succeed(seen, result, "start")


@outside_check("lifecycle.kill", MUST, "runtime.md#kill")
def kill_delivers_the_signal(seen, result):
    """kill sends the signal to the container process (which ends of it, or catches it), and fails otherwise.

    It fails for a container neither created nor running, an unknown id, or no id.
    """
    step = seen.step
    if step.fail:
        _must_fail(seen, result, "kill", _why(step, "the container is neither created nor running"))
        return
    if not _must_succeed(seen, result, "kill"):
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
    if seen.step.fail:
        _must_fail(seen, result, "delete", _why(seen.step, "the container is not stopped"))
        return
    if not _must_succeed(seen, result, "delete"):
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
    if step.fail:
        _must_fail(seen, result, "state", _why(step, "the step expects an error"))
        return
    if not _must_succeed(seen, result, "state"):
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


# -- running the steps -----------------------------------------------------------------

class Steps:
    """Runs a case's steps on its session; outside-check failures go to `findings`.

    `spec` is the spec the checker is told (what the outside checks compare
    with); `placement` the cgroup the driver runs the runtime in, if it chose one.
    """

    def __init__(self, session, findings, timeout, process_args, spec=None, placement=None):
        self.session = session
        self.findings = findings
        self.timeout = timeout
        self.process_args = process_args
        self.spec = spec if spec is not None else session.config
        self.placement = placement
        self.timed_out = False
        self.timed_out_at = None
        self.started = False  # a `start` step succeeded: the program may run
        self.pid_file_pid = None
        self.made = None  # what create made, seen from the host: {"cgroup": [...], "ns": [...]}
        self.deleted_at = None  # clock ticks since boot when a delete step started
        self.ended_at = None  # clock ticks since boot when the container process was seen ended
        self.joined = {"cgroup": [], "ns": []}  # what the container is in that the driver or the host made

    def run(self, steps):
        for step in steps:
            carry_on = getattr(self, "_" + step.op.replace("-", "_"))(step)
            if self.session.exit is not None and self.ended_at is None:
                self.ended_at = resources.now_ticks()
            if self.hung() or not carry_on:
                return  # later steps make no sense

    def clean_up(self):
        """Remove the cgroups the driver made for the steps (once the container is gone)."""
        for made in self.joined["cgroup"]:
            made.remove()

    def hung(self):
        """The first runtime command that did not finish in time (a runtime fault), or None."""
        return next((e.result for e in self.session.events if e.result.timed_out), None)

    def _seen(self, step, result, **facts):
        return Seen(step, result, cid=self.session.cid, bundle=self.session.bundle.path,
                    pid_file_pid=self.pid_file_pid, host_process=self.session.runtime.host_process,
                    process_args=self.process_args, **facts)

    def _create(self, step):
        session = self.session
        if step.mode == "noid":
            result = session.without_id("create")
            self.findings.run("lifecycle.create", self._seen(step, result, again=False, pid_problem=None))
            return True
        again = session.may_exist
        result = session.create_again() if again else session.create()
        pid_problem = None
        if result.ok and not again:
            try:
                self.pid_file_pid = session.read_pid_file()
                session.follow(self.pid_file_pid)
                self._note_what_create_made(self.pid_file_pid)
            except Exception as error:  # RuntimeFault: no or bad pid file
                pid_problem = str(error)
        self.findings.run("lifecycle.create", self._seen(step, result, again=again, pid_problem=pid_problem))
        return again or result.ok

    def _note_what_create_made(self, pid):
        """The cgroups and namespaces the container process is in that the driver is not in: create made them
        (but for namespaces the config has it join by path). For runsc, the process is the sandbox's."""
        mine = set(resources.directories("self").values())
        own = resources.namespaces("self")
        joined = {entry.get("type") for entry in _namespaces_of(self.session.config) if entry.get("path")}
        theirs = resources.namespaces(pid)
        self.made = {"cgroup": sorted(d for d in resources.directories(pid).values() if d not in mine),
                     "ns": sorted(ns for kind, ns in theirs.items()
                                  if ns != own.get(kind) and _config_kind(kind) not in joined)}
        if self.session.runtime.host_process:  # runsc's sandbox joins nothing of the config's on the host
            self.joined["ns"] = sorted(ns for kind, ns in theirs.items() if _config_kind(kind) in joined)

    def _start(self, step):
        if step.mode == "noid":
            result = self.session.without_id("start")
        else:
            result = self.session.start(unknown=step.unknown)
            self.started = self.started or (result.ok and not step.unknown)
        self.findings.run("lifecycle.start", self._seen(step, result))
        return True

    def _state(self, step):
        from runtimetest.driver.runtimes.adapters import RuntimeFault, parse_state

        if step.mode == "noid":
            result = self.session.without_id("state")
        else:
            result = self.session.state(unknown=step.unknown)
        state = None
        if result.ok and not step.fail:
            try:
                state = parse_state(self.session.cid, result.stdout)
            except RuntimeFault:
                state = None
        pid = state.get("pid") if isinstance(state, dict) else None
        found = cmdline(pid)
        if step.arg == "running" and isinstance(state, dict) and state.get("status") == "running":
            found = self._settled_cmdline(pid, found)
        annotations = self.spec.get("annotations") if isinstance(self.spec.get("annotations"), dict) else {}
        self.findings.run("lifecycle.state", self._seen(step, result, state=state, cmdline=found,
                                                        annotations=annotations))
        return True

    def _settled_cmdline(self, pid, found):
        """The command line of a process `state` calls running, given a moment to exec.

        A runtime may answer `running` the instant `start` has released the
        container process, a moment before that process has executed the
        program: the race is noted, and only a process that does not get there
        within EXEC_GRACE is reported.
        """
        waited = 0.0
        while found != self.process_args and waited < EXEC_GRACE and found is not None:
            time.sleep(0.01)
            waited += 0.01
            found = cmdline(pid)
        if waited and found == self.process_args:
            self.findings.notes.append(f"lifecycle.state: state said running {waited * 1000:.0f} ms before "
                                       "the container process had executed process.args")
        return found

    def _kill(self, step):
        if step.mode == "noid":
            result = self.session.without_id("kill", step.arg)
            self.findings.run("lifecycle.kill", self._seen(step, result, exit=None, reported=False, waited=0))
            return True
        report = f"received {signal_label(step.arg)}".encode()
        before = self.session.stdout_lines().count(report) if step.mode == "caught" else 0
        result = self.session.kill(step.arg, unknown=step.unknown)
        exit, reported, waited = None, False, min(KILL_WAIT, self.timeout)
        if result.ok and not step.fail:
            if step.mode == "caught":
                reported = self._reported(report, before, waited)
                exit = self.session.exit
            else:
                exit = self.session.wait(min(KILL_WAIT, self.timeout))
        self.findings.run("lifecycle.kill", self._seen(step, result, exit=exit, reported=reported, waited=waited))
        return True

    def _reported(self, line, before, timeout):
        """Whether the container printed `line` once more than `before` times within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            if self.session.stdout_lines().count(line) > before:
                return True
            if time.monotonic() >= deadline or self.session.wait(0.0) is not None:
                return self.session.stdout_lines().count(line) > before
            time.sleep(0.05)

    def _kill_process(self, step):
        """The container process is signalled by the driver itself, not through the runtime."""
        pid = self.session.pid
        if pid is None or self.session.exit is not None:
            return False  # nothing to kill: the failed steps say why
        try:
            os.kill(pid, signal_number(step.arg))
        except ProcessLookupError:
            pass
        if self.session.wait(min(KILL_WAIT, self.timeout)) is None:
            self.findings.notes.append(f"{describe(step)}: the container process did not end")
            return False
        return True

    def _wait(self, step):
        if self.session.exit is None and not self.started and self.session.pid is None:
            return False  # nothing was created to wait for: the failed steps say why
        if self.session.wait(self.timeout) is None:
            self.timed_out, self.timed_out_at = True, step
            return False
        return True

    def _expect(self, step):
        if not self.started:
            return False  # the program was never started: the failed steps say why
        if self.session.wait_for_line(step.arg, self.timeout):
            return True
        # Ended without printing it (the stdout comparison shows what it did print),
        # or still running without it: the case's timeout.
        if self.session.exit is None:
            self.timed_out, self.timed_out_at = True, step
        return False

    def _delete(self, step):
        if step.mode == "noid":
            result = self.session.without_id("delete")
            self.findings.run("lifecycle.delete", self._seen(step, result, still_known=False, exit=None))
            return True
        self.deleted_at = self.deleted_at or resources.now_ticks()
        result = self.session.delete(force=step.mode == "force", unknown=step.unknown)
        still_known, exit = False, None
        if result.ok and not step.fail:
            still_known = self.session.state().ok
            if step.mode == "force":
                exit = self.session.wait(min(KILL_WAIT, self.timeout))
        self.findings.run("lifecycle.delete", self._seen(step, result, still_known=still_known, exit=exit))
        return True

    def _race(self, step):
        """`step.value` operations at the same moment, each in a thread of its own."""
        gate = threading.Barrier(step.value)
        results = [None] * step.value
        operation = self.session.start if step.arg == "start" else self.session.delete
        if step.arg == "delete":
            self.deleted_at = self.deleted_at or resources.now_ticks()

        def run(index):
            gate.wait()
            results[index] = operation()

        threads = [threading.Thread(target=run, args=(index,)) for index in range(step.value)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.started = self.started or (step.arg == "start" and any(r.ok for r in results))
        self.findings.run("lifecycle.race", self._seen(step, results[0], results=results))
        slow = [r for r in results if not r.ok and r.seconds > RACE_PROMPT]
        if slow:
            self.findings.notes.append(
                f"lifecycle.race: {describe(step)}: a losing {step.arg} took {max(r.seconds for r in slow):.1f}s "
                "to fail (it waited for the container to change, as runc's start waits on its exec fifo)")
        return True

    def _edit_config(self, step):
        """Change a field of the bundle's config.json (after create, this must change nothing)."""
        path = os.path.join(self.session.bundle.path, "config.json")
        with open(path) as handle:
            config = json.load(handle)
        set_field(config, step.arg, step.value)
        with open(path, "w") as handle:
            json.dump(config, handle, indent=2)
        return True

    def _join_cgroup(self, step):
        """Make a cgroup of the driver's in one controller's hierarchy and move the container process into it."""
        pid = self.session.pid
        if pid is None or self.session.exit is not None:
            return False
        made = resources.MadeCgroup(f"runtimetest/{self.session.cid}-joined", only=step.arg)
        self.joined["cgroup"].append(made)
        if not made.places:
            self.findings.notes.append(f"{describe(step)}: no cgroup hierarchy has the {step.arg} controller here")
            return False
        made.join(pid)
        return True

    def _expect_cgroup(self, step):
        pid = self.session.pid
        found = resources.memberships(pid) if pid is not None and self.session.exit is None else {}
        runtime = (self.placement.memberships() if self.placement is not None
                   else resources.memberships("self"))
        linux = self.spec.get("linux") if isinstance(self.spec.get("linux"), dict) else {}
        self.findings.run("lifecycle.cgroups-path", self._seen(
            step, None, wanted=linux.get("cgroupsPath"), found=found, runtime_cgroups=runtime,
            unmanaged=_unjudged(found)))
        return True

    def _expect_gone(self, step):
        left = []
        if self.made is None and step.arg != "mount":
            self.findings.notes.append(f"{describe(step)}: what create made was not seen; nothing to compare")
            return True
        if step.arg == "cgroup":
            left = [("cgroup", [d for d in self.made["cgroup"] if os.path.isdir(d)])]
        elif step.arg == "ns":
            since = min(t for t in (self.ended_at, self.deleted_at, resources.now_ticks()) if t is not None)
            left = [(f"namespace {ns}", resources.holders(ns, since)) for ns in self.made["ns"]]
        else:
            left = [("mount", resources.mounts_naming([self.session.bundle.path, self.session.cid]))]
        self.findings.run("lifecycle.resources", self._seen(step, None, left=[e for e in left if e[1]], lost=[]))
        return True

    def _expect_kept(self, step):
        if step.arg == "cgroup":
            lost = [("cgroup", made.missing()) for made in self.joined["cgroup"]]
        else:
            lost = [(f"namespace {ns}", ["no longer held by anything"]) for ns in self.joined["ns"]
                    if not resources.holders(ns)]
        if not (self.joined["cgroup"] if step.arg == "cgroup" else self.joined["ns"]):
            self.findings.notes.append(f"{describe(step)}: the container is in no {step.arg} it did not make")
        self.findings.run("lifecycle.resources", self._seen(step, None, left=[], lost=[e for e in lost if e[1]]))
        return True


def _namespaces_of(config):
    linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
    entries = linux.get("namespaces") if isinstance(linux.get("namespaces"), list) else []
    return [entry for entry in entries if isinstance(entry, dict)]


# /proc/PID/ns names -> linux.namespaces types
CONFIG_KINDS = {"mnt": "mount", "net": "network"}


def _config_kind(kind):
    return CONFIG_KINDS.get(kind, kind)


def _unjudged(found):
    """The hierarchies a cgroupsPath does not speak for: named v1 hierarchies (name=systemd), and
    on a host with v1 controllers the cgroup2 hierarchy beside them, which has none."""
    v1 = any(key for key in found)
    return {key for key in found if key.startswith("name=") or (v1 and key == "")}


def set_field(config, dotted, value):
    """Set (or with None, delete) a dotted field of a config, making objects on the way."""
    *parents, last = dotted.split(".")
    node = config
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
