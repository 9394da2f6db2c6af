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

Each step's verdict is an outside check (lifecycle.create, .start, .state,
.kill, .delete); its failures are lines in the checker's format, compared with
NAME.err after the container's own stderr. Whatever the steps leave, the
driver's clean-up removes (kill, delete --force) as for any case.
"""

import signal as signals
import time
from collections import namedtuple

from ..registry import MUST
from .outside import outside_check

OPS = ("create", "start", "state", "kill", "wait", "expect", "delete")
STATUSES = ("creating", "created", "running", "stopped")
KILL_WAIT = 10.0  # seconds a killed container process may take to end
EXEC_GRACE = 1.0  # seconds a process `state` calls running may take to execute the program

Step = namedtuple("Step", "op arg fail unknown line")


class StepError(Exception):
    """A NAME.lifecycle line that is not a step: the message says why."""


def signal_number(text):
    """The number of a signal given as TERM, SIGTERM or 15; ValueError if none."""
    if text.isdigit():
        return signals.Signals(int(text)).value
    name = text.upper()
    return signals.Signals[name if name.startswith("SIG") else "SIG" + name].value


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
    fail = "fail" in rest
    unknown = "unknown" in rest
    args = [word for word in rest if word not in ("fail", "unknown")]
    if unknown and op in ("create", "wait", "expect"):
        raise StepError(f"`{op}` cannot be aimed at an unknown id")
    if op == "wait" and (fail or args):
        raise StepError("`wait` takes nothing")
    if op == "state" and not (fail or unknown):
        if len(args) != 1:
            raise StepError("`state` needs the expected status (creating, created, running, stopped)")
    elif op == "kill":
        if len(args) != 1:
            raise StepError("`kill` needs a signal (e.g. TERM, SIGKILL, 9)")
        try:
            signal_number(args[0])
        except (KeyError, ValueError):
            raise StepError(f"`kill {args[0]}`: no such signal") from None
    elif args:
        raise StepError(f"`{op}` takes no {' '.join(args)!r}")
    return Step(op, args[0] if args else None, fail or unknown, unknown, number)


def describe(step):
    words = [step.op] + ([step.arg] if step.arg else []) + (["unknown"] if step.unknown else [])
    if step.fail and not step.unknown:
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


def _must_succeed(seen, result, field):
    if not seen.result.ok:
        result.fail(field, "success", seen.result.describe(), why=describe(seen.step))
        return False
    return True


@outside_check("lifecycle.create", MUST, "runtime.md#create")
def create_makes_one_container(seen, result):
    """create makes the container of a valid bundle and writes --pid-file; a second create of the id fails."""
    if seen.step.fail:
        _must_fail(seen, result, "create", "the id is already in use" if seen.again else "the step expects an error")
        return
    if _must_succeed(seen, result, "create") and seen.pid_problem:
        result.problem(f"--pid-file: {seen.pid_problem} ({describe(seen.step)})")


@outside_check("lifecycle.start", MUST, "runtime.md#start")
def start_runs_a_created_container(seen, result):
    """start runs the program of a created container, and fails for any other container or id."""
    if seen.step.fail:
        _must_fail(seen, result, "start", "no such container" if seen.step.unknown
                   else "the container is not created")
    else:
        _must_succeed(seen, result, "start")


@outside_check("lifecycle.kill", MUST, "runtime.md#kill")
def kill_delivers_the_signal(seen, result):
    """kill sends the signal to the container process, and fails for a container neither created nor running."""
    name = f"SIG{seen.step.arg.upper().removeprefix('SIG')}" if not seen.step.arg.isdigit() else seen.step.arg
    if seen.step.fail:
        _must_fail(seen, result, "kill", "no such container" if seen.step.unknown
                   else "the container is neither created nor running")
        return
    if not _must_succeed(seen, result, "kill"):
        return
    if seen.exit is None:
        result.fail("kill", f"the container process ended by {name}",
                    f"still running after {KILL_WAIT:g}s", why=describe(seen.step))
    elif not seen.exit.ended_by(signal_number(seen.step.arg)):
        result.fail("kill", f"the container process ended by {name}", seen.exit.describe(),
                    why=describe(seen.step))


@outside_check("lifecycle.delete", MUST, "runtime.md#delete")
def delete_removes_a_stopped_container(seen, result):
    """delete removes a stopped container (its id is then unknown), and fails for one not stopped or unknown."""
    if seen.step.fail:
        _must_fail(seen, result, "delete", "no such container" if seen.step.unknown
                   else "the container is not stopped")
        return
    if _must_succeed(seen, result, "delete") and seen.still_known:
        result.fail("delete", "the id unknown to state", "state still reports it", why=describe(seen.step))


@outside_check("lifecycle.state", MUST, "runtime.md#state")
def state_reports_the_container(seen, result):
    """state reports ociVersion, the id, the status, the bundle and (created, running) the container process's pid."""
    step = seen.step
    if step.fail:
        _must_fail(seen, result, "state", "no such container" if step.unknown else "the step expects an error")
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

def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (OSError, TypeError):
        return None
    return [part.decode("utf-8", "surrogateescape") for part in raw.rstrip(b"\0").split(b"\0")] if raw else []


class Steps:
    """Runs a case's steps on its session; outside-check failures go to `findings`."""

    def __init__(self, session, findings, timeout, process_args):
        self.session = session
        self.findings = findings
        self.timeout = timeout
        self.process_args = process_args
        self.timed_out = False
        self.timed_out_at = None
        self.started = False  # a `start` step succeeded: the program may run
        self.pid_file_pid = None

    def run(self, steps):
        for step in steps:
            carry_on = getattr(self, "_" + step.op)(step)
            if self.hung() or not carry_on:
                return  # later steps make no sense

    def hung(self):
        """The first runtime command that did not finish in time (a runtime fault), or None."""
        return next((e.result for e in self.session.events if e.result.timed_out), None)

    def _seen(self, step, result, **facts):
        return Seen(step, result, cid=self.session.cid, bundle=self.session.bundle.path,
                    pid_file_pid=self.pid_file_pid, host_process=self.session.runtime.host_process,
                    process_args=self.process_args, **facts)

    def _create(self, step):
        session = self.session
        again = session.may_exist
        result = session.create_again() if again else session.create()
        pid_problem = None
        if result.ok and not again:
            try:
                self.pid_file_pid = session.read_pid_file()
                session.follow(self.pid_file_pid)
            except Exception as error:  # RuntimeFault: no or bad pid file
                pid_problem = str(error)
        self.findings.run("lifecycle.create", self._seen(step, result, again=again, pid_problem=pid_problem))
        return again or result.ok

    def _start(self, step):
        result = self.session.start(unknown=step.unknown)
        self.started = self.started or (result.ok and not step.unknown)
        self.findings.run("lifecycle.start", self._seen(step, result))
        return True

    def _state(self, step):
        from .runtime import RuntimeFault, parse_state

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
        self.findings.run("lifecycle.state", self._seen(step, result, state=state, cmdline=found))
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
        result = self.session.kill(step.arg, unknown=step.unknown)
        exit = None
        if result.ok and not step.fail:
            exit = self.session.wait(min(KILL_WAIT, self.timeout))
        self.findings.run("lifecycle.kill", self._seen(step, result, exit=exit))
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
        result = self.session.delete(unknown=step.unknown)
        still_known = False
        if result.ok and not step.fail:
            still_known = self.session.state().ok
        self.findings.run("lifecycle.delete", self._seen(step, result, still_known=still_known))
        return True
