"""`runtimetest merge OUT.json IN.json...`: one JSON report from the reports of
shards (`suite --shard K/N --json`), as if one run had taken every case.

The inputs must be of the same runtime and version and must not share a case;
shards of one split (the same N) must all be there. Totals, the summary line and
the run's figures are computed again from the merged cases; each input's own
setting (shard, host, wall time) is kept under "shards".
"""

import json
from types import SimpleNamespace

from runtimetest.driver.output import final_line
from runtimetest.driver.reports import STATUSES, ReportError, read_json_report, run_record
from runtimetest.driver.runner import ERROR, FAIL, TIMEOUT


class MergeError(Exception):
    """Reports that cannot be merged; the message names the file and the field."""


def read_report(path):
    try:
        report = read_json_report(path)
    except ReportError as error:
        raise MergeError(str(error)) from None
    if not isinstance(report.get("not_run", []), list):
        raise MergeError(f"{path}: not_run: should be a list of case names")
    return report


def _runtime_key(report):
    runtime = report.get("runtime") if isinstance(report.get("runtime"), dict) else {}
    return runtime.get("name"), runtime.get("version", runtime.get("spec_version"))


def check_mergeable(reports):
    """Raise MergeError unless the reports are of one runtime, share no case and hold every shard of a split."""
    first_path, first = reports[0]
    for path, report in reports[1:]:
        if _runtime_key(report) != _runtime_key(first):
            raise MergeError(f"{path}: runtime: {_runtime_key(report)} is not {first_path}'s {_runtime_key(first)}")
    seen = {}
    for path, report in reports:
        for case in report["cases"]:
            if case["name"] in seen:
                raise MergeError(f"{path}: cases: {case['name']!r} is also in {seen[case['name']]}")
            seen[case["name"]] = path
    shards = [(path, (report.get("selection") or {}).get("shard")) for path, report in reports]
    splits = {shard[1] for _, shard in shards if isinstance(shard, list) and len(shard) == 2}
    if len(splits) > 1:
        raise MergeError(f"selection.shard: the reports are of different splits ({sorted(splits)} shards)")
    if splits:
        count = splits.pop()
        have = {shard[0] for _, shard in shards if isinstance(shard, list)}
        missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in have]
        if missing:
            raise MergeError(f"selection.shard: no report of shard {', '.join(missing)}")


def _as_result(case):
    """What output.py's figures read from a result, from a case of a report."""
    timings = case.get("timings") if isinstance(case.get("timings"), dict) else {}
    return SimpleNamespace(name=case["name"], status=case["status"], timings=timings,
                           peak_memory=case.get("peak_memory_bytes"), failed=case["status"] in (FAIL, ERROR, TIMEOUT))


def merged(reports):
    """The merged report (a dict) of [(path, report)]."""
    check_mergeable(reports)
    first = reports[0][1]
    cases = sorted((case for _, report in reports for case in report["cases"]), key=lambda c: c["name"])
    ran = {case["name"] for case in cases}
    not_run = sorted({name for _, report in reports for name in report.get("not_run", [])} - ran)
    results = [_as_result(case) for case in cases]
    totals = {status: sum(r.status == status for r in results) for status in STATUSES}
    totals["not_run"] = len(not_run)
    signals = [report.get("interrupted_by_signal") for _, report in reports if report.get("interrupted_by_signal")]
    return {
        "runtimetest": first.get("runtimetest"),
        "runtime": first.get("runtime"),
        "host": first.get("host"),
        "cases_dir": first.get("cases_dir"),
        "selection": {"merged": [path for path, _ in reports]},
        "interrupted_by_signal": signals[0] if signals else None,
        "totals": totals,
        "summary": final_line(results),
        "run": run_record(results, None, None),  # the shards' own wall times are under "shards"
        "shards": [{"report": path, "selection": report.get("selection"), "host": report.get("host"),
                    "wall_seconds": (report.get("run") or {}).get("wall_seconds"), "summary": report.get("summary")}
                   for path, report in reports],
        "cases": cases,
        "not_run": not_run,
    }


def run_merge(options, out, err):
    """`runtimetest merge`: write the merged report, print its summary line; 2 when the inputs cannot merge."""
    try:
        report = merged([(path, read_report(path)) for path in options.inputs])
        with open(options.output, "w") as handle:
            json.dump(report, handle, indent=1)
            handle.write("\n")
    except MergeError as error:
        err.write(f"runtimetest merge: {error}\n")
        return 2
    except OSError as error:
        err.write(f"runtimetest merge: cannot write {options.output}: {error.strerror}\n")
        return 2
    out.write(f"{options.output}: {len(report['cases'])} case(s) from {len(options.inputs)} report(s): "
              f"{report['summary']}\n")
    return 0
