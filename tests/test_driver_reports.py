"""What the driver prints and writes: plain lines in a log, a progress bar on a
terminal, the summary, and the TAP, JUnit and JSON reports."""

import io
import json
import re
import xml.etree.ElementTree as ElementTree

from runtimetest.driver import output, reports
from runtimetest.driver.cases.load import Case
from runtimetest.driver.children import Exit
from runtimetest.driver.runner import CaseResult

TAP_LINE = re.compile(r"^(TAP version 13|1\.\.\d+|(not )?ok \d+ - (\\#|[^#])+( # SKIP .*)?|  .*|# .*|Bail out! .*)$")


def result(name, status, seconds=0.5, reason="", details=(), code=0, memory=None, desc=""):
    case = Case(name, "/cases")
    case.desc = desc
    made = CaseResult(case)
    made.status, made.reason, made.details = status, reason, list(details)
    made.timings = {"create": seconds / 5, "start": seconds / 10, "run": seconds / 2, "cleanup": seconds / 5,
                    "total": seconds}
    made.exit = Exit.reported(code=code) if code is not None else None
    made.peak_memory = memory
    made.stderr = b"process.args: process.args: expected 1, found 2 [MUST config.md#process]\n" if status == "fail" else b""
    return made


RESULTS = [
    result("fast", "pass", 0.2, memory=20 * 2**20, desc="a # in a description"),
    result("slow", "pass", 3.0, memory=30 * 2**20),
    result("wrong", "fail", 1.0, reason="stderr line 1: first difference", details=["stderr line 1: first difference\n  x"]),
    result("hung", "timeout", 2.0, reason="still running after 1s: killed", code=None),
    result("broken", "error", 0.0, reason="case.json: not JSON"),
    result("newer", "skip", 0.0, reason="runc implements runtime-spec 1.0.2; this case needs 1.1.0"),
]


class FakeRuntime:
    name = "runc"
    program = "/usr/sbin/runc"

    def spec_version(self):
        return "1.0.2-dev"


def test_plain_output_is_one_line_per_case_and_ends_with_the_counts():
    out = io.StringIO()
    printer = output.Printer(out, len(RESULTS) + 1, tty=False)
    for made in RESULTS:
        printer.case_started(made.name)
        printer.case(made)
    printer.summary(RESULTS, total=len(RESULTS) + 1, interrupted=2, wall=7.5)
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("[1/7] PASS    fast  0.20s, exit 0, 20.0 MB  - a # in a description")
    assert any(line.startswith("[4/7] TIMEOUT hung") for line in lines)
    assert "interrupted by SIGINT: 1 case(s) not run" in lines
    assert any(line.startswith("  slowest cases: slow 3.00s, hung 2.00s, wrong 1.00s") for line in lines)
    assert any(line.startswith("  peak memory (container cgroup): average 25.0 MB, highest 30.0 MB (slow)")
               for line in lines)
    assert lines[-1] == "2 passed, 3 failed, 1 skipped"


def test_on_a_terminal_a_progress_bar_shows_the_counts_and_passes_are_not_listed():
    out = io.StringIO()
    printer = output.Printer(out, len(RESULTS), tty=True)
    for made in RESULTS:
        printer.case_started(made.name)
        printer.case(made)
    printer.summary(RESULTS, total=len(RESULTS))
    text = out.getvalue()
    assert "\r\x1b[K[" in text and "] 2/6  2 passed, 0 failed, 0 skipped" in text
    assert "PASS    fast" not in text and "FAIL    wrong" in text
    assert text.splitlines()[-1] == "2 passed, 3 failed, 1 skipped"


def test_the_summary_gives_totals_averages_and_the_slowest_per_phase():
    lines = output.summary_lines(RESULTS, total=6, wall=7.5)
    assert lines[0] == "ran 6 of 6 case(s) in 7.5s"
    create = next(line for line in lines if line.strip().startswith("create"))
    assert create.split()[1:] == ["1240", "ms", "207", "ms", "600", "ms", "(slow)"]


def test_tap_report_is_tap_13_with_one_test_per_case():
    lines = reports.tap_lines(RESULTS, interrupted=15)
    assert lines[:2] == ["TAP version 13", "1..6"]
    assert all(TAP_LINE.match(line) for line in lines), [line for line in lines if not TAP_LINE.match(line)]
    assert "ok 2 - fast - a \\# in a description" in lines
    assert "ok 4 - newer # SKIP runc implements runtime-spec 1.0.2; this case needs 1.1.0" in lines
    assert "not ok 6 - wrong" in lines and "not ok 3 - hung" in lines
    assert lines[-2:] == ["Bail out! interrupted by signal 15", "# 2 passed, 3 failed, 1 skipped"]


def test_junit_report_parses_and_counts_failures_errors_and_skips(tmp_path):
    path = tmp_path / "junit.xml"
    reports.write_junit(str(path), RESULTS, FakeRuntime(), not_run=["later"], wall=7.5, interrupted=2)
    suite = ElementTree.parse(path).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("7", "1", "2", "2")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["wrong"].find("failure").get("message") == "stderr line 1: first difference"
    assert "process.args: process.args" in cases["wrong"].find("system-err").text
    assert cases["hung"].find("error").get("type") == "timeout"
    assert cases["later"].find("skipped").get("message") == "not run: interrupted by signal 2"
    assert all(case.get("classname") == "runtimetest.runc" for case in cases.values())


def test_json_report_has_each_case_and_the_run(tmp_path):
    path = tmp_path / "report.json"
    reports.write_json(str(path), RESULTS, 6, FakeRuntime(), "/cases", wall=7.5, jobs=2)
    data = json.loads(path.read_text())
    assert data["summary"] == "2 passed, 3 failed, 1 skipped"
    assert data["run"]["phases"]["run"]["slowest"] == {"seconds": 1.5, "case": "slow"}
    assert data["run"]["slowest_cases"][0] == {"name": "slow", "seconds": 3.0}
    case = next(c for c in data["cases"] if c["name"] == "hung")
    assert case["status"] == "timeout" and case["exit_code"] is None
    assert set(case["timings"]) == {"create", "start", "run", "cleanup", "total"}
