"""Running a case's NAME.lifecycle steps against its container, and what each step saw.

A case with a NAME.lifecycle file (read by driver/cases/steps.py) is run by its
steps instead of the plain create, start, wait, delete. Each step runs its
runtime command through the case's session and hands what it saw to its
outside check (driver/outside/lifecycle.py). Whatever the steps leave, the
driver's clean-up removes (kill, delete --force) as for any case.
"""

import json
import os
import threading
import time

from runtimetest.driver import resources
from runtimetest.driver.cases.steps import describe, signal_label, signal_number
from runtimetest.driver.outside.lifecycle import KILL_WAIT, Seen
from runtimetest.driver.runtimes import RuntimeFault, parse_state
from runtimetest.linux.proc import cmdline

EXEC_GRACE = 1.0  # seconds a process `state` calls running may take to execute the program
RACE_PROMPT = 1.0  # seconds after which a losing operation of a race is noted as slow


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
                                  if ns != own.get(kind) and _config_kind(kind) not in joined),
                     "root": resources.root_of(pid)}
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
            unmanaged=unjudged_hierarchies(found)))
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
            left = [(f"namespace {ns}", resources.holders(ns, since, root=self.made["root"])) for ns in self.made["ns"]]
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


def unjudged_hierarchies(found):
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
