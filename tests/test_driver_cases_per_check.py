"""Per-check departures: a runtime's systematic gap set aside wherever it shows, the rest judged as usual."""

import json

import pytest

from runtimetest.driver.cases import departures, per_check
from runtimetest.driver.cases.load import Case
from runtimetest.driver.output import summary_lines
from runtimetest.driver.runner import DEPARTS, FAIL, PASS, CaseResult, CaseRunner

MQUEUE = ('mounts.destination: mounts[4].destination: expected "/dev/mqueue", found "not a mount point" '
          '(no such mount point in /proc/self/mountinfo) [MUST config.md#mounts]')
MQUEUE_ELSEWHERE = MQUEUE.replace("mounts[4]", "mounts[3]")
OTHER_MOUNT = MQUEUE.replace("/dev/mqueue", "/mnt")
OWN = 'hostname: hostname: expected "elsewhere", found "conformance" [MUST config.md#hostname]'
RECORD = {"version": "1.*", "check": "mounts.destination", "field": "mounts[*].destination",
          "message": 're:expected "/dev/mqueue", found "not a mount point".*',
          "why": "drops the mqueue mount", "url": "https://example.org/issue/1"}


def mqueue_record():
    return per_check.CheckDeparture(RECORD["check"], RECORD["field"], RECORD["why"], "runc.json",
                                    message=RECORD["message"])


def judged(lines, expected_err=(), records=(), per_case=None, name="a"):
    case = Case(name, "/nowhere")
    case.expected_err = list(expected_err)
    result = CaseResult(case)
    result.exit_compared = False
    result.outside = list(lines)
    runner = CaseRunner(runtime=None, checker=None, work_root=None,
                        departures={name: per_case} if per_case else {}, check_departures=records)
    runner._compare(case, result)
    return result


def test_the_field_glob_takes_brackets_literally_and_the_message_narrows_it():
    record = mqueue_record()
    assert record.matches(MQUEUE) and record.matches(MQUEUE_ELSEWHERE)
    assert not record.matches(OTHER_MOUNT)
    assert not record.matches(MQUEUE.replace("mounts[4]", "mountsX4]"))
    assert not record.matches("not a failure line")


def test_a_case_whose_only_failures_are_departed_lines_departs():
    result = judged([MQUEUE], records=[mqueue_record()])
    assert result.status == DEPARTS and not result.failed
    assert result.reason == "known departure(s) per check: drops the mqueue mount"
    assert result.departed and result.departed[0][1] == MQUEUE


def test_a_departure_no_longer_hides_the_rest_of_a_case():
    result = judged([MQUEUE, OWN], records=[mqueue_record()])
    assert result.status == FAIL
    assert "unexpected extra line" in result.details[0] and "hostname" in result.details[0]
    assert "set aside as per-check departures" in result.details[-1] and "mqueue" in result.details[-1]


def test_the_case_own_lines_are_still_expected_around_departed_ones():
    assert judged([MQUEUE, OWN], expected_err=[OWN], records=[mqueue_record()]).status == DEPARTS
    assert judged([OWN], expected_err=[OWN], records=[mqueue_record()]).status == PASS


def test_an_expected_line_of_the_departed_check_and_field_is_stood_in_for():
    expected = MQUEUE.replace('found "not a mount point"', 'found "elsewhere"')
    assert judged([MQUEUE], expected_err=[expected], records=[mqueue_record()]).status == DEPARTS
    pattern = r're:mounts\.destination: mounts\[4\]\.destination: expected .*'
    assert judged([MQUEUE], expected_err=[pattern], records=[mqueue_record()]).status == DEPARTS
    # Another field's expected line is not: its absence is still a failure.
    other = MQUEUE_ELSEWHERE.replace("/dev/mqueue", "/mnt")
    assert judged([MQUEUE], expected_err=[other], records=[mqueue_record()]).status == FAIL


def test_a_per_case_record_judges_what_is_left_after_per_check_ones():
    per_case = departures.Departure("a", "its own gap", [OWN], "runc.json")
    result = judged([MQUEUE, OWN], records=[mqueue_record()], per_case=per_case)
    assert result.status == DEPARTS and result.reason == "known departure: its own gap"
    per_case_empty = departures.Departure("a", "its line cannot show", [], "runc.json")
    assert judged([MQUEUE], expected_err=[OWN], records=[mqueue_record()],
                  per_case=per_case_empty).status == DEPARTS
    assert judged([MQUEUE], expected_err=[OWN], records=[mqueue_record()]).status == FAIL


def test_without_records_nothing_is_set_aside():
    assert judged([MQUEUE]).status == FAIL


def write(tmp_path, entries):
    (tmp_path / "runc.json").write_text(json.dumps({"runtime": "runc", "entries": entries}))
    return str(tmp_path)


def test_per_check_records_load_for_their_version_only(tmp_path):
    directory = write(tmp_path, [RECORD, dict(RECORD, version="2.*", field="other"),
                                 {"version": "1.*", "case": "a", "why": "w", "stderr": []}])
    loaded = departures.load_per_check(directory, "runc", "1.1.5")
    assert [record.field for record in loaded] == ["mounts[*].destination"]
    assert loaded[0].url == RECORD["url"]
    assert set(departures.load(directory, "runc", "1.1.5")) == {"a"}  # per-case ones apart
    assert departures.load_per_check(directory, "runc", None) == []


@pytest.mark.parametrize("entry,message", [
    (dict(RECORD, case="a"), "entries[0]: needs either \"case\""),
    ({"version": "1.*", "why": "w"}, "entries[0]: needs either \"case\""),
    ({k: v for k, v in RECORD.items() if k != "field"}, "entries[0]: field: a per-check record needs"),
    (dict(RECORD, field="re:("), "entries[0].field: bad regular expression"),
    (dict(RECORD, message="re:[a"), "entries[0].message: bad regular expression"),
    (dict(RECORD, stderr=[]), "entries[0].stderr: not for a per-check record"),
    (dict(RECORD, url="example.org"), "entries[0].url: 'example.org' does not match"),
    (dict(RECORD, check="Bad Id"), "entries[0].check: 'Bad Id' does not match"),
    ({"version": "1.*", "case": "a", "why": "w"}, "entries[0]: stderr: a per-case record needs"),
    ({"version": "1.*", "case": "a", "why": "w", "stderr": [], "field": "x"}, "entries[0]: field and message"),
])
def test_a_bad_record_names_the_file_and_the_field(tmp_path, entry, message):
    directory = write(tmp_path, [entry])
    with pytest.raises(departures.DepartureError) as raised:
        departures.load_per_check(directory, "runc", "1.1.5")
    assert message in str(raised.value) and str(tmp_path / "runc.json") in str(raised.value)


def test_the_summary_lists_each_used_record_once_with_its_cases_and_the_unused_as_a_note():
    used, unused = mqueue_record(), per_check.CheckDeparture("linux.seccomp", "linux.seccomp", "no filter", "runc.json")
    results = [judged([MQUEUE], records=[used, unused], name="b"),
               judged([MQUEUE_ELSEWHERE, MQUEUE], records=[used, unused], name="a"),
               judged([], records=[used, unused], name="c")]
    lines = per_check.summary_lines([used, unused], results)
    assert lines[0].startswith("1 per-check departure(s)")
    assert lines[1].endswith("drops the mqueue mount (2 case(s): a, b)")
    assert lines[2].startswith("note: 1 per-check departure(s) matched nothing in this run: linux.seccomp")
    assert sum("mqueue" in line for line in lines) == 1
    printed = summary_lines(results, 3, extra=lines)
    assert printed[-1] == "1 passed, 0 failed, 2 skipped" and lines[1] in printed


def test_a_recorded_runtime_fault_departs_and_any_other_error_stays_an_error():
    from runtimetest.driver.runner import ERROR

    departure = departures.Departure("a", "create hangs now and then", None, "runc.json",
                                     fault="runtime fault: `runc create *` did not finish in *s (killed)")
    runner = CaseRunner(runtime=None, checker=None, work_root=None, departures={"a": departure})
    case = Case("a", "/nowhere")
    for reason, status in (("runtime fault: `runc create rtt-a-1` did not finish in 30s (killed)\n  log", DEPARTS),
                           ("runtime fault: `runc start rtt-a-1` did not finish in 30s (killed)", ERROR)):
        result = CaseResult(case)
        result.status, result.reason = ERROR, reason
        runner._known_fault(case, result)
        assert result.status == status
    assert result.reason.startswith("runtime fault")
    # When the fault does not come, the case is judged as usual, with no note that the record can go.
    passed = judged([], per_case=departure)
    assert passed.status == PASS and passed.stale_departure is None
    assert judged([OWN], per_case=departure).status == FAIL


def test_a_fault_pattern_is_checked(tmp_path):
    directory = write(tmp_path, [{"version": "1.*", "case": "a", "why": "w", "fault": "re:("}])
    with pytest.raises(departures.DepartureError) as raised:
        departures.load(directory, "runc", "1.1.5")
    assert "entries[0].fault: bad regular expression" in str(raised.value)
