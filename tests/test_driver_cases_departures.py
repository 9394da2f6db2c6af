"""Known departures: recorded per runtime version, matched exactly, never hiding a new fault."""

import json
import os

import pytest

from conftest import requires_root, runtimetest
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


@requires_root
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
