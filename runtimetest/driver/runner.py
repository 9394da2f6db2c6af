"""Running one case: bundle, create, start, wait, compare, and always clean up.

Each case gets its own bundle (a fresh 0700 directory), its own container id
and cgroup path, and its own work directory holding the runtime's log and the
container's stdio. Whatever happens (failure, timeout, a hung or crashing
runtime, cancellation) the container is killed and deleted, its process ended
and the bundle removed before the case's result is returned.

A plain case is created, started, waited for (bounded by its timeout) and
deleted. A case with NAME.lifecycle is run by its steps instead (steps.py).
Either way, hooks in hook mode are checked after the container is deleted
(outside/hooks.py), and the failure lines of those outside checks follow the
container's stderr when it is compared with NAME.err.
"""

import re
import tempfile
import threading
import time
import uuid

from runtimetest.driver import cgroups
from runtimetest.driver import compare
from runtimetest.driver.outside import hookplan
from runtimetest.driver import repro
from runtimetest.driver.outside import hooks as hookchecks
from runtimetest.driver import resources
from runtimetest.driver.bundle import MergeError, base_config, merge, write_bundle
from runtimetest.driver.cases import per_check
from runtimetest.driver.cases.load import BrokenCase
from runtimetest.driver.cases.steps import describe
from runtimetest.driver.children import signal_name
from runtimetest.driver.outside.registry import Findings
from runtimetest.driver.runtimes import Cancelled, RuntimeFault
from runtimetest.driver.session import Session
from runtimetest.driver.steps import Steps

DEFAULT_CASE_TIMEOUT = 60.0
KILLED_WAIT = 10.0  # seconds a container killed at its timeout may take to end
PASS, FAIL, ERROR, TIMEOUT, SKIP = "pass", "fail", "error", "timeout", "skip"
DEPARTS = "departure"  # failed exactly as a recorded departure of the runtime says
PHASES = ("create", "start", "run", "cleanup")


class CaseResult:
    def __init__(self, case):
        self.name = case.name
        self.desc = case.desc
        self.directory = case.directory  # the case's area is its directory below the case tree's top
        self.status = None
        self.reason = ""
        self.details = []
        self.exit = None
        self.exit_compared = True
        self.streams_compared = True  # False: only the outside checks' lines are compared
        self.stdout = b""
        self.stderr = b""
        self.outside = []  # failure lines of the driver's own checks
        self.notes = []
        self.timings = {}
        self.peak_memory = None  # bytes, from the container's cgroup when it shows it
        self.peak_rss_kib = None  # from wait4() on the container process
        self.container_id = None
        self.runtime_log = None
        self.commands = []  # the runtime commands run, as dicts
        self.terminal = False
        self.stale_departure = None  # the departures file still recording this passed case
        self.departed = []  # [(CheckDeparture, line)]: failure lines set aside per check
        self.cached = False  # the result was known for the same content (cache.py): the case did not run

    @property
    def failed(self):
        return self.status in (FAIL, ERROR, TIMEOUT)


def container_id(case_name):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", case_name)[:40]
    return f"rtt-{safe}-{uuid.uuid4().hex[:10]}"


def case_config(case, cid):
    """The config the runtime gets, and the spec the checker is told."""
    config = merge(base_config(), case.config)
    if case.args is not None:
        config.setdefault("process", {})["args"] = list(case.args)
    linux = config.get("linux")
    if isinstance(linux, dict):
        # Parallel cases must never share a cgroup: make every path unique.
        given = linux.get("cgroupsPath")
        linux["cgroupsPath"] = f"{given.rstrip('/')}-{cid}" if isinstance(given, str) and given else f"/runtimetest/{cid}"
    spec = merge(config, case.spec_override) if case.spec_override is not None else config
    return config, spec


class CaseRunner:
    """Runs cases with one runtime; `record` tracks containers for emergency clean-up."""

    def __init__(self, runtime, checker, work_root, default_timeout=DEFAULT_CASE_TIMEOUT,
                 record=None, annotate=None, departures=None, check_departures=(), keep_repro=False):
        self.runtime = runtime
        self.checker = checker
        self.work_root = work_root
        self.default_timeout = default_timeout
        self.record = record  # a Record of live containers, for `runtimetest clean`
        self.annotate = annotate  # (spec, config, bundle path) -> spec with host facts
        self.departures = departures or {}  # case name -> Departure (departures.py)
        self.check_departures = list(check_departures)  # [CheckDeparture] (per_check.py)
        self.keep_repro = keep_repro  # --keep-logs: each work directory gets a repro.sh (repro.py)
        self.cancelled = threading.Event()  # stop: no new case, running ones clean up now
        self.hurry = threading.Event()  # a second signal: clean-up commands get short bounds

    def run(self, case):
        result = CaseResult(case)
        if isinstance(case, BrokenCase):
            result.status, result.reason = ERROR, case.reason
            return result
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix=f"{case.name[:40]}-", dir=self.work_root)
        try:
            self._run(case, result, work)
        except Cancelled:
            result.status, result.reason = ERROR, "cancelled before it finished"
        except (RuntimeFault, MergeError, OSError) as error:
            result.status, result.reason = ERROR, str(error)
        result.timings["total"] = time.monotonic() - started
        self._known_fault(case, result)
        return result

    def _known_fault(self, case, result):
        """An ERROR that is the runtime fault a per-case departure names departs, with its reason."""
        departure = self.departures.get(case.name)
        if result.status == ERROR and departure is not None and departure.explains(result.reason):
            result.details = [f"recorded in {departure.source}", result.reason]
            result.status, result.reason = DEPARTS, f"known departure: {departure.why}"

    def _run(self, case, result, work):
        cid = container_id(case.name)
        result.container_id = cid
        config, spec = case_config(case, cid)
        reason = self.runtime.cannot_run(config, spec)
        if reason:
            result.status, result.reason = SKIP, reason
            return
        if self.cancelled.is_set():
            raise Cancelled()
        bundle = write_bundle(config, spec, self.checker)
        try:
            records = hookplan.prepare(config, spec, bundle)
            bundle.write_config(config)
            bundle.write_spec(self._told(spec, config, bundle))
            kept = repro.save_bundle(work, bundle.path, self.checker) if self.keep_repro else None
            self._in_container(case, result, work, cid, bundle, config, spec, records, kept)
        finally:
            bundle.remove()

    def _told(self, spec, config, bundle):
        """The spec the checker reads: the case's, with host facts as annotations."""
        told = self.annotate(spec, config, bundle.path) if self.annotate is not None else dict(spec)
        facts = self.runtime.host_facts()
        if facts:
            told = dict(told)
            told["annotations"] = dict(told.get("annotations") or {})
            told["annotations"].update(facts)
        return told

    def _in_container(self, case, result, work, cid, bundle, config, spec, records, kept=None):
        if self.record is not None:
            self.record.add(cid, bundle.path, work)
        session = Session(self.runtime, cid, bundle, config, work, case.stdin, self.cancelled, self.record)
        result.runtime_log = session.log
        result.terminal = session.console is not None
        findings = Findings()
        left = None
        steps = placement = None
        try:
            placement = self._place_runtime(cid, config)
            if case.lifecycle:
                steps = Steps(session, findings, case.timeout or self.default_timeout,
                              (session.config.get("process") or {}).get("args"), spec, placement)
                self._steps(case, result, steps)
            else:
                self._plain(case, result, session, spec)
        finally:
            result.peak_memory = session.peak_memory
            if result.peak_memory is None:
                result.peak_memory = cgroups.peak_memory(session.cgroups_path)
            cleanup_started = time.monotonic()
            try:
                left = session.clean_up(hurry=self.hurry.is_set())
                result.stdout, result.stderr = session.output(compare.is_failure_line)
            finally:
                session.close()
                for made in ([placement] if placement is not None else []):
                    made.remove()
                if steps is not None:
                    steps.clean_up()
                result.timings["cleanup"] = time.monotonic() - cleanup_started
                if self.record is not None and left is None:
                    self.record.remove(cid)
            result.timings.update({k: v for k, v in session.timings.items() if k != "cleanup"})
            result.commands = [event.as_dict() for event in session.events]
            if kept is not None:
                repro.write_script(work, bundle.path, cid, session.events, kept, result.terminal,
                                   plain=not case.lifecycle)
            result.outside, result.notes = list(findings.lines), findings.notes + findings.skips
            if session.exit is not None:
                result.exit = session.exit
                result.peak_rss_kib = session.exit.peak_rss_kib
        if left and result.status is None:
            result.status, result.reason = ERROR, left
        if result.status is None and result.streams_compared:
            self._init_fault(result, session)
        if result.status is None:
            hookchecks.check_hooks(findings, spec, session, result.stdout, records)
            result.outside, result.notes = list(findings.lines), findings.notes + findings.skips
            self._compare(case, result)

    def _place_runtime(self, cid, config):
        """For a relative linux.cgroupsPath: a cgroup of the case's own that the runtime's commands run in.

        A runtime may place a relative path below its own cgroup (runc and crun
        do); running it in a fresh cgroup, never the driver's, makes that place
        one the outside checks can tell from the hierarchy's root.
        """
        linux = config.get("linux") if isinstance(config.get("linux"), dict) else {}
        path = linux.get("cgroupsPath")
        if not isinstance(path, str) or not path or path.startswith("/") or not self.runtime.host_process:
            return None
        placement = resources.MadeCgroup(f"runtimetest/{cid}-runtime")
        self.runtime.place(cid, placement.procs_files())
        return placement

    def _plain(self, case, result, session, spec):
        """create, start, wait (bounded), as a user of the runtime would.

        A case whose hooks fail goes on as far as the runtime lets it: whether it
        stopped where it had to is for the hook checks to say, not a fault.
        """
        hooks_fail = hookplan.any_hook_fails(spec)
        if self._stopped(result, session, session.create(), hooks_fail):
            return
        session.follow(session.read_pid_file())
        if self._stopped(result, session, session.start(), hooks_fail):
            return
        self._wait(case, result, session)
        if hookplan.expected_failure(spec):
            self._stopped_by_hooks(result)

    def _stopped(self, result, session, command, hooks_fail):
        """Whether a create or start that failed ends the case: stopped by its hooks, or a fault."""
        if command.ok:
            return False
        if hooks_fail and not command.timed_out:
            self._stopped_by_hooks(result)
        else:
            result.status = ERROR
            result.reason = f"runtime fault: {command.describe()}{self._log_tail(session)}"
        return True

    def _init_fault(self, result, session):
        """The runtime could not execute process.args: its message is not the container's stderr."""
        args = (session.config.get("process") or {}).get("args") or [""]
        message = self.runtime.init_fault(result.stdout, result.stderr, result.exit, args[0])
        if message is not None:
            result.status = ERROR
            result.reason = (f"runtime fault: the runtime did not execute process.args "
                             f"({result.exit.describe()}): {message}")

    def _stopped_by_hooks(self, result):
        """The program was not to run: the container's streams and exit are the runtime's."""
        result.exit_compared = False
        result.streams_compared = False

    def _wait(self, case, result, session):
        timeout = case.timeout or self.default_timeout
        if session.wait(timeout) is None:
            if self.cancelled.is_set():
                raise Cancelled()
            result.status = TIMEOUT
            result.reason = f"still running after {timeout:g}s: killed"
            if session.kill("KILL").ok:
                session.wait(KILLED_WAIT)
            # else the clean-up's delete --force (and, as a last resort, SIGKILL) ends it

    def _steps(self, case, result, steps):
        steps.run(case.lifecycle)
        if steps.session.pid is None:
            result.exit_compared = False  # no container process was ever made: no exit status
        if self.cancelled.is_set():
            raise Cancelled()
        hung = steps.hung()
        if hung is not None:
            result.status, result.reason = ERROR, f"runtime fault: {hung.describe()}"
        if steps.timed_out:
            result.status = TIMEOUT
            result.reason = f"still running after {steps.timeout:g}s at {describe(steps.timed_out_at)}: killed"

    def _compare(self, case, result):
        """Judge a case; lines of per-check departures are set aside first (cases/per_check.py)."""
        kept, result.departed = per_check.set_aside_in(self.check_departures, self._failure_lines(result))
        expected_exit = (case.expected_exit, case.expected_signal)
        problems = self._problems(result, per_check.expected_without(case.expected_err, result.departed),
                                  expected_exit, case.expected_out, kept)
        departure = self.departures.get(case.name)
        if result.departed:
            result.notes.append(per_check.note(result.departed))
        if not problems:
            result.status = DEPARTS if result.departed else PASS
            if result.departed:
                result.reason = per_check.reason(result.departed)
            if departure is not None and departure.stderr is not None:
                result.stale_departure = departure.source
                result.notes.append(f"a departure of this runtime is recorded for this case in "
                                    f"{departure.source}, but it passed: the record can go")
            return
        if departure is not None and departure.stderr is not None:
            exit = departure.exit or expected_exit
            out = case.expected_out if departure.stdout is None else departure.stdout
            if not self._problems(result, per_check.expected_without(departure.stderr, result.departed),
                                  exit, out, kept):
                result.status = DEPARTS
                result.reason = f"known departure: {departure.why}"
                result.details = [f"recorded in {departure.source}", *problems]
                return
        result.status = FAIL
        result.reason = problems[0].splitlines()[0]
        result.details = problems + ([per_check.note(result.departed)] if result.departed else [])

    def _failure_lines(self, result):
        """The container's stderr (when compared), then the outside checks' lines."""
        container_err = result.stderr if result.streams_compared else b""
        return container_err + "".join(line + "\n" for line in result.outside).encode()

    def _problems(self, result, expected_err, expected_exit, expected_out, failure_lines):
        """What differs from the expectations: exit status ((code, signal)), stderr, stdout."""
        problems = []
        exit = result.exit
        expected_exit, expected_signal = expected_exit
        if result.exit_compared:
            if expected_signal is not None:
                expected = f"killed by {signal_name(expected_signal)}"
                matches = exit is not None and exit.ended_by(expected_signal)
            else:
                expected = str(expected_exit)
                matches = exit is not None and exit.code == expected_exit
            if exit is None:
                problems.append(f"exit status: expected {expected}, found none "
                                "(the container process was still running when the case ended)")
            elif not matches:
                problems.append(f"exit status: expected {expected}, found {exit.describe()}")
        err_problem = compare.compare_stderr(expected_err, failure_lines)
        if err_problem:
            problems.append(err_problem)
        if result.streams_compared:
            out_problem = compare.compare_stdout(expected_out, result.stdout)
            if out_problem:
                problems.append(out_problem)
        return problems

    def _log_tail(self, session):
        lines = session.runtime_output().decode("utf-8", "replace").splitlines()
        try:
            with open(session.log, encoding="utf-8", errors="replace") as handle:
                lines.extend(handle.read().splitlines())
        except OSError:
            pass
        lines = [line for line in lines if line.strip()]
        return ("\n  " + "\n  ".join(lines[-5:])) if lines else ""
