"""Loading case directories: every problem names its file; one broken case stops nothing."""

import json

from runtimetest.driver.cases.load import BrokenCase, Case, discover


def write(directory, name, text):
    (directory / name).write_text(text)


def test_a_case_is_the_files_sharing_a_name(tmp_path):
    write(tmp_path, "a.json", '{"hostname": "x"}')
    write(tmp_path, "a.spec.json", '{"hostname": "y"}')
    write(tmp_path, "a.err", "line one\nre:line [0-9]+\n")
    write(tmp_path, "a.out", "exact\r\n")
    write(tmp_path, "a.in", "input")
    write(tmp_path, "a.args", "/runtimetest\n--level\nshould\n")
    write(tmp_path, "a.exit", "3\n")
    write(tmp_path, "a.timeout", "2.5\n")
    write(tmp_path, "a.desc", "what it shows\n")
    write(tmp_path, "README.md", "not a case")
    [case] = discover(str(tmp_path))
    assert isinstance(case, Case)
    assert case.config == {"hostname": "x"} and case.spec_override == {"hostname": "y"}
    assert case.expected_err == ["line one", "re:line [0-9]+"]
    assert case.expected_out == b"exact\r\n" and case.stdin == b"input"
    assert case.args == ["/runtimetest", "--level", "should"]
    assert (case.expected_exit, case.timeout, case.desc) == (3, 2.5, "what it shows")


def test_defaults_when_only_the_config_exists(tmp_path):
    write(tmp_path, "b.json", "{}")
    [case] = discover(str(tmp_path))
    assert case.expected_err == [] and case.expected_out is None and case.stdin is None
    assert case.args is None and case.expected_exit == 0 and case.timeout is None


def test_broken_cases_name_the_file_and_the_others_still_load(tmp_path):
    broken = {
        "notjson.json": ("{", "notjson.json: not JSON"),
        "array.json": ("[]", "array.json: should hold a JSON object, found list"),
        "badexit.exit": ("zero", "badexit.exit: exit status should be an integer from 0 to 255 or a signal name, found 'zero'"),
        "badtimeout.timeout": ("-1", "badtimeout.timeout: timeout should be a number of seconds from 0.01 to 604800, found '-1'"),
        "badre.err": ("re:(\n", "badre.err:1: bad regular expression"),
        "noconfig.desc": ("x", "noconfig.json: missing"),
        "emptyargs.args": ("", "emptyargs.args: empty"),
    }
    for filename, (text, _) in broken.items():
        write(tmp_path, filename, text)
        name = filename.split(".")[0]
        if not filename.endswith(".json") and name != "noconfig":
            write(tmp_path, f"{name}.json", "{}")
    write(tmp_path, "good.json", json.dumps({"hostname": "ok"}))
    cases = {case.name: case for case in discover(str(tmp_path))}
    assert isinstance(cases.pop("good"), Case)
    for filename, (_, message) in broken.items():
        case = cases[filename.split(".")[0]]
        assert isinstance(case, BrokenCase), filename
        assert message in case.reason and str(tmp_path) in case.reason


def test_selection_by_pattern_and_name(tmp_path):
    for name in ("process-args", "process-cwd", "hostname"):
        write(tmp_path, f"{name}.json", "{}")
    assert [c.name for c in discover(str(tmp_path), patterns=["process"])] == ["process-args", "process-cwd"]
    assert [c.name for c in discover(str(tmp_path), patterns=["*-cwd"])] == ["process-cwd"]
    assert [c.name for c in discover(str(tmp_path), names=["hostname"])] == ["hostname"]


def test_a_config_field_of_the_wrong_type_names_the_file_and_field(tmp_path):
    write(tmp_path, "uid.json", '{"process": {"user": {"uid": "root", "gid": 0}}}')
    write(tmp_path, "rlimit.json", '{"process": {"rlimits+": [{"type": "RLIMIT_CORE", "soft": -1, "hard": 0}]}}')
    write(tmp_path, "mounts.json", '{"mounts+": [{"type": "tmpfs"}]}')
    write(tmp_path, "append.json", '{"hostname+": ["x"]}')
    write(tmp_path, "told.json", "{}")
    write(tmp_path, "told.spec.json", '{"process": {"user": {"uid": "root"}}}')
    cases = {case.name: case for case in discover(str(tmp_path))}
    assert "uid.json: process.user.uid: 'root' is not of type 'integer'" in cases["uid"].reason
    assert "rlimit.json: process.rlimits[1].soft: -1 is less than the minimum of 0" in cases["rlimit"].reason
    assert "mounts.json: mounts[8]: 'destination' is a required property" in cases["mounts"].reason
    assert "append.json: hostname+: appends to hostname, which is not an array" in cases["append"].reason
    assert isinstance(cases["told"], Case), "what the checker is told may be wrong on purpose"
