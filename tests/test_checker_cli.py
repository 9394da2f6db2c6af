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


def tap_by_check(stdout):
    """The TAP result lines without their numbers, once the numbers are checked to run 1..N."""
    results = [re.fullmatch(r"((?:not )?ok) (\d+) - (.*)", line) for line in stdout.splitlines()]
    results = [match for match in results if match]
    assert [int(match.group(2)) for match in results] == list(range(1, len(results) + 1)), stdout
    return [f"{match.group(1)} - {match.group(3)}" for match in results]


def test_failures_are_one_line_each_with_field_expected_found_level_and_section(tmp_path):
    result = run_checker({"hostname": "not-this-host", "process": {"oomScoreAdj": 999}}, tmp_path=tmp_path)
    assert result.returncode == 0
    with open("/proc/self/oom_score_adj") as handle:
        oom_score_adj = handle.read().strip()  # inherited by the checker
    assert result.stderr.splitlines() == [
        f"process.oomScoreAdj: process.oomScoreAdj: expected 999, found {oom_score_adj} [MUST config.md#linux-process]",
        f'hostname: hostname: expected "not-this-host", found "{os.uname().nodename}" [MUST config.md#hostname]',
    ]
    # A check's number is its place among the checks that apply, which the order checks are
    # registered in decides: the tests ask for the verdict and consecutive numbers, not the place.
    assert "not ok - process.oomScoreAdj" in tap_by_check(result.stdout)


def test_names_select_checks_by_id_or_prefix(tmp_path):
    spec = {"hostname": "x", "process": {"cwd": "/", "args": ["a"]}}
    by_prefix = run_checker(spec, "process", tmp_path=tmp_path)
    assert "- process.args" in by_prefix.stdout and "- hostname" not in by_prefix.stdout
    by_id = run_checker(spec, "hostname", tmp_path=tmp_path)
    assert re.findall(r"ok \d+ - (\S+)", by_id.stdout) == ["spec.file", "hostname"]


def test_level_decides_which_failures_reach_stderr(tmp_path, monkeypatch):
    from runtimetest.core import registry
    from runtimetest.core.report import Reporter

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
    from runtimetest.checker import main as checker
    from runtimetest.core import registry
    from runtimetest.core.spec import Spec

    def explode(spec, result):
        raise ZeroDivisionError("boom")

    broken = registry.Check("demo.broken", registry.MUST, "config.md#demo", explode, None)
    result = checker.run_check(broken, Spec({}))
    assert result.failures == ["check raised ZeroDivisionError: boom"]


# runtime-tools' validation programs start the checker as `/runtimetest --path=/`
# (validation/util/test.go) and its own runtimetest also takes --compliance-level
# and --log-level (cmd/runtimetest/main.go): the checker accepts that command line.

def test_path_with_equals_or_as_two_arguments_reads_config_json(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hostname": "from-path"}))
    for args in ([f"--path={tmp_path}"], ["--path", str(tmp_path)], [f"-path={tmp_path}"], ["-path", str(tmp_path)]):
        result = runtimetest(*args, "hostname")
        assert result.returncode == 0, args
        assert '"from-path"' in result.stderr, args


def test_path_slash_joins_to_config_json_at_the_root():
    from runtimetest.checker.main import parse_args

    assert parse_args(["--path=/"]).spec_path == "/config.json"
    assert parse_args(["--path", "/"]).spec_path == "/config.json"


def test_path_naming_a_file_reads_that_file(tmp_path):
    # config_updates_without_affect passes --path=/test.json, a copy of the config saved before its edit
    saved = tmp_path / "test.json"
    saved.write_text(json.dumps({"hostname": "from-file"}))
    result = runtimetest(f"--path={saved}", "hostname")
    assert '"from-file"' in result.stderr


def test_compliance_level_takes_every_rfc2119_keyword_and_sets_the_level():
    from runtimetest.checker.main import parse_args

    expected = {"must": "must", "MUST": "must", "mustnot": "must", "MUST NOT": "must", "shall": "must",
                "shallnot": "must", "required": "must", "should": "should", "SHOULDNOT": "should",
                "recommended": "should", "notrecommended": "should", "may": "may", "optional": "may"}
    for value, level in expected.items():
        assert parse_args(["--compliance-level", value]).level == level, value
        assert parse_args([f"--compliance-level={value}"]).level == level, value
        assert parse_args([f"-compliance-level={value}"]).level == level, value
    assert parse_args([]).level == "must"


def test_compliance_level_decides_what_reaches_stderr_like_level(tmp_path, monkeypatch, capsys):
    from runtimetest.checker import main as checker
    from runtimetest.core import registry
    import runtimetest.checker.checks  # noqa: F401  importing registers every check

    def always_short(spec, result):
        result.fail("demo", 1, 2)

    monkeypatch.setattr(registry.CHECKER, "by_id", dict(registry.CHECKER.by_id))
    monkeypatch.setattr(registry, "CHECKS", list(registry.CHECKS))
    monkeypatch.setattr(checker, "CHECKS", registry.CHECKS)
    registry.CHECKS.append(registry.Check("demo.should", registry.SHOULD, "config.md#demo", always_short, None))
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    for value, on_stderr in (("must", False), ("MUST NOT", False), ("should", True), ("recommended", True),
                             ("optional", True)):
        assert checker.main(["--spec", str(spec), "--compliance-level", value, "demo.should"]) == 0
        out, err = capsys.readouterr()
        assert ("demo.should: demo: expected 1, found 2" in err) is on_stderr, value
        assert ("# TODO" in out) is not on_stderr, value


def test_log_level_is_accepted_and_changes_nothing(tmp_path):
    spec = {"hostname": "not-this-host"}
    plain = run_checker(spec, "hostname", tmp_path=tmp_path)
    for args in (["--log-level", "debug"], ["--log-level=error"], ["-log-level", "warn"]):
        logged = run_checker(spec, *args, "hostname", tmp_path=tmp_path)
        assert logged.returncode == 0, args
        assert (logged.stdout, logged.stderr) == (plain.stdout, plain.stderr), args


def test_harness_flags_with_bad_values_are_usage_errors():
    for args, message in ((["--compliance-level", "sometimes"], "--compliance-level must be an RFC 2119 keyword"),
                          (["--compliance-level"], "--compliance-level needs a value"),
                          (["--log-level", "loud"], "--log-level must be one of"),
                          (["--log-level"], "--log-level needs a value"),
                          (["--path="], "--path needs a value"),
                          (["-spec", "x"], "unknown option -spec")):
        result = runtimetest(*args)
        assert result.returncode == 2, args
        assert message in result.stderr, args


def test_the_command_line_of_their_harness_runs_the_checks(tmp_path):
    # the exact argv of validation/util/test.go, with the bundle's root standing in for /
    (tmp_path / "config.json").write_text(json.dumps({"hostname": os.uname().nodename}))
    result = runtimetest(f"--path={tmp_path}", "--compliance-level", "must", "--log-level", "error")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "TAP version 13" and re.fullmatch(r"1\.\.\d+", lines[1])
    assert "ok - hostname" in tap_by_check(result.stdout)
