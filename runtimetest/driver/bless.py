"""--bless: the selected cases' NAME.err (and NAME.out, where the case has one) rewritten from the run.

An expected line that still matches its actual line is kept as it is (a `re:`
pattern stays a pattern); every other line is written as the run gave it. A
case whose run ERRORed or timed out, or whose failures were departures of the
runtime (recorded per case or per check: the runtime's gaps are not the
spec's), or that did not run, is refused with the reason. Each file written is
shown as a unified diff.
"""

import difflib
import os

from runtimetest.driver import compare
from runtimetest.driver.runner import DEPARTS, ERROR, SKIP, TIMEOUT

REFUSED = {
    ERROR: "its run was an ERROR: there is no output to trust",
    TIMEOUT: "its run timed out: its output is cut short",
    DEPARTS: "it departs as recorded for this runtime: a runtime's gap is not the spec's "
             "(bless with a conforming runtime, or with --no-departures to take its lines as they are)",
    SKIP: "it did not run",
}


def failure_lines(result):
    """What the run gave as the case's stderr: the container's (when compared), then the outside checks'."""
    container = result.stderr.decode("utf-8", "surrogateescape") if result.streams_compared else ""
    lines = container.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines + list(result.outside)


def blessed_err(expected_lines, actual_lines):
    """The new NAME.err lines: kept expected ones where they still match, actual ones elsewhere."""
    return [expected_lines[want] if want is not None else actual_lines[got]
            for want, got in compare.aligned(expected_lines, actual_lines) if got is not None]


def refusal(result):
    if result.status in REFUSED:
        return REFUSED[result.status]
    if result.departed:
        return (f"{len(result.departed)} of its lines are per-check departures of the runtime: "
                "bless with a conforming runtime, or with --no-departures")
    return None


def bless(cases, results, write):
    """Rewrite the golden files of `results`' cases; `write(text)` shows what was done. Returns (blessed, refused)."""
    by_name = {case.name: case for case in cases}
    blessed = refused = 0
    for result in sorted(results, key=lambda r: r.name):
        reason = refusal(result)
        if reason:
            write(f"bless: {result.name}: refused: {reason}")
            refused += 1
            continue
        case = by_name[result.name]
        changed = _rewrite(case.path(".err"), blessed_err(case.expected_err, failure_lines(result)), write)
        if case.expected_out is not None and result.streams_compared:
            changed |= _rewrite(case.path(".out"), None, write, data=result.stdout)
        if not changed and result.failed:
            write(f"bless: {result.name}: its stderr and stdout are as expected already: "
                  "what fails is not in NAME.err or NAME.out")
        blessed += changed
    return blessed, refused


def _rewrite(path, lines, write, data=None):
    """Write `lines` (or bytes `data`) to `path` when they differ; show the diff. An empty NAME.err goes."""
    if data is None:
        data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
    try:
        with open(path, "rb") as handle:
            old = handle.read()
    except FileNotFoundError:
        old = None
    if old == data or (old is None and not data):
        return False
    diff = difflib.unified_diff(_text(old).splitlines(keepends=True), _text(data).splitlines(keepends=True),
                                fromfile=path if old is not None else "/dev/null",
                                tofile=path if data or path.endswith(".out") else "/dev/null")
    write("".join(diff).rstrip("\n"))
    if not data and path.endswith(".err"):
        os.remove(path)  # no NAME.err: stderr must be empty
    else:
        with open(path + ".blessing", "wb") as handle:
            handle.write(data)
        os.replace(path + ".blessing", path)
    return True


def _text(data):
    return "" if data is None else data.decode("utf-8", "surrogateescape")
