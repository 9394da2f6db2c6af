"""Loading case directories: every problem names its file; one broken case stops nothing."""

import json
import os

import pytest

from runtimetest.driver.cases.load import BrokenCase, Case, CaseError, discover


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


def test_a_tree_holds_the_cases_of_every_directory_below_it(tmp_path):
    for area, name in (("process", "process-args"), ("cgroups", "cgroups-pids"), ("cgroups/v1", "cgroups-v1-x")):
        (tmp_path / area).mkdir(parents=True, exist_ok=True)
        write(tmp_path / area, f"{name}.json", "{}")
    write(tmp_path, "top.json", "{}")
    cases = discover(str(tmp_path))
    assert [(c.name, os.path.relpath(c.directory, tmp_path)) for c in cases] == [
        ("cgroups-pids", "cgroups"), ("cgroups-v1-x", "cgroups/v1"), ("process-args", "process"), ("top", ".")]
    assert [c.name for c in discover(str(tmp_path / "cgroups"))] == ["cgroups-pids", "cgroups-v1-x"]
    assert [c.name for c in discover(str(tmp_path), patterns=["cgroups-*"])] == ["cgroups-pids", "cgroups-v1-x"]


def test_departures_and_host_sets_below_the_top_are_left_out_but_run_when_named(tmp_path):
    for below in ("departures", "host-cgroup2", "mounts"):
        (tmp_path / below).mkdir()
        write(tmp_path / below, f"in-{below}.json", "{}")
    assert [c.name for c in discover(str(tmp_path))] == ["in-mounts"]
    assert [c.name for c in discover(str(tmp_path / "host-cgroup2"))] == ["in-host-cgroup2"]


def test_two_cases_of_one_name_in_a_tree_are_an_error_naming_both(tmp_path):
    for area in ("mounts", "process"):
        (tmp_path / area).mkdir()
        write(tmp_path / area, "same.json", "{}")
    with pytest.raises(CaseError) as raised:
        discover(str(tmp_path))
    assert str(raised.value) == (f"two cases named 'same': {tmp_path}/mounts/same.* and {tmp_path}/process/same.* "
                                 "(a name is unique in the case tree)")


def test_a_directory_named_like_a_case_file_is_its_case_never_walked(tmp_path):
    (tmp_path / "odd.json").mkdir()
    write(tmp_path / "odd.json", "inner.json", "{}")
    [case] = discover(str(tmp_path))
    assert isinstance(case, BrokenCase) and case.name == "odd"
    assert case.reason == f"{tmp_path}/odd.json: a directory, not a regular file"


def test_a_symlinked_directory_is_not_walked(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path / "elsewhere", "outside.json", "{}")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "linked").symlink_to(tmp_path / "elsewhere")
    write(tmp_path / "tree", "inside.json", "{}")
    assert [c.name for c in discover(str(tmp_path / "tree"))] == ["inside"]


def test_an_area_run_uses_the_tree_departures(tmp_path):
    from runtimetest.driver.cases.departures import default_directory as default_departures

    (tmp_path / "departures").mkdir()
    (tmp_path / "cgroups").mkdir()
    (tmp_path / "own" / "departures").mkdir(parents=True)
    assert default_departures(str(tmp_path)) == str(tmp_path / "departures")
    assert default_departures(str(tmp_path / "cgroups")) == str(tmp_path / "departures")
    assert default_departures(str(tmp_path / "own")) == str(tmp_path / "own" / "departures")
