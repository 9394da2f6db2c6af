"""Machine-readable reports of a run."""

import json

from .runner import ERROR, FAIL, PASS, SKIP, TIMEOUT


def case_record(result):
    exit = result.exit
    return {
        "name": result.name,
        "description": result.desc,
        "status": result.status,
        "reason": result.reason,
        "details": result.details,
        "exit_code": exit.code if exit else None,
        "exit_signal": exit.signal if exit else None,
        "timings": {key: round(value, 6) for key, value in result.timings.items()},
        "peak_memory_bytes": result.peak_memory,
        "peak_rss_kib": result.peak_rss_kib,
        "container_id": result.container_id,
        "stdout": result.stdout.decode("utf-8", "replace"),
        "stderr": result.stderr.decode("utf-8", "replace"),
    }


def totals(results, total):
    counts = {status: sum(r.status == status for r in results) for status in (PASS, FAIL, ERROR, TIMEOUT, SKIP)}
    counts["not_run"] = total - len(results)
    return counts


def write_json(path, results, total, runtime, cases_dir, interrupted=None):
    report = {
        "runtime": {"name": runtime.name, "program": runtime.program,
                    "spec_version": runtime.spec_version()},
        "cases_dir": cases_dir,
        "interrupted_by_signal": interrupted,
        "totals": totals(results, total),
        "cases": [case_record(r) for r in sorted(results, key=lambda r: r.name)],
    }
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1)
        handle.write("\n")
