"""Machine-readable reports of a run: --json, --tap and --junit.

All three are written from the finished cases, also when the run was
interrupted (the cases not run are named as such).
"""

import json
import xml.etree.ElementTree as ElementTree

from runtimetest.core.report import yaml_text
from runtimetest.driver.output import DETAIL_LINES, final_line, memory_stats, phase_stats, slowest
from runtimetest.driver.cases.load import area_of
from runtimetest.driver.runner import DEPARTS, ERROR, FAIL, PASS, SKIP, TIMEOUT


def _text(data):
    return data.decode("utf-8", "replace")


def case_record(result, cases_dir):
    exit = result.exit
    return {
        "name": result.name,
        "description": result.desc,
        "area": area_of(result, cases_dir),
        "status": result.status,
        "reason": result.reason,
        "details": result.details,
        "exit_code": exit.code if exit else None,
        "exit_signal": exit.signal if exit else None,
        "timings": {key: round(value, 6) for key, value in result.timings.items()},
        "peak_memory_bytes": result.peak_memory,
        "peak_rss_kib": result.peak_rss_kib,
        "container_id": result.container_id,
        "terminal": result.terminal,
        "stdout": _text(result.stdout),
        "stderr": _text(result.stderr),
        "outside_failures": result.outside,
        "notes": result.notes,
        "commands": [{"op": c["op"], "target": c["target"], "ok": c["ok"],
                      "seconds": round(c["ended"] - c["started"], 6)} for c in result.commands],
    }


STATUSES = (PASS, FAIL, ERROR, TIMEOUT, SKIP, DEPARTS)


class ReportError(Exception):
    """A JSON report that cannot be read back; the message names the file and the field."""


def read_json_report(path):
    """A `suite --json` or `merge` report read back (by merge, --rerun-failed and the matrix): an object
    whose "cases" are objects with a string name and a known status."""
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except OSError as error:
        raise ReportError(f"{path}: cannot read: {error.strerror}") from None
    except (ValueError, RecursionError) as error:
        raise ReportError(f"{path}: not JSON: {error}") from None
    if not isinstance(report, dict):
        raise ReportError(f"{path}: not a JSON object (a report of `runtimetest suite --json`)")
    if not isinstance(report.get("cases"), list):
        raise ReportError(f"{path}: cases: expected list, found {json.dumps(report.get('cases'))[:60]}")
    for index, case in enumerate(report["cases"]):
        if not isinstance(case, dict) or not isinstance(case.get("name"), str):
            raise ReportError(f"{path}: cases[{index}].name: expected str (each case an object with a name)")
        if case.get("status") not in STATUSES:
            raise ReportError(f"{path}: cases[{index}].status: expected one of {', '.join(STATUSES)}, "
                              f"found {json.dumps(case.get('status'))[:60]}")
    return report


def totals(results, total):
    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    counts["not_run"] = total - len(results)
    return counts


def run_record(results, wall, jobs):
    memory = memory_stats(results)
    return {
        "wall_seconds": round(wall, 6) if wall is not None else None,
        "jobs": jobs,
        "phases": {phase: {"total": round(t, 6), "average": round(a, 6),
                           "slowest": {"seconds": round(w, 6), "case": name}}
                   for phase, (t, a, (w, name)) in phase_stats(results).items()},
        "peak_memory_bytes": None if memory is None else {
            "average": round(memory[0]), "highest": memory[1][0], "case": memory[1][1]},
        "slowest_cases": [{"name": r.name, "seconds": round(r.timings["total"], 6)} for r in slowest(results)],
    }


def write_json(path, results, total, runtime, cases_dir, interrupted=None, wall=None, jobs=None, not_run=(),
               about=None, selection=None):
    """The JSON report; `about` is driver/about.py's gather() (runtime, host, runtimetest), `selection`
    what chose the cases beyond the directory (shard, rerun report, patterns)."""
    about = about or {}
    report = {
        "runtimetest": about.get("runtimetest"),
        "runtime": about.get("runtime") or {"name": runtime.name, "program": runtime.program,
                                            "spec_version": runtime.spec_version()},
        "host": about.get("host"),
        "cases_dir": cases_dir,
        "selection": selection or {},
        "interrupted_by_signal": interrupted,
        "totals": totals(results, total),
        "summary": final_line(results),
        "run": run_record(results, wall, jobs),
        "cases": [case_record(r, cases_dir) for r in sorted(results, key=lambda r: r.name)],
        "not_run": sorted(not_run),
    }
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1)
        handle.write("\n")


def _tap_text(text):
    return text.replace("\\", "\\\\").replace("#", "\\#").replace("\n", " ")


def _yaml_block(result):
    """The case's YAML block, in the subset every TAP reader's YAML reads (see core/report.py)."""
    yield "  ---"
    yield f"  status: {result.status}"
    yield f"  reason: {yaml_text(result.reason or '')}"
    if result.exit is not None:
        yield f"  exit: {yaml_text(result.exit.describe())}"
    for phase, seconds in sorted(result.timings.items()):
        yield f"  seconds_{phase}: {seconds:.3f}"
    # One `- line:` item per line, never a literal block: a line of `...` in a block would end the
    # YAML for a reader that looks for the end marker without following the block.
    lines = [line for detail in result.details for line in detail.splitlines()]
    if lines:
        yield "  details:"
        yield from (f"    - line: {yaml_text(line)}" for line in lines)
    stderr = _text(result.stderr).splitlines()
    if stderr:
        yield f"  stderr_lines: {len(stderr)}"
        yield "  stderr:"  # the first DETAIL_LINES; the JSON report has them all
        yield from (f"    - line: {yaml_text(line)}" for line in stderr[:DETAIL_LINES])
    yield "  ..."


def tap_lines(results, interrupted=None):
    """TAP version 13, one test per finished case in name order; a Bail out! when interrupted."""
    ordered = sorted(results, key=lambda r: r.name)
    lines = ["TAP version 13", f"1..{len(ordered)}"]
    for number, result in enumerate(ordered, 1):
        name = _tap_text(result.name + (f" - {result.desc}" if result.desc else ""))
        if result.status == PASS:
            lines.append(f"ok {number} - {name}")
        elif result.status in (SKIP, DEPARTS):
            lines.append(f"ok {number} - {name} # SKIP {_tap_text(result.reason)}")
        else:
            lines.append(f"not ok {number} - {name}")
            lines.extend(_yaml_block(result))
    if interrupted:
        lines.append(f"Bail out! interrupted by signal {interrupted}")
    lines.append(f"# {final_line(results)}")
    return lines


def write_tap(path, results, interrupted=None):
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:  # names may not be UTF-8
        handle.write("".join(line + "\n" for line in tap_lines(results, interrupted)))


def junit_properties(runtime, about=None):
    """(name, value) pairs for <properties>: the runtime, the host and runtimetest's version."""
    about = about or {}
    facts = about.get("runtime") or {}
    host = about.get("host") or {}
    pairs = [("runtime", runtime.program), ("runtime-spec", runtime.spec_version() or ""),
             ("runtime-name", runtime.name), ("runtime-version", facts.get("version")),
             ("runtime-version-output", facts.get("version_output")),
             ("host-kernel", host.get("kernel")), ("host-cgroup-mode", host.get("cgroup_mode")),
             ("host-distro", host.get("distro")), ("runtimetest-version", (about.get("runtimetest") or {}).get("version"))]
    return [(name, value) for name, value in pairs if value is not None]


def junit_tree(results, runtime, not_run=(), wall=None, interrupted=None, about=None):
    """JUnit XML as CI systems read it: one <testcase> per case, failures and errors apart."""
    ordered = sorted(results, key=lambda r: r.name)
    failures = sum(r.status == FAIL for r in results)
    errors = sum(r.status in (ERROR, TIMEOUT) for r in results)
    skipped = sum(r.status in (SKIP, DEPARTS) for r in results) + len(not_run)
    suite = ElementTree.Element("testsuite", {
        "name": _xml_safe(f"runtimetest ({runtime.name})"),
        "tests": str(len(results) + len(not_run)), "failures": str(failures), "errors": str(errors),
        "skipped": str(skipped), "time": f"{wall or 0.0:.3f}",
    })
    properties = ElementTree.SubElement(suite, "properties")
    for key, value in junit_properties(runtime, about):
        _element(properties, "property", {"name": key, "value": value})
    classname = f"runtimetest.{runtime.name}"
    for result in ordered:
        case = _element(suite, "testcase", {
            "classname": classname, "name": result.name, "time": f"{result.timings.get('total', 0.0):.3f}"})
        message = result.reason.splitlines()[0] if result.reason else result.status
        if result.status == FAIL:
            _element(case, "failure", {"message": message, "type": "mismatch"},
                     "\n\n".join(result.details or [result.reason]))
        elif result.status in (ERROR, TIMEOUT):
            _element(case, "error", {"message": message, "type": result.status}, result.reason)
        elif result.status in (SKIP, DEPARTS):
            _element(case, "skipped", {"message": result.reason})
        if result.stdout:
            _element(case, "system-out", text=_text(result.stdout))
        failure_lines = _text(result.stderr) + "".join(line + "\n" for line in result.outside)
        if failure_lines:
            _element(case, "system-err", text=failure_lines)
    for name in sorted(not_run):
        case = _element(suite, "testcase", {"classname": classname, "name": name, "time": "0"})
        why = f"not run: interrupted by signal {interrupted}" if interrupted else "not run"
        _element(case, "skipped", {"message": why})
    root = ElementTree.Element("testsuites")
    root.append(suite)
    return ElementTree.ElementTree(root)


def _xml_safe(text):
    """XML 1.0 cannot hold most control characters, surrogates or U+FFFE/U+FFFF: show them escaped."""
    return "".join(ch if _xml_char(ord(ch)) else _escaped(ord(ch)) for ch in text)


def _xml_char(code):
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def _escaped(code):
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _element(parent, tag, attributes=None, text=None):
    """A sub-element whose attribute values and text XML can carry, whatever names and messages hold."""
    element = ElementTree.SubElement(parent, tag, {k: _xml_safe(v) for k, v in (attributes or {}).items()})
    if text is not None:
        element.text = _xml_safe(text)
    return element


def write_junit(path, results, runtime, not_run=(), wall=None, interrupted=None, about=None):
    tree = junit_tree(results, runtime, not_run, wall, interrupted, about)
    ElementTree.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
