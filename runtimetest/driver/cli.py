"""`runtimetest suite`, `clean`, `bench`, `annotate` and `merge`: the host side."""

import argparse
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from runtimetest.driver.cases import departures
from runtimetest.driver import about
from runtimetest.driver import hostfacts
from runtimetest.driver import matrix
from runtimetest.driver import output
from runtimetest.driver import paths
from runtimetest.driver import record
from runtimetest.driver import reports
from runtimetest.driver import selection
from runtimetest.driver.cases.load import MAX_TIMEOUT, MIN_TIMEOUT, CaseError, discover
from runtimetest.driver.cases.departures import DepartureError
from runtimetest.driver.cache import CacheError
from runtimetest.driver.children import Children
from runtimetest.driver.outside import hooks as hookchecks  # noqa: F401  (importing registers them: --list-checks)
from runtimetest.driver.outside import lifecycle as lifecyclechecks  # noqa: F401  (the same)
from runtimetest.driver.outside.registry import list_checks
from runtimetest.driver.runner import DEFAULT_CASE_TIMEOUT, CaseRunner
from runtimetest.driver.runtimes import DEFAULT_COMMAND_TIMEOUT, RuntimeFault, resolve

# The checkout's build/runtimetest and spec-fixtures/, or the wheel's bundled copies.
PROJECT_ROOT = paths.project_root()
DEFAULT_CHECKER = paths.default_checker()
DEFAULT_CASES = paths.default_cases()


def parser():
    top = argparse.ArgumentParser(prog="runtimetest", description="OCI runtime conformance driver")
    commands = top.add_subparsers(dest="command", required=True)

    suite = commands.add_parser("suite", help="run a case tree against a runtime")
    suite.add_argument("cases_dir", nargs="?", default=None,
                       help=f"the case directory, with every directory below it but departures/ and "
                            f"host-*/ (default: {os.path.relpath(DEFAULT_CASES)}; one area: "
                            f"{os.path.relpath(DEFAULT_CASES)}/cgroups)")
    suite.add_argument("case_names", nargs="*", metavar="CASE", help="run only these cases")
    suite.add_argument("--runtime", default="runc",
                       help="runc, crun, runsc, another name on PATH, or a path (default runc)")
    suite.add_argument("--runtime-arg", action="append", default=[], metavar="ARG",
                       help="extra global flag for the runtime, e.g. --runtime-arg=--debug (repeatable)")
    suite.add_argument("--adapter", choices=("runc", "crun", "runsc"), default=None,
                       help="whose quirks the runtime has, when its file name does not say")
    suite.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN",
                       help="run only cases whose name contains PATTERN (or matches it as a glob)")
    suite.add_argument("-j", dest="jobs", type=int, default=os.cpu_count() or 1,
                       help="cases run at once (default: number of cores)")
    suite.add_argument("--timeout", type=float, default=DEFAULT_CASE_TIMEOUT,
                       help=f"seconds a case may run when it has no NAME.timeout (default {DEFAULT_CASE_TIMEOUT:g})")
    suite.add_argument("--command-timeout", type=float, default=DEFAULT_COMMAND_TIMEOUT,
                       help=f"seconds any one runtime command may take (default {DEFAULT_COMMAND_TIMEOUT:g})")
    suite.add_argument("--time-scale", type=float, default=1.0, metavar="N",
                       help="how many times slower than usual this machine is (an emulated one: 4): "
                            "multiplies --timeout and --command-timeout, and the checker's probes' bounds")
    suite.add_argument("--checker", default=os.environ.get("RUNTIMETEST_CHECKER", DEFAULT_CHECKER),
                       help="the static checker binary (default: build/runtimetest in a checkout, else the one the "
                            "package carries; see `runtimetest checker-path`)")
    suite.add_argument("--json", metavar="FILE", help="write a JSON report of every case")
    suite.add_argument("--tap", metavar="FILE", help="write a TAP 13 report, one test per case")
    suite.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    suite.add_argument("--list", action="store_true", help="list the selected cases and exit")
    suite.add_argument("--format", choices=("text", "json"), default="text",
                       help="--list as text (default) or as JSON: name, description, path, area of each case")
    suite.add_argument("--shard", metavar="K/N", default=None,
                       help="run only shard K of N (1-based): each case is in exactly one shard, by a digest "
                            "of its name, the same on every machine")
    suite.add_argument("--rerun-failed", metavar="REPORT", default=None,
                       help="run only the cases a JSON report (--json, or merge) says failed, errored or timed out")
    suite.add_argument("--list-checks", action="store_true",
                       help="list the checks the driver makes from outside (lifecycle, hooks) and exit")
    suite.add_argument("--departures", metavar="DIR", default=None,
                       help="where known departures of runtimes are recorded "
                            "(default: CASES_DIR/departures, else that of CASES_DIR's parent; see README)")
    suite.add_argument("--no-departures", action="store_true",
                       help="report recorded departures as failures")
    suite.add_argument("--keep-logs", metavar="DIR", default=None,
                       help="keep each case's runtime log and stdio under DIR, with its config.json, "
                            "spec.json, bundle layout and a repro.sh that runs it again (see README)")
    suite.add_argument("--state-dir", default=record.default_state_dir(),
                       help="where the record of live containers is kept for `clean`")
    suite.add_argument("--bless", action="store_true",
                       help="rewrite the selected cases' NAME.err (and NAME.out) from what the run gave, "
                            "showing each diff; refused for a case that ERRORed, timed out or departs")
    suite.add_argument("--cache", metavar="DIR", default=None,
                       help="skip a case whose result DIR knows for the same content (runtime, checker, "
                            "driver, case files, host facts, kernel); without --cache nothing is cached")

    bench = commands.add_parser("bench", help="start-up cost of the checker against a static no-op")
    bench.add_argument("--runtime", default="runc", help="runtime name on PATH, or a path (default runc)")
    bench.add_argument("--runtime-arg", action="append", default=[], metavar="ARG")
    bench.add_argument("-n", dest="runs", type=int, default=15, help="runs of each (default 15)")
    bench.add_argument("--checker", default=os.environ.get("RUNTIMETEST_CHECKER", DEFAULT_CHECKER))
    bench.add_argument("--peer", metavar="PROGRAM",
                       help="also run another checker (e.g. runtime-tools' runtimetest) as `PROGRAM --path=/`")

    annotate = commands.add_parser(
        "annotate", help="print a config with the host facts the checker cannot see (the spec to tell it)")
    annotate.add_argument("config", metavar="CONFIG", help="the config.json the runtime gets")
    annotate.add_argument("--bundle", metavar="DIR", default=None,
                          help="the bundle its relative paths are in (default: CONFIG's directory)")

    clean = commands.add_parser("clean", help="remove containers and bundles a killed driver left")
    clean.add_argument("--state-dir", default=record.default_state_dir())
    clean.add_argument("--runtime", default=None,
                       help="the runtime to delete containers with (default: the program of the adapter "
                            "each record names, runc, crun or runsc, found on PATH)")
    clean.add_argument("--runtime-arg", action="append", default=[], metavar="ARG",
                       help="extra global flag for the runtime (repeatable)")
    clean.add_argument("--adapter", choices=("runc", "crun", "runsc"), default=None)
    commands.add_parser("checker-path", help="print where the static checker is (for other harnesses)")
    matrix.add_parser(commands)

    merge = commands.add_parser("merge", help="merge the JSON reports of shards into one")
    merge.add_argument("output", metavar="OUT.json", help="the merged report to write")
    merge.add_argument("inputs", metavar="IN.json", nargs="+", help="the shards' reports (suite --json)")
    return top


def main(argv):
    options = parser().parse_args(argv)
    if options.command == "checker-path":
        return print_checker_path()
    if options.command == "report":
        return matrix.run(options)
    if options.command == "clean":
        return run_clean(options)
    if options.command == "bench":
        return run_bench(options)
    if options.command == "annotate":
        return run_annotate(options)
    if options.command == "merge":
        from runtimetest.driver.merge import run_merge

        return run_merge(options, sys.stdout, sys.stderr)
    return run_suite(options)


def print_checker_path():
    checker = os.environ.get("RUNTIMETEST_CHECKER", DEFAULT_CHECKER)
    if not os.path.isfile(checker):
        sys.stderr.write(f"runtimetest checker-path: no checker binary at {checker} "
                         "(in a checkout: `make static`; for a wheel: `make wheel`)\n")
        return 1
    print(os.path.abspath(checker))
    return 0


def run_bench(options):
    from runtimetest.driver.bench import HELLO_NAME, measure

    if not os.path.isfile(options.checker):
        return _usage_error(f"no checker binary at {options.checker}: run `make static` or pass --checker")
    if options.peer and not os.path.isfile(options.peer):
        return _usage_error(f"--peer: no program at {options.peer}")
    try:
        runtime = resolve(options.runtime, Children(), options.runtime_arg)
        hello = os.path.join(os.path.dirname(os.path.abspath(options.checker)), HELLO_NAME)
        measure(runtime, os.path.abspath(options.checker), max(1, options.runs), sys.stdout,
                hello=hello if os.path.isfile(hello) else None,
                peer=os.path.abspath(options.peer) if options.peer else None)
    except RuntimeFault as error:
        return _usage_error(str(error))
    return 0


def run_annotate(options):
    """The config as the checker should be told it: with this host's facts as annotations.

    The facts are this process's (its namespaces, cgroup mounts, no_new_privs):
    run it where the runtime runs, as the user the runtime runs as.
    """
    import json

    try:
        with open(options.config) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        sys.stderr.write(f"runtimetest annotate: {options.config}: {error}\n")
        return 2
    if not isinstance(config, dict):
        sys.stderr.write(f"runtimetest annotate: {options.config}: not a JSON object\n")
        return 2
    bundle = options.bundle or os.path.dirname(os.path.abspath(options.config))
    json.dump(hostfacts.annotate(config, config, bundle), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run_clean(options):
    children = Children()

    def make_runtime(description):
        description = description if isinstance(description, dict) else {}
        try:
            return clean_runtime(options, description, children)
        except RuntimeFault as error:
            sys.stdout.write(f"clean: {error}\n")
            return None

    try:
        removed = record.clean(options.state_dir, make_runtime, sys.stdout)
    except (record.StateDirError, OSError) as error:
        sys.stderr.write(f"runtimetest clean: {error}\n")
        return 2
    children.kill_strays()
    print(f"clean: {removed} container(s) removed")
    return 0


def clean_runtime(options, description, children):
    """The runtime `clean` deletes a record's containers with: the one the user names, else the
    program of the record's adapter found on PATH; never a program the record names. The record's
    extra flags are kept only when its program is that same program."""
    adapter = options.adapter or description.get("adapter")
    if options.runtime:
        name = options.runtime
    elif adapter in ("runc", "crun", "runsc"):
        name = adapter
    else:
        raise RuntimeFault(f"a record made with {description.get('program')!r} (no adapter of its own): "
                           "pass --runtime to clean it")
    runtime = resolve(name, children, options.runtime_arg,
                      adapter=adapter if adapter in ("runc", "crun", "runsc") else None)
    extra = description.get("extra_args")
    if description.get("program") == runtime.program and isinstance(extra, list):
        runtime.extra_args += [str(arg) for arg in extra]
    return runtime


def _usage_error(message):
    sys.stderr.write(f"runtimetest suite: {message}\n")
    return 2


def run_suite(options):
    if options.list_checks:
        return selection.to_closing_pipe(lambda: list_checks(sys.stdout))
    cases_dir = options.cases_dir or DEFAULT_CASES
    try:
        cases = discover(cases_dir, options.patterns, options.case_names)
        cases, nothing_failed = selection.select_cases(options, cases)
    except (CaseError, selection.SelectionError) as error:
        return _usage_error(str(error))
    if nothing_failed:
        sys.stdout.write(f"runtimetest suite: no case failed in {options.rerun_failed}: nothing to run again\n")
        return 0
    if not cases and not options.shard:  # a shard may hold none of a few cases: its run is still reported
        return _usage_error(f"no case in {cases_dir} matches")
    if options.list:
        return selection.to_closing_pipe(lambda: (
            selection.write_json_list(cases, cases_dir, sys.stdout) if options.format == "json"
            else selection.write_text_list(cases, sys.stdout)))
    if not os.path.isfile(options.checker):
        return _usage_error(f"no checker binary at {options.checker}: run `make static` or pass --checker")
    if not options.time_scale >= 1:
        return _usage_error(f"--time-scale {options.time_scale:g}: must be 1 or more")
    scale = options.time_scale
    if options.jobs < 1:
        return _usage_error("-j must be at least 1")
    for flag, seconds in (("--timeout", options.timeout), ("--command-timeout", options.command_timeout)):
        if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:  # also false for NaN
            return _usage_error(f"{flag} should be from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds, found {seconds}")

    children = Children()
    try:
        runtime = resolve(options.runtime, children, options.runtime_arg, options.command_timeout * scale,
                          adapter=options.adapter)
    except RuntimeFault as error:
        return _usage_error(str(error))
    runtime.spec_version()  # asked once, before cases run at once
    setting = about.gather(runtime)
    try:
        known, per_check = known_departures(options, runtime, cases_dir)
        store = open_cache(options, runtime, cases_dir, per_check) if options.cache else None
    except (DepartureError, CacheError) as error:
        return _usage_error(str(error))

    # Absolute: a runtime may open its --log after changing directory (crun does).
    work_root = os.path.abspath(options.keep_logs) if options.keep_logs else tempfile.mkdtemp(prefix="runtimetest-run-")
    os.makedirs(work_root, exist_ok=True)
    try:
        live = record.Record(options.state_dir, runtime.describe(), work_root, keep_logs=bool(options.keep_logs))
    except (record.StateDirError, OSError) as error:
        if not options.keep_logs:
            shutil.rmtree(work_root, ignore_errors=True)
        return _usage_error(str(error))
    runner = CaseRunner(runtime, os.path.abspath(options.checker), work_root,
                        default_timeout=options.timeout * scale, record=live,
                        annotate=functools.partial(hostfacts.annotate, time_scale=scale),
                        departures=known, check_departures=per_check, keep_repro=bool(options.keep_logs))
    if store is not None:
        from runtimetest.driver.cache import CachingRunner

        runner = CachingRunner(runner, store)
    printer = output.Printer(sys.stdout, len(cases))
    interrupted = _on_signals_cancel(runner)
    started = time.monotonic()
    results = run_cases(cases, runner, printer, options.jobs, runtime, cases_dir)
    wall = time.monotonic() - started

    stray = children.kill_strays()
    left = live.left()
    live.close()
    signum = interrupted.get("signal")
    not_run = sorted({c.name for c in cases} - {r.name for r in results})
    write_reports(options, results, len(cases), runtime, cases_dir, signum, wall, not_run, setting)
    if stray:
        printer.note(f"ended {len(stray)} process(es) a runtime left behind: {stray}")
    extra = after_run(options, per_check, cases, results, printer.note)
    printer.summary(results, total=len(cases), interrupted=signum, wall=wall, left=left, extra=extra)
    if not options.keep_logs:
        shutil.rmtree(work_root, ignore_errors=True)
    if signum:
        return 128 + signum
    return 1 if any(r.failed for r in results) or len(results) < len(cases) or left else 0


def known_departures(options, runtime, cases_dir):
    """({case: Departure}, [CheckDeparture]) recorded for this runtime and version (none with --no-departures)."""
    if options.no_departures:
        return {}, []
    directory = options.departures or departures.default_directory(cases_dir)
    version = departures.runtime_version(runtime)
    return (departures.load(directory, runtime.name, version),
            departures.load_per_check(directory, runtime.name, version))


def open_cache(options, runtime, cases_dir, per_check):
    """--cache DIR, keyed by what every case's result shares (cache.py)."""
    from runtimetest.driver import cache

    directory = options.departures or departures.default_directory(cases_dir)
    departures_file = None if options.no_departures else departures.path_for(directory, runtime.name)
    scale = options.time_scale
    shared = cache.context(runtime, os.path.abspath(options.checker), departures_file,
                           (options.timeout * scale, options.command_timeout * scale, scale))
    return cache.Cache(options.cache, shared, per_check)


def after_run(options, per_check, cases, results, note):
    """--bless's rewriting (shown through `note`); the summary's lines on departures, blessing and the cache."""
    from runtimetest.driver.cases.per_check import summary_lines

    extra = summary_lines(per_check, results)
    if options.bless:
        from runtimetest.driver.bless import bless

        rewritten, refused = bless(cases, results, note)
        extra.append(f"bless: {rewritten} case(s) rewritten, {refused} refused")
    if options.cache:
        from runtimetest.driver.cache import summary_lines as cache_lines

        extra += cache_lines(results, options.cache)
    return extra


def run_cases(cases, runner, printer, jobs, runtime, cases_dir):
    """Run the cases, `jobs` at once; finished results in finishing order."""
    printer.header(runtime, cases_dir, jobs)
    results = []
    lock = threading.Lock()

    def run_one(case):
        if runner.cancelled.is_set():
            return None  # interrupted: counted as not run
        printer.case_started(case.name)
        try:
            result = runner.run(case)
        except Exception as error:  # a driver bug must not lose the other cases
            from runtimetest.driver.runner import ERROR, CaseResult

            result = CaseResult(case)
            result.status, result.reason = ERROR, f"driver error: {type(error).__name__}: {error}"
        with lock:
            results.append(result)
        printer.case(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, case) for case in cases]
        for future in futures:
            while not future.done():
                time.sleep(0.1)  # stay responsive to signals in the main thread
    return results


def write_reports(options, results, total, runtime, cases_dir, signum, wall, not_run, setting):
    for path, write in ((options.json, lambda p: reports.write_json(
                            p, results, total, runtime, cases_dir, signum, wall, options.jobs, not_run,
                            about=setting, selection=selection.record(options))),
                        (options.tap, lambda p: reports.write_tap(p, results, signum)),
                        (options.junit, lambda p: reports.write_junit(p, results, runtime, not_run, wall, signum,
                                                                      about=setting))):
        if path:
            try:
                write(path)
            except OSError as error:
                sys.stderr.write(f"runtimetest suite: cannot write {path}: {error.strerror}\n")


def _on_signals_cancel(runner):
    """SIGINT/SIGTERM: stop starting cases, running ones clean up at once, still report.

    A second signal makes the clean-up hurry: each runtime command it runs is then
    bounded by a few seconds.
    """
    state = {}

    def cancel(signum, frame):
        if runner.cancelled.is_set():
            runner.hurry.set()
        state.setdefault("signal", signum)
        runner.cancelled.set()

    signal.signal(signal.SIGINT, cancel)
    signal.signal(signal.SIGTERM, cancel)
    return state
