"""Which cases a run takes beyond -k and names: `--shard K/N`, `--rerun-failed
REPORT`; and `--list` in text or JSON, which a closed pipe does not break."""

import hashlib
import json
import os
import sys

from runtimetest.driver.cases.load import BrokenCase, area_of
from runtimetest.driver.reports import ReportError, read_json_report
from runtimetest.driver.runner import ERROR, FAIL, TIMEOUT

RERUN_STATUSES = (FAIL, ERROR, TIMEOUT)


class SelectionError(Exception):
    """A --shard or --rerun-failed that cannot be used; the message names the option or file and field."""


# -- --shard K/N -------------------------------------------------------------------

def parse_shard(text):
    """(K, N) from "K/N", 1 <= K <= N."""
    k, slash, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        k = n = None
    if not slash or k is None or not 1 <= k <= n:
        raise SelectionError(f"--shard {text}: should be K/N with 1 <= K <= N, e.g. 1/4")
    return k, n


def shard_of(name, count):
    """The shard (1-based) a case name belongs to: the same on every machine and every run.

    A digest of the name, not hash(): Python salts str hashes per process.
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(cases, shard):
    k, n = shard
    return [case for case in cases if shard_of(case.name, n) == k]


# -- --rerun-failed REPORT -------------------------------------------------------------

def failed_names(path):
    """The names of the cases a JSON report (suite --json, or merge) says failed, errored or timed out."""
    try:
        cases = read_json_report(path)["cases"]
    except ReportError as error:
        raise SelectionError(f"--rerun-failed {error}") from None
    names = []
    for case in cases:
        if case["status"] in RERUN_STATUSES:
            names.append(case["name"])
    return names


def only_named(cases, names):
    """The cases among `cases` named in `names`; and the names no case has (gone from the directory)."""
    wanted = set(names)
    kept = [case for case in cases if case.name in wanted]
    return kept, sorted(wanted - {case.name for case in cases})


# -- --list -----------------------------------------------------------------------------

def case_entry(case, cases_dir):
    entry = {"name": case.name, "description": case.desc, "path": os.path.join(case.directory, case.name + ".json"),
             "area": area_of(case, cases_dir), "lifecycle": bool(case.lifecycle)}
    if isinstance(case, BrokenCase):
        entry["error"] = case.reason
    return entry


def write_json_list(cases, cases_dir, out):
    json.dump({"cases_dir": cases_dir, "cases": [case_entry(c, cases_dir) for c in cases]}, out, indent=1)
    out.write("\n")


def write_text_list(cases, out):
    from runtimetest.driver.compare import printable

    width = max((len(printable(case.name)) for case in cases), default=0)
    for case in cases:
        name = printable(case.name).ljust(width)
        if isinstance(case, BrokenCase):
            out.write(f"{name}  ERROR {printable(case.reason)}\n")
        else:
            kind = " [lifecycle]" if case.lifecycle else ""
            out.write(f"{name}  {printable(case.desc)}{kind}".rstrip() + "\n")
    out.write(f"{len(cases)} case(s)\n")


def to_closing_pipe(write):
    """Run `write()` (which prints to stdout); a reader that stops early (`| head -1`) ends it quietly.

    Python would print a BrokenPipeError traceback, then another at exit when it flushes stdout: stdout
    goes to /dev/null from then on instead.
    """
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


# -- what the suite's options select ----------------------------------------------------

def select_cases(options, cases):
    """The cases --rerun-failed and --shard leave, and whether a --rerun-failed report had no failure."""
    if options.rerun_failed:
        names = failed_names(options.rerun_failed)
        if not names:
            return [], True
        cases, gone = only_named(cases, names)
        if gone:
            sys.stderr.write(f"runtimetest suite: {options.rerun_failed}: not in the case directory (or not "
                             f"selected), not run: {', '.join(gone)}\n")
    if options.shard:
        cases = in_shard(cases, parse_shard(options.shard))
    return cases, False


def record(options):
    """What chose the cases, for the JSON report (merge checks that shards of one split are all there)."""
    return {"shard": list(parse_shard(options.shard)) if options.shard else None,
            "rerun_failed": options.rerun_failed, "patterns": options.patterns, "names": options.case_names}
