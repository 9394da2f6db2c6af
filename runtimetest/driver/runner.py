"""Running one case: bundle, create, start, wait, compare, and always clean up.

Each case gets its own bundle (a fresh 0700 directory), its own container id
and cgroup path, and its own work directory holding the runtime's log and the
container's stdio. Whatever happens (failure, timeout, a hung or crashing
runtime, cancellation) the container is killed and deleted and the bundle
removed before the case's result is returned.
"""

import os
import re
import shutil
import tempfile
import threading
import time
import uuid

from . import cgroups, compare
from .bundle import CHECKER_IN_ROOTFS, base_config, merge, MergeError, write_bundle
from .cases import BrokenCase
from .runtime import RuntimeFault

DEFAULT_CASE_TIMEOUT = 60.0
PASS, FAIL, ERROR, TIMEOUT, SKIP = "pass", "fail", "error", "timeout", "skip"


class CaseResult:
    def __init__(self, case):
        self.name = case.name
        self.desc = case.desc
        self.status = None
        self.reason = ""
        self.details = []
        self.exit = None
        self.stdout = b""
        self.stderr = b""
        self.timings = {}
        self.peak_memory = None  # bytes, from the container's cgroup when it shows it
        self.peak_rss_kib = None  # from wait4() on the container process
        self.container_id = None
        self.runtime_log = None

    @property
    def failed(self):
        return self.status in (FAIL, ERROR, TIMEOUT)


class Cancelled(Exception):
    pass


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
    """Runs cases with one runtime; `live` tracks containers for emergency clean-up."""

    def __init__(self, runtime, checker, work_root, default_timeout=DEFAULT_CASE_TIMEOUT,
                 record=None, annotate=None):
        self.runtime = runtime
        self.checker = checker
        self.work_root = work_root
        self.default_timeout = default_timeout
        self.record = record  # a Record of live containers, for `runtimetest clean`
        self.annotate = annotate  # (spec, config, bundle path) -> spec with host facts
        self.cancelled = threading.Event()

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
        return result

    def _run(self, case, result, work):
        cid = container_id(case.name)
        result.container_id = cid
        log = os.path.join(work, "runtime.log")
        result.runtime_log = log
        config, spec = case_config(case, cid)
        reason = self.runtime.cannot_run(config)
        if reason:
            result.status, result.reason = SKIP, reason
            return
        bundle = write_bundle(config, spec, self.checker)
        if self.annotate is not None:
            bundle.write_spec(self.annotate(spec, config, bundle.path))
        may_exist = False
        try:
            if self.record is not None:
                self.record.add(cid, bundle.path)
            self._check_cancelled()
            may_exist = True  # from the moment `create` is called
            self._create_start_wait(case, result, work, cid, bundle, log, config)
        finally:
            self._clean_up(result, cid, bundle, log, may_exist)
        if result.status is None:
            self._compare(case, result)

    def _check_cancelled(self):
        if self.cancelled.is_set():
            raise Cancelled()

    def _create_start_wait(self, case, result, work, cid, bundle, log, config):
        stdin_path = os.path.join(work, "stdin")
        with open(stdin_path, "wb") as handle:
            handle.write(case.stdin or b"")
        out_path = os.path.join(work, "stdout")
        err_path = os.path.join(work, "stderr")
        pid_file = os.path.join(work, "pid")
        with open(stdin_path, "rb") as stdin, open(out_path, "w+b") as out, open(err_path, "w+b") as err:
            before_create = time.monotonic()
            created = self.runtime.create(cid, bundle.path, pid_file, stdin, out, err, log)
            result.timings["create"] = created.seconds
            # Whatever the runtime itself printed while creating is its diagnostics,
            # not the container's: the container cannot print before `start`.
            runtime_out, runtime_err = out.tell(), err.tell()
            if not created.ok:
                result.status = ERROR
                result.reason = f"runtime fault: {created.describe()}{self._log_tail(log, out, err)}"
                return
            self.children_adopted()
            pid = self._container_pid(pid_file)
            self._check_cancelled()
            started = self.runtime.start(cid, log)
            result.timings["start"] = started.seconds
            if not started.ok:
                result.status = ERROR
                result.reason = f"runtime fault: {started.describe()}{self._log_tail(log)}"
                return
            timeout = case.timeout or self.default_timeout
            run_started = time.monotonic()
            exit = self._wait(pid, before_create, timeout, log)
            result.timings["run"] = time.monotonic() - run_started
            result.peak_memory = cgroups.peak_memory(config.get("linux", {}).get("cgroupsPath"))
            if exit is None:
                result.status = TIMEOUT
                result.reason = f"still running after {timeout:g}s: killed"
                self.runtime.kill(cid, log, "KILL")
                exit = self.runtime.wait_for_exit(pid, before_create, 10, log)
            result.exit = exit
            if exit is not None:
                result.peak_rss_kib = exit.peak_rss_kib
            result.stdout = _read_from(out, runtime_out)
            result.stderr = _read_from(err, runtime_err)

    def children_adopted(self):
        self.runtime.children.adopted()

    def _wait(self, pid, since, timeout, log):
        deadline = time.monotonic() + timeout
        while True:
            self._check_cancelled()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            exit = self.runtime.wait_for_exit(pid, since, min(remaining, 0.5), log)
            if exit is not None:
                return exit

    def _container_pid(self, pid_file):
        try:
            with open(pid_file) as handle:
                text = handle.read().strip()
        except OSError as error:
            raise RuntimeFault(f"runtime wrote no pid file ({error.strerror})") from None
        if not text.isdigit():
            raise RuntimeFault(f"runtime's pid file holds {text!r}, not a pid")
        return int(text)

    def _clean_up(self, result, cid, bundle, log, may_exist):
        started = time.monotonic()
        try:
            if may_exist:
                deleted = self.runtime.delete(cid, log, force=True)
                if not deleted.ok and not _unknown_container(deleted):
                    self.runtime.kill(cid, log, "KILL")
                    deleted = self.runtime.delete(cid, log, force=True)
                    if not deleted.ok and not _unknown_container(deleted) and result.status is None:
                        result.status = ERROR
                        result.reason = f"runtime fault: {deleted.describe()}"
        finally:
            bundle.remove()
            if self.record is not None:
                self.record.remove(cid)
            result.timings["cleanup"] = time.monotonic() - started

    def _compare(self, case, result):
        problems = []
        exit = result.exit
        if exit.code != case.expected_exit:
            problems.append(f"exit status: expected {case.expected_exit}, found {exit.describe()}")
        err_problem = compare.compare_stderr(case.expected_err, result.stderr)
        if err_problem:
            problems.append(err_problem)
        out_problem = compare.compare_stdout(case.expected_out, result.stdout)
        if out_problem:
            problems.append(out_problem)
        if problems:
            result.status = FAIL
            result.reason = problems[0].splitlines()[0]
            result.details = problems
        else:
            result.status = PASS

    def _log_tail(self, log, *streams):
        lines = []
        for stream in streams:
            stream.seek(0)
            lines.extend(stream.read().decode("utf-8", "replace").splitlines())
        try:
            with open(log, encoding="utf-8", errors="replace") as handle:
                lines.extend(handle.read().splitlines())
        except OSError:
            pass
        lines = [line for line in lines if line.strip()]
        return ("\n  " + "\n  ".join(lines[-5:])) if lines else ""


def _unknown_container(result):
    text = (result.stderr + result.stdout).lower()
    return "does not exist" in text or "not exist" in text or "not found" in text


def _read_from(handle, offset):
    handle.seek(offset)
    return handle.read()


def remove_work(path):
    shutil.rmtree(path, ignore_errors=True)
