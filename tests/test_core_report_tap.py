"""The checker's and the driver's TAP, read by the readers CI uses: `prove`
(Perl's YAMLish) and PyYAML. Every YAML block must parse and hold its keys;
the stderr lines (the contract) stay as they were."""

import io
import shutil

from conftest import FIXTURES, case_directory, requires_root, run_checker, runtimetest
from tap_readers import assert_prove_reads, perl_read, tappy_blocks, yaml_blocks
from runtimetest.core.registry import MUST, SHOULD, Check, Result
from runtimetest.core.report import Reporter, failure_line
from runtimetest.driver import reports
from test_driver_reports import RESULTS, result

HOSTILE = "a 'quote', a \"double\", a \\ backslash, a: colon, - dash, # hash, ESC \x1b, NEL \x85, LS \u2028, tab \t"


def made_check(id, level=MUST, section="config.md#process"):
    return Check(id, level, section, lambda spec, result: None, None)


def results():
    """One of each verdict the checker writes: pass, skip, failures of both kinds, a failure below --level."""
    passed = Result(made_check("process.cwd"))
    skipped = Result(made_check("process.rlimits"))
    skipped.skip_reason = "cannot be decided here: no # allowed"
    compared = Result(made_check("hostname", section="config.md#hostname"))
    compared.fail("hostname", "x", "vm")
    compared.fail("hostname", HOSTILE, None, why="a why: with colon")
    problem = Result(made_check("spec.file"))
    problem.problem("spec.file: not JSON: Expecting value: line 1")
    below = Result(made_check("process.oomScoreAdj", level=SHOULD))
    below.fail("process.oomScoreAdj", 1, 2)
    return [passed, skipped, compared, problem, below]


def write_checker_tap(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    reporter = Reporter(out, err, MUST)
    made = results()
    reporter.plan(len(made))
    for number, verdict in enumerate(made, 1):
        reporter.record(number, verdict)
    reporter.summary()
    path = tmp_path / "checker.tap"
    path.write_text(out.getvalue())
    return path, err.getvalue()


def test_prove_reads_the_checkers_tap_and_counts_a_failure_below_level_as_todo(tmp_path):
    path, _ = write_checker_tap(tmp_path)
    assert_prove_reads(path, tests=5, failed=2)
    read = perl_read(path)
    assert read["parse_errors"] == [] and read["plan"] == "1..5"
    assert [(t["ok"], t["todo"], t["skip"]) for t in read["tests"]] == [
        (1, 0, 0), (1, 0, 1), (0, 0, 0), (0, 0, 0), (1, 1, 0)]


def test_each_yaml_block_holds_the_failure_lines_and_their_parts_for_perl_and_pyyaml(tmp_path):
    path, stderr = write_checker_tap(tmp_path)
    perl = {t["number"]: t["yaml"] for t in perl_read(path)["tests"] if t["yaml"]}
    python = yaml_blocks(path.read_text())
    assert perl == python == tappy_blocks(path.read_text()) and set(python) == {3, 4, 5}
    compared = python[3]
    assert (compared["level"], compared["section"]) == ("MUST", "config.md#hostname")
    assert compared["reference"].endswith("/config.md#hostname")
    first, second = compared["failures"]
    assert first == {"line": 'hostname: hostname: expected "x", found "vm" [MUST config.md#hostname]',
                     "field": "hostname", "expected": '"x"', "found": '"vm"'}
    assert second["found"] == "null" and second["why"] == "a why: with colon"
    assert "a 'quote'" in second["expected"] and "\\u001b" in second["expected"]
    # The lines of failures at or above --level are stderr's, one for one.
    lines = [f["line"] for block in (python[3], python[4]) for f in block["failures"]]
    assert lines == stderr.splitlines()
    assert python[4]["failures"] == [{"line": "spec.file: spec.file: not JSON: Expecting value: line 1 [MUST config.md#process]"}]
    assert python[5]["level"] == "SHOULD" and python[5]["failures"][0]["expected"] == "1"


def test_characters_yaml_cannot_hold_are_escaped_and_the_rest_kept(tmp_path):
    check = made_check("x")
    verdict = Result(check)
    verdict.problem(HOSTILE)
    out = io.StringIO()
    reporter = Reporter(out, io.StringIO(), MUST)
    reporter.plan(1)
    reporter.record(1, verdict)
    path = tmp_path / "hostile.tap"
    path.write_text(out.getvalue())
    line = yaml_blocks(out.getvalue())[1]["failures"][0]["line"]
    assert line == perl_read(path)["tests"][0]["yaml"]["failures"][0]["line"]
    assert line == failure_line(check, HOSTILE).replace("\x1b", "\\x1b").replace("\x85", "\\x85") \
        .replace("\u2028", "\\u2028").replace("\t", "\\t")


def test_prove_and_pyyaml_read_the_drivers_tap(tmp_path):
    odd = result("odd", "error", reason=HOSTILE, details=["  indented first: line\n\n  x: y\n..."])
    odd.stderr = b"bad \xff byte: and 'quote'\n"
    path = tmp_path / "driver.tap"
    path.write_text("".join(line + "\n" for line in reports.tap_lines(RESULTS + [odd])))
    assert_prove_reads(path, tests=7, failed=4)
    perl = {t["number"]: t["yaml"] for t in perl_read(path)["tests"] if t["yaml"]}
    python = yaml_blocks(path.read_text())
    assert untyped(python) == perl and python == tappy_blocks(path.read_text()) and len(python) == 4
    by_status = {block["status"]: block for block in python.values()}
    assert by_status["fail"]["details"] == [{"line": "stderr line 1: first difference"}, {"line": "  x"}]
    assert by_status["fail"]["stderr"][0]["line"].startswith("process.args: process.args: expected 1")
    assert "exit" not in by_status["timeout"] and by_status["fail"]["exit"] == "exit 0"
    odd_block = python[5]
    assert [item["line"] for item in odd_block["details"]] == ["  indented first: line", "", "  x: y", "..."]
    assert odd_block["reason"].startswith("a 'quote', a \"double\", a \\ backslash, a: colon")
    assert odd_block["stderr"] == [{"line": "bad \ufffd byte: and 'quote'"}] and odd_block["stderr_lines"] == 1


def test_prove_reads_a_tap_report_of_a_passing_run(tmp_path):
    path = tmp_path / "passing.tap"
    path.write_text("".join(line + "\n" for line in reports.tap_lines([RESULTS[0], RESULTS[1], RESULTS[5]])))
    assert_prove_reads(path, tests=3, failed=0)


def test_the_checker_on_this_host_writes_tap_prove_reads(tmp_path):
    spec = {"ociVersion": "1.0.2", "hostname": "not-this-host-\x1b", "process": {"cwd": "/nowhere", "args": ["a"]}}
    run = run_checker(spec, tmp_path=tmp_path)
    path = tmp_path / "host.tap"
    path.write_text(run.stdout)
    read = perl_read(path)
    failed = [t for t in read["tests"] if not t["ok"]]
    assert read["parse_errors"] == [] and len(failed) >= 3
    assert_prove_reads(path, tests=len(read["tests"]), failed=len(failed))
    blocks = yaml_blocks(run.stdout)
    lines = [f["line"] for t in failed for f in blocks[t["number"]]["failures"]]
    assert lines == run.stderr.splitlines()


def untyped(data):
    """PyYAML's data as YAMLish gives it: numbers as the text they were written as (3 decimals)."""
    if isinstance(data, dict):
        return {key: untyped(value) for key, value in data.items()}
    if isinstance(data, list):
        return [untyped(value) for value in data]
    if isinstance(data, float):
        return f"{data:.3f}"
    return str(data) if isinstance(data, int) else data


def copy_case(name, into, **replace):
    directory = case_directory(name)
    for path in sorted(shutil.os.listdir(directory)):
        if path.startswith(name + "."):
            shutil.copy(shutil.os.path.join(directory, path), into / path)
    for suffix, text in replace.items():
        (into / f"{name}.{suffix}").write_text(text)


@requires_root
def test_prove_reads_the_real_checkers_and_the_drivers_tap_of_a_runc_run(checker_binary, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    copy_case("uts-hostname", cases)
    copy_case("capabilities-negative", cases)
    (cases / "uts-hostname-wrong.json").write_text('{"hostname": "conformance"}')
    (cases / "uts-hostname-wrong.err").write_text('hostname: hostname: expected "elsewhere", found "conformance" '
                                                 '[MUST config.md#hostname]\n')
    tap, report = tmp_path / "suite.tap", tmp_path / "suite.json"
    run = runtimetest("suite", "--tap", str(tap), "--json", str(report), "--state-dir", str(tmp_path / "state"),
                      "-j", "2", str(cases))
    assert run.stdout.splitlines()[-1] == "2 passed, 1 failed, 0 skipped", run.stdout
    assert_prove_reads(tap, tests=3, failed=1)
    assert yaml_blocks(tap.read_text())[3]["status"] == "fail"
    import json

    by_name = {case["name"]: case for case in json.loads(report.read_text())["cases"]}
    passing = tmp_path / "passing-checker.tap"
    passing.write_text(by_name["uts-hostname"]["stdout"])
    assert_prove_reads(passing, tests=len(perl_read(passing)["tests"]), failed=0)
    negative = by_name["capabilities-negative"]
    failing = tmp_path / "failing-checker.tap"
    failing.write_text(negative["stdout"])
    read = perl_read(failing)
    assert_prove_reads(failing, tests=len(read["tests"]), failed=4)
    blocks = yaml_blocks(negative["stdout"])
    lines = [f["line"] for t in read["tests"] if not t["ok"] for f in blocks[t["number"]]["failures"]]
    assert lines == negative["stderr"].splitlines()
    assert {f["field"] for t in read["tests"] if not t["ok"] for f in blocks[t["number"]]["failures"]} == {
        "process.capabilities.bounding", "process.capabilities.effective", "process.capabilities.inheritable",
        "process.capabilities.permitted"}
