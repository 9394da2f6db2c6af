"""runtimetest/driver/cases/departures.py: known departures, recorded per runtime version, matched
exactly, never hiding a new fault; and the records in spec-fixtures/departures/<runtime>.json
are well formed and name real cases. (A suite run green with a departure and red without:
tests/containers/test_suite_runc.py.)"""

import json
import os
import re

import pytest

from conftest import FIXTURES, case_names
from runtimetest.driver.cases import departures
from runtimetest.driver.cases.load import Case
from runtimetest.driver.runner import DEPARTS, FAIL, PASS, CaseResult, CaseRunner


def write(directory, data):
    directory.mkdir(exist_ok=True)
    (directory / "runc.json").write_text(json.dumps(data) if not isinstance(data, str) else data)


ENTRY = {"version": "1.1.*", "case": "a", "why": "it does b", "stderr": ["x: y [MUST z]"]}


def test_entries_apply_to_matching_versions_only(tmp_path):
    write(tmp_path, {"runtime": "runc", "entries": [ENTRY, dict(ENTRY, case="c", version="1.2.*")]})
    assert set(departures.load(str(tmp_path), "runc", "1.1.5+ds1")) == {"a"}
    assert set(departures.load(str(tmp_path), "runc", "1.2.0")) == {"c"}
    assert departures.load(str(tmp_path), "runc", None) == {}
    assert departures.load(str(tmp_path), "crun", "1.8.1") == {}  # no crun.json: nothing recorded


@pytest.mark.parametrize("data,message", [
    ("{", "runc.json: Expecting property name"),
    ({"entries": []}, "runc.json: the document: 'runtime' is a required property"),
    ({"runtime": "runc", "entries": [dict(ENTRY, why="")]}, "runc.json: entries[0].why: '' should be non-empty"),
    ({"runtime": "runc", "entries": [dict(ENTRY, stderr="x")]}, "runc.json: entries[0].stderr: 'x' is not of type 'array'"),
    ({"runtime": "runc", "entries": [dict(ENTRY, surprise=1)]}, "entries[0]: Additional properties are not allowed"),
    ({"runtime": "crun", "entries": []}, "runc.json: runtime: should be 'runc', found 'crun'"),
    ({"runtime": "runc", "entries": [dict(ENTRY, stderr=["re:("])]}, "runc.json: a: stderr[0]: bad regular expression"),
    ({"runtime": "runc", "entries": [dict(ENTRY, exit="SIGNOPE")]}, "runc.json: a: exit: no such signal 'SIGNOPE'"),
    ({"runtime": "runc", "entries": [dict(ENTRY, stdout=1)]}, "entries[0].stdout: 1 is not of type 'string'"),
])
def test_a_broken_file_names_itself_and_the_field(tmp_path, data, message):
    write(tmp_path, data)
    with pytest.raises(departures.DepartureError) as raised:
        departures.load(str(tmp_path), "runc", "1.1.5")
    assert message in str(raised.value) and str(tmp_path) in str(raised.value)


def judged(outside, departure, exit=None, stdout=b""):
    case = Case("a", "/nowhere")
    result = CaseResult(case)
    result.exit_compared = exit is not None
    result.exit = exit
    result.outside = outside
    result.stdout = stdout
    runner = CaseRunner(runtime=None, checker=None, work_root=None,
                        departures={"a": departure} if departure else {})
    runner._compare(case, result)
    return result


def test_a_case_failing_exactly_as_recorded_is_a_known_departure():
    departure = departures.Departure("a", "it does b", ["x: y [MUST z]"], "runc.json")
    result = judged(["x: y [MUST z]"], departure)
    assert result.status == DEPARTS and result.reason == "known departure: it does b"
    assert not result.failed


def test_a_case_failing_any_other_way_still_fails():
    departure = departures.Departure("a", "it does b", ["x: y [MUST z]"], "runc.json")
    assert judged(["x: y [MUST z]", "another fault [MUST z]"], departure).status == FAIL
    assert judged(["something else [MUST z]"], departure).status == FAIL


def test_a_departure_may_change_the_exit_status_and_stdout_too(tmp_path):
    from runtimetest.driver.children import Exit

    write(tmp_path, {"runtime": "runc", "entries": [dict(ENTRY, exit="SIGKILL", stdout="")]})
    departure = departures.load(str(tmp_path), "runc", "1.1.5")["a"]
    killed = Exit(9, None)  # wait status of a process killed by SIGKILL
    assert judged(["x: y [MUST z]"], departure, exit=killed).status == DEPARTS
    assert judged(["x: y [MUST z]"], departure, exit=killed, stdout=b"surprise").status == FAIL
    assert judged(["x: y [MUST z]"], departure, exit=Exit(0, None)).status == FAIL


def test_a_case_passing_though_recorded_passes_and_says_the_record_can_go():
    departure = departures.Departure("a", "it does b", ["x: y [MUST z]"], "runc.json")
    result = judged([], departure)
    assert result.status == PASS and result.stale_departure == "runc.json"
    assert any("the record can go" in note for note in result.notes)


DEPARTURES = os.path.join(FIXTURES, "departures")


FILES = sorted(name for name in os.listdir(DEPARTURES) if name.endswith(".json"))


CASES = set(case_names(FIXTURES))


FAILURE_LINE = re.compile(r"[a-z][A-Za-z0-9_.-]*: .* \[(MUST|SHOULD|MAY) [^\s\]]+\]")


def test_every_runtime_with_an_adapter_has_its_file():
    assert {"runc.json", "crun.json", "runsc.json"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_a_departures_file_is_well_formed(name):
    runtime = name[:-len(".json")]
    entries = departures.read(os.path.join(DEPARTURES, name), runtime)  # the driver's own checks
    seen = set()
    for entry in entries:
        if "check" in entry:
            _check_per_check_entry(name, entry, seen)
            continue
        where = f"{name}: {entry['case']}"
        assert entry["case"] in CASES, f"{where}: no such case"
        assert (entry["version"], entry["case"]) not in seen, f"{where}: recorded twice"
        seen.add((entry["version"], entry["case"]))
        assert "\n" not in entry["why"], f"{where}: why is one line"
        for line in entry.get("stderr", []):
            # Literal lines are failure lines, or what a runtime itself printed on the container's stderr.
            assert line.startswith("re:") or FAILURE_LINE.fullmatch(line) or \
                not line.startswith(("hooks.", "lifecycle.")), where
        departures.load(DEPARTURES, runtime, entry["version"].replace("*", "0"))  # exit and stdout parse


def _check_per_check_entry(name, entry, seen):
    where = f"{name}: {entry['check']} {entry['field']} {entry.get('message', '')}"
    key = (entry["version"], entry["check"], entry["field"], entry.get("message"))
    assert key not in seen, f"{where}: recorded twice"
    seen.add(key)
    assert "\n" not in entry["why"], f"{where}: why is one line"


@pytest.mark.parametrize("name", FILES)
def test_a_per_case_record_leaves_out_what_a_per_check_one_covers(name):
    """A line a per-check record matches is set aside before per-case records are compared: it has no place in one."""
    runtime = name[:-len(".json")]
    entries = departures.read(os.path.join(DEPARTURES, name), runtime)
    for entry in entries:
        if "case" not in entry:
            continue
        records = departures.load_per_check(DEPARTURES, runtime, entry["version"].replace("*", "0"))
        for line in entry.get("stderr", []):
            covered = [record.label() for record in records if record.matches(line)]
            assert not covered, f"{name}: {entry['case']}: {line!r} is covered by {covered}"
