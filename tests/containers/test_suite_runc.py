"""The whole case directory against runc, in real containers: every case must pass.

Positive cases prove a runtime can satisfy each check; negative cases (a
NAME.spec.json telling the checker something the runtime was not asked for)
prove each check fails, with the expected line, for the right reason.

Except where runc itself departs from the runtime-spec: those cases are recorded
in spec-fixtures/departures/runc.json and must fail exactly as recorded there
(a case that fails otherwise is a failure; one that passes although recorded
makes this test fail too, so the record stays true).
"""

import json
import os
import subprocess

import pytest

from conftest import FIXTURES, case_names, case_passed, requires_root, runtimetest

pytestmark = requires_root
CASE_NAMES = case_names(FIXTURES)


@pytest.fixture(scope="module")
def runc_report(checker_binary, tmp_path_factory):
    report = tmp_path_factory.mktemp("report") / "runc.json"
    result = runtimetest("suite", "--runtime", "runc", "-j", "2", "--json", str(report), FIXTURES)
    assert report.exists(), result.stdout + result.stderr
    data = json.loads(report.read_text())
    data["console"] = result
    data["by_name"] = {case["name"]: case for case in data["cases"]}
    return data


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_passes_against_runc(runc_report, name):
    case_passed(runc_report, name)


def test_suite_output_ends_with_the_summary_line(runc_report):
    console = runc_report["console"]
    totals = runc_report["totals"]
    failed = totals["fail"] + totals["error"] + totals["timeout"]
    skipped = totals["skip"] + totals["departure"]
    assert console.stdout.splitlines()[-1] == f"{totals['pass']} passed, {failed} failed, {skipped} skipped"
    assert console.returncode == (1 if failed else 0)


def test_nothing_is_left_behind(runc_report):
    ids = {case["container_id"] for case in runc_report["cases"] if case["container_id"]}
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True)
    assert ids and ids.isdisjoint(listed.stdout.split())
    assert not any(os.path.exists(f"/sys/fs/cgroup/pids/runtimetest/{cid}") for cid in ids)
