"""`runtimetest suite` and `runtimetest clean`: the host side of runtimetest."""

import argparse
import os
import signal
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from . import hostfacts, output, record, reports
from .cases import CaseError, discover
from .children import Children
from .runner import DEFAULT_CASE_TIMEOUT, CaseRunner
from .runtime import DEFAULT_COMMAND_TIMEOUT, RuntimeFault, resolve

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CHECKER = os.path.join(PROJECT_ROOT, "build", "runtimetest")
DEFAULT_CASES = os.path.join(PROJECT_ROOT, "spec-fixtures")


def parser():
    top = argparse.ArgumentParser(prog="runtimetest", description="OCI runtime conformance driver")
    commands = top.add_subparsers(dest="command", required=True)

    suite = commands.add_parser("suite", help="run a case directory against a runtime")
    suite.add_argument("cases_dir", nargs="?", default=None,
                       help=f"the case directory (default: {os.path.relpath(DEFAULT_CASES)})")
    suite.add_argument("case_names", nargs="*", metavar="CASE", help="run only these cases")
    suite.add_argument("--runtime", default="runc", help="runtime name on PATH, or a path (default runc)")
    suite.add_argument("--runtime-arg", action="append", default=[], metavar="ARG",
                       help="extra global flag for the runtime (repeatable)")
    suite.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN",
                       help="run only cases whose name contains PATTERN (or matches it as a glob)")
    suite.add_argument("-j", dest="jobs", type=int, default=os.cpu_count() or 1,
                       help="cases run at once (default: number of cores)")
    suite.add_argument("--timeout", type=float, default=DEFAULT_CASE_TIMEOUT,
                       help=f"seconds a case may run when it has no NAME.timeout (default {DEFAULT_CASE_TIMEOUT:g})")
    suite.add_argument("--command-timeout", type=float, default=DEFAULT_COMMAND_TIMEOUT,
                       help=f"seconds any one runtime command may take (default {DEFAULT_COMMAND_TIMEOUT:g})")
    suite.add_argument("--checker", default=os.environ.get("RUNTIMETEST_CHECKER", DEFAULT_CHECKER),
                       help="the static checker binary (default: build/runtimetest)")
    suite.add_argument("--json", metavar="FILE", help="write a JSON report of every case")
    suite.add_argument("--keep-logs", metavar="DIR", default=None,
                       help="keep each case's runtime log and stdio under DIR")
    suite.add_argument("--state-dir", default=record.default_state_dir(),
                       help="where the record of live containers is kept for `clean`")

    bench = commands.add_parser("bench", help="start-up cost of the checker against a static no-op")
    bench.add_argument("--runtime", default="runc", help="runtime name on PATH, or a path (default runc)")
    bench.add_argument("--runtime-arg", action="append", default=[], metavar="ARG")
    bench.add_argument("-n", dest="runs", type=int, default=15, help="runs of each (default 15)")
    bench.add_argument("--checker", default=os.environ.get("RUNTIMETEST_CHECKER", DEFAULT_CHECKER))

    clean = commands.add_parser("clean", help="remove containers and bundles a killed driver left")
    clean.add_argument("--state-dir", default=record.default_state_dir())
    return top


def main(argv):
    options = parser().parse_args(argv)
    if options.command == "clean":
        return run_clean(options)
    if options.command == "bench":
        return run_bench(options)
    return run_suite(options)


def run_bench(options):
    from .bench import measure

    if not os.path.isfile(options.checker):
        return _usage_error(f"no checker binary at {options.checker}: run `make static` or pass --checker")
    try:
        runtime = resolve(options.runtime, Children(), options.runtime_arg)
        measure(runtime, os.path.abspath(options.checker), max(1, options.runs), sys.stdout)
    except RuntimeFault as error:
        return _usage_error(str(error))
    return 0


def run_clean(options):
    def run_runtime(argv):
        import subprocess

        try:
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=DEFAULT_COMMAND_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            pass

    removed = record.clean(options.state_dir, run_runtime, sys.stdout)
    print(f"clean: {removed} container(s) removed")
    return 0


def _usage_error(message):
    sys.stderr.write(f"runtimetest suite: {message}\n")
    return 2


def run_suite(options):
    cases_dir = options.cases_dir or DEFAULT_CASES
    if not os.path.isfile(options.checker):
        return _usage_error(f"no checker binary at {options.checker}: run `make static` or pass --checker")
    if options.jobs < 1:
        return _usage_error("-j must be at least 1")
    try:
        cases = discover(cases_dir, options.patterns, options.case_names)
    except CaseError as error:
        return _usage_error(str(error))
    if not cases:
        return _usage_error(f"no case in {cases_dir} matches")

    children = Children()
    try:
        runtime = resolve(options.runtime, children, options.runtime_arg, options.command_timeout)
    except RuntimeFault as error:
        return _usage_error(str(error))

    work_root = options.keep_logs or tempfile.mkdtemp(prefix="runtimetest-run-")
    os.makedirs(work_root, exist_ok=True)
    live = record.Record(options.state_dir, [runtime.program] + runtime.extra_args, work_root)
    runner = CaseRunner(runtime, os.path.abspath(options.checker), work_root,
                        default_timeout=options.timeout, record=live, annotate=hostfacts.annotate)
    printer = output.Printer(sys.stdout, len(cases))
    printer.header(runtime, cases_dir)
    interrupted = _on_signals_cancel(runner)
    results = []
    lock = threading.Lock()

    def run_one(case):
        if runner.cancelled.is_set():
            return None  # interrupted: counted as not run
        result = runner.run(case)
        with lock:
            results.append(result)
            printer.case(result)
        return result

    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for case in cases:
            pool.submit(run_one, case)
    if options.json:
        reports.write_json(options.json, results, len(cases), runtime, cases_dir, interrupted.get("signal"))
    printer.summary(results, total=len(cases), interrupted=interrupted.get("signal"))
    live.close()
    if not options.keep_logs:
        import shutil

        shutil.rmtree(work_root, ignore_errors=True)
    if interrupted.get("signal"):
        return 128 + interrupted["signal"]
    return 1 if any(r.failed for r in results) or len(results) < len(cases) else 0


def _on_signals_cancel(runner):
    """SIGINT/SIGTERM: stop starting cases, let running ones clean up, still report."""
    state = {}

    def cancel(signum, frame):
        state["signal"] = signum
        runner.cancelled.set()

    signal.signal(signal.SIGINT, cancel)
    signal.signal(signal.SIGTERM, cancel)
    return state
