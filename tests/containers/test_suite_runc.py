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

from conftest import FIXTURES, case_names, case_passed, names_with_status, requires_root, runtimetest


def write(directory, data):
    directory.mkdir(exist_ok=True)
    (directory / "runc.json").write_text(json.dumps(data))

pytestmark = requires_root
CASE_NAMES = case_names(FIXTURES)
# What runc 1.1.5 (runtime-spec 1.0.2-dev) on this host skips: cases whose config needs a newer
# runtime-spec, each a SKIP saying so. Any other SKIP is a fault, not a pass.
KNOWN_SKIPS = ("cgroups-cpu-burst-idle", "hooks-poststart-fails-stops", "ioprio-class", "sched-affinity",
               "sched-policy", "timens-offsets", "uts-domainname")
# Recorded in spec-fixtures/departures/runc.json for runc 1.1.
KNOWN_DEPARTURES = ("hooks-poststart", "hooks-poststart-fails", "hooks-poststop-fails", "hooks-startcontainer-fails",
                    "lifecycle-delete-created", "lifecycle-invalid-version")


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
    case_passed(runc_report, name, KNOWN_SKIPS)


def test_the_skipped_cases_are_exactly_the_known_ones(runc_report):
    assert names_with_status(runc_report, "skip") == sorted(KNOWN_SKIPS)
    assert names_with_status(runc_report, "departure") == sorted(KNOWN_DEPARTURES)


def test_suite_output_ends_with_the_summary_line(runc_report):
    console = runc_report["console"]
    totals = runc_report["totals"]
    failed = totals["fail"] + totals["error"] + totals["timeout"]
    skipped = totals["skip"] + totals["departure"]
    assert console.stdout.splitlines()[-1] == f"{totals['pass']} passed, {failed} failed, {skipped} skipped"
    assert (failed, skipped, totals["pass"]) == (0, 13, len(CASE_NAMES) - 13)
    assert console.returncode == 0


def test_nothing_is_left_behind(runc_report):
    ids = {case["container_id"] for case in runc_report["cases"] if case["container_id"]}
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True)
    assert ids and ids.isdisjoint(listed.stdout.split())
    assert not any(os.path.exists(f"/sys/fs/cgroup/pids/runtimetest/{cid}") for cid in ids)


def test_the_suite_is_green_with_a_recorded_departure_and_red_without(checker_binary, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    # The checker is told of a hostname the runtime was not given: a stand-in for a runtime fault.
    (cases / "told-otherwise.json").write_text("{}")
    (cases / "told-otherwise.spec.json").write_text(json.dumps({"hostname": "elsewhere"}))
    line = 'hostname: hostname: expected "elsewhere", found "runtimetest" [MUST config.md#hostname]'
    write(cases / "departures", {"runtime": "runc", "entries": [
        {"version": "*", "case": "told-otherwise", "why": "a stand-in departure", "stderr": [line]}]})
    state = ["--state-dir", str(tmp_path / "records")]
    green = runtimetest("suite", "--runtime", "runc", *state, str(cases))
    assert green.returncode == 0, green.stdout
    assert "DEPARTS" in green.stdout and "known departure: a stand-in departure" in green.stdout
    assert green.stdout.splitlines()[-1] == "0 passed, 0 failed, 1 skipped"
    red = runtimetest("suite", "--runtime", "runc", "--no-departures", *state, str(cases))
    assert red.returncode == 1 and red.stdout.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
    broken = cases / "departures" / "runc.json"
    broken.write_text("[]")
    usage = runtimetest("suite", "--runtime", "runc", *state, str(cases))
    assert usage.returncode == 2 and f"{broken}: the document: [] is not of type 'object'" in usage.stderr
    assert not os.listdir(tmp_path / "records")
