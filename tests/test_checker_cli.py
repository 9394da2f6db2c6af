"""The checker's command line and output contract, run from source on this host."""

import json
import os
import re

from conftest import runtimetest, run_checker

TAP_LINE = re.compile(r"^(TAP version 13|1\.\.\d+|(not )?ok \d+ - \S+( # (SKIP|TODO) .*)?|#.*|  .*)$")


def test_list_names_every_check_with_level_and_reference():
    listed = runtimetest("--list")
    assert listed.returncode == 0 and listed.stderr == ""
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "check ids must be unique"
    for row in rows:
        assert len(row) == 4, row
        assert row[1] in ("MUST", "SHOULD", "MAY")
        assert row[2].startswith("https://github.com/opencontainers/runtime-spec/blob/")
        assert row[3]
    assert {"process.args", "process.capabilities.ambient", "root.readonly", "hostname"} <= set(ids)


def test_usage_errors_exit_2_and_say_why():
    for args, message in ((["--bogus"], "unknown option --bogus"),
                          (["--level", "maybe"], "--level must be one of"),
                          (["--spec"], "--spec needs a value"),
                          (["--spec", "a", "--path", "b"], "at most one of --spec and --path"),
                          (["no.such.check"], "no check is named no.such.check")):
        result = runtimetest(*args)
        assert result.returncode == 2, args
        assert message in result.stderr


def test_passing_spec_gives_empty_stderr_and_valid_tap(tmp_path):
    result = run_checker({"hostname": os.uname().nodename, "process": {"user": {"uid": os.getuid()}}},
                         tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "TAP version 13" and lines[1] == "1..3"
    assert all(TAP_LINE.match(line) for line in lines), lines
    assert lines[-1] == "# 3 passed, 0 failed, 0 skipped"


def test_failures_are_one_line_each_with_field_expected_found_level_and_section(tmp_path):
    result = run_checker({"hostname": "not-this-host", "process": {"oomScoreAdj": 999}}, tmp_path=tmp_path)
    assert result.returncode == 0
    with open("/proc/self/oom_score_adj") as handle:
        oom_score_adj = handle.read().strip()  # inherited by the checker
    assert result.stderr.splitlines() == [
        f"process.oomScoreAdj: process.oomScoreAdj: expected 999, found {oom_score_adj} [MUST config.md#linux-process]",
        f'hostname: hostname: expected "not-this-host", found "{os.uname().nodename}" [MUST config.md#hostname]',
    ]
    assert "not ok 2 - process.oomScoreAdj" in result.stdout


def test_names_select_checks_by_id_or_prefix(tmp_path):
    spec = {"hostname": "x", "process": {"cwd": "/", "args": ["a"]}}
    by_prefix = run_checker(spec, "process", tmp_path=tmp_path)
    assert "- process.args" in by_prefix.stdout and "- hostname" not in by_prefix.stdout
    by_id = run_checker(spec, "hostname", tmp_path=tmp_path)
    assert re.findall(r"ok \d+ - (\S+)", by_id.stdout) == ["spec.file", "hostname"]


def test_level_decides_which_failures_reach_stderr(tmp_path, monkeypatch):
    from runtimetest import registry
    from runtimetest.report import Reporter

    class Stream:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    should = registry.Check("demo.should", registry.SHOULD, "config.md#demo", lambda s, r: None, None)
    result = registry.Result(should)
    result.fail("demo", 1, 2)
    for level, on_stderr in (("MUST", False), ("SHOULD", True), ("MAY", True)):
        out, err = Stream(), Stream()
        reporter = Reporter(out, err, level)
        reporter.record(1, result)
        assert bool(err.text) is on_stderr, level
        assert ("# TODO" in out.text) is not on_stderr


def test_path_reads_config_json_from_a_directory(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hostname": "from-path"}))
    result = runtimetest("--path", str(tmp_path), "hostname")
    assert '"from-path"' in result.stderr


def test_broken_spec_never_gives_a_traceback(tmp_path):
    for text in ("", "null", "[1]", "{", '{"process": 5, "hostname": {}, "root": []}',
                 '{"process": {"capabilities": {"bounding": "CAP_KILL"}, "rlimits": {"x": 1}, "env": [1]}}'):
        result = run_checker(text, tmp_path=tmp_path)
        assert result.returncode == 0, text
        assert "Traceback" not in result.stderr + result.stdout, text
        assert result.stderr, f"{text!r} should give failure lines"
        assert all(line.endswith("]") for line in result.stderr.splitlines()), result.stderr


def test_an_exception_inside_a_check_is_one_failure_and_the_next_check_runs(tmp_path, monkeypatch):
    from runtimetest import checker, registry
    from runtimetest.spec import Spec

    def explode(spec, result):
        raise ZeroDivisionError("boom")

    broken = registry.Check("demo.broken", registry.MUST, "config.md#demo", explode, None)
    result = checker.run_check(broken, Spec({}))
    assert result.failures == ["check raised ZeroDivisionError: boom"]
