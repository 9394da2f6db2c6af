"""runtime-tools' validation programs with our checker as their runtimetest (tests/peer/runtime_tools.py).

The side-by-side run itself needs root, a runtime-tools checkout (RUNTIME_TOOLS=DIR;
it comes from GitHub, which CI cannot reach) and Go 1.23: without them it SKIPs
saying which is missing, and `make peer-runtime-tools` is the documented way.
The reading of verdicts and the expectations file are tested here on any host.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CHECKER, ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "peer"))
import runtime_tools  # noqa: E402

SCRIPT = os.path.join(ROOT, "tests", "peer", "runtime_tools.py")


def tap(*lines):
    return "".join(line + "\n" for line in lines)


def test_an_empty_stdout_is_no_plan_not_a_pass():
    assert runtime_tools.judge("", 0, False)["verdict"] == "no-plan"
    assert runtime_tools.judge("", 1, False)["verdict"] == "no-plan"
    assert runtime_tools.judge(tap("TAP version 13", "ok 1 - a"), 0, False)["verdict"] == "no-plan"


def test_verdicts_from_plan_tests_and_exit_status():
    judge = runtime_tools.judge
    assert judge(tap("TAP version 13", "ok 1 - a", "ok 2 - b", "1..2"), 0, False)["verdict"] == "pass"
    assert judge(tap("TAP version 13", "ok 1 - a", "not ok 2 - b", "1..2"), 0, False)["verdict"] == "fail"
    assert judge(tap("1..1", "ok 1 - a"), 1, False)["verdict"] == "fail"
    assert judge(tap("1..1", "not ok 1 - a # TODO later"), 0, False)["verdict"] == "pass"
    assert judge(tap("1..0 # SKIP no hugetlb"), 0, False)["verdict"] == "skip"
    assert judge(tap("1..2", "ok 1 # SKIP x", "ok 2 # skip y"), 0, False)["verdict"] == "skip"
    assert judge(tap("1..1", "ok 1 - a"), -9, True)["verdict"] == "timeout"
    assert judge(tap("1..2", "ok 1 - a", "not ok 2 - b"), 0, False)["failed"] == ["b"]


def test_runtimetest_runs_embedded_in_diagnostics_must_each_give_a_plan():
    # what validation/util/test.go writes for each inner run: its own ok line, then a JSON block
    good = json.dumps({"stdout": "TAP version 13\nok 1 - x\nnot ok 2 - y\n1..2\n", "stderr": ""}, indent=2)
    empty = json.dumps({"stdout": "", "stderr": "runtimetest: cannot start\n"}, indent=2)
    stream = tap("TAP version 13", "  ---", *("  " + line for line in good.splitlines()), "  ...",
                 "ok 1 - first", "  ---", *("  " + line for line in empty.splitlines()), "  ...",
                 "ok 2 - second", "1..2")
    result = runtime_tools.judge(stream, 0, False)
    assert result["verdict"] == "no-plan"
    assert (result["embedded_runs"], result["embedded_plans"]) == (2, 1)
    assert result["inner_failures"] == ["y"]
    assert runtime_tools.judge(stream.replace('"stdout": ""', '"stdout": "1..0\\n"'), 0, False)["verdict"] == "pass"


def row(program, theirs, ours, their_plan=True, our_plan=True, checker_runs=1):
    def side(verdict, plan):
        return {"verdict": verdict, "plan": plan, "exit": 0, "embedded_runs": 0, "embedded_plans": 0,
                "inner_failures": [], "checker_runs": checker_runs}
    return {"program": program, "theirs": side(theirs, their_plan), "ours": side(ours, our_plan)}


def test_a_disagreement_where_no_runtimetest_ran_is_timing_not_a_problem():
    rows = [row("pidfile", "pass", "fail", checker_runs=0), row("mounts", "pass", "fail", checker_runs=1)]
    assert [runtime_tools.unexpected(r, {}) for r in rows] == [False, True]
    problems = runtime_tools.compare(rows, {})
    assert rows[0]["class"] == "race" and "no container of this program ran a runtimetest" in rows[0]["reason"]
    assert [p.split(":")[0] for p in problems] == ["mounts"]


def test_the_runtime_wrapper_notes_which_creates_run_the_runtimetest(tmp_path):
    # a stand-in runtime that records its argv: the wrapper must pass everything through after --root
    runtime = tmp_path / "fake-runtime"
    runtime.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/argv\n")
    runtime.chmod(0o755)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "rootfs-amd64.tar.gz").write_bytes(b"")
    checker = tmp_path / "checker"
    checker.write_bytes(b"")
    sandbox = runtime_tools.Sandbox(str(tmp_path / "runs"), "ours", str(checker), str(checkout), str(runtime))
    open(sandbox.creates, "w").close()
    for n, args in enumerate((["/runtimetest", "--path=/"], ["sh", "-c", "true"], None)):
        bundle = tmp_path / f"bundle{n}"
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps({"process": {"args": args} if args else None}))
        subprocess.run([sandbox.wrapper, "create", "--pid-file", "p", "--bundle", str(bundle), f"id{n}"], check=True)
    subprocess.run([sandbox.wrapper, "state", "id0"], check=True)
    assert sandbox.checker_runs() == 1
    calls = (tmp_path / "argv").read_text().splitlines()
    assert calls[0] == f"--root {sandbox.state} create --pid-file p --bundle {tmp_path}/bundle0 id0"
    assert calls[-1] == f"--root {sandbox.state} state id0"


def test_every_disagreement_must_be_listed_with_its_verdicts(tmp_path):
    listed = tmp_path / "expected.txt"
    listed.write_text("# comment\nprocess_rlimits fail pass their-false-alarm RLIMIT_NOFILE is raised by Go\n"
                      "linux_devices pass fail our-false-alarm ENXIO\n")
    expected = runtime_tools.load_expectations(str(listed))
    rows = [row("process_rlimits", "fail", "pass"), row("hostname", "pass", "pass"),
            row("linux_devices", "pass", "pass"), row("mounts", "pass", "fail"),
            row("default", "pass", "no-plan", our_plan=False)]
    problems = runtime_tools.compare(rows, expected)
    assert rows[0]["reason"] == "RLIMIT_NOFILE is raised by Go" and rows[0]["class"] == "their-false-alarm"
    assert "now both pass" in rows[2]["note"]
    assert [p.split(":")[0] for p in problems] == ["mounts", "default", "default"]
    assert "ours gives none" in problems[2]


def test_a_racy_program_may_give_any_verdicts_but_a_plan_is_still_required(tmp_path):
    listed = tmp_path / "expected.txt"
    listed.write_text("killsig * * racy signals before the trap is set, every now and then\n")
    expected = runtime_tools.load_expectations(str(listed))
    rows = [row("killsig", "fail", "pass"), row("killsig", "pass", "fail"), row("killsig", "pass", "pass"),
            row("killsig", "pass", "no-plan", our_plan=False)]
    assert [runtime_tools.unexpected(r, expected) for r in rows] == [False, False, False, True]
    problems = runtime_tools.compare(rows, expected)
    assert rows[0]["class"] == rows[2]["class"] == "racy"
    assert len(problems) == 1 and "ours gives none" in problems[0]


def test_a_malformed_expectations_file_is_an_error(tmp_path):
    bad = tmp_path / "expected.txt"
    bad.write_text("mounts passes fail x y\n")
    with pytest.raises(runtime_tools.SetupError, match="expected.txt:1"):
        runtime_tools.load_expectations(str(bad))


def test_the_committed_expectations_file_is_well_formed():
    expected = runtime_tools.load_expectations(runtime_tools.DEFAULT_EXPECTATIONS)
    for program, (theirs, ours, kind, reason) in expected.items():
        assert theirs != ours or theirs == "*", program
        assert kind in ("their-false-alarm", "our-false-alarm", "runc-fault", "their-gap", "racy"), program
        assert (kind == "racy") == (theirs == ours == "*"), program
        assert len(reason) > 20, program


def test_without_a_checkout_it_says_how_to_get_one():
    result = subprocess.run([sys.executable, SCRIPT, "--runtime-tools", ""], capture_output=True, text=True,
                            env=dict(os.environ, RUNTIME_TOOLS=""), timeout=60)
    assert result.returncode == 2
    if os.geteuid() == 0:
        assert "git clone https://github.com/opencontainers/runtime-tools" in result.stderr
        assert "RUNTIME_TOOLS=" in result.stderr


def _why_not_run():
    if os.geteuid() != 0:
        return "runtime-tools' programs create containers: needs root"
    checkout = os.environ.get("RUNTIME_TOOLS")
    if not checkout:
        return ("no runtime-tools checkout: set RUNTIME_TOOLS=/path/to/runtime-tools "
                "(git clone https://github.com/opencontainers/runtime-tools; not reachable from CI)")
    try:
        runtime_tools.find_checkout(checkout)
        runtime_tools.find_go(None, runtime_tools.go_version_needed(os.path.abspath(checkout)))
    except runtime_tools.SetupError as error:
        return str(error).splitlines()[0]
    if not shutil.which("runc"):
        return "runc is not installed"
    return None


@pytest.mark.skipif(_why_not_run() is not None, reason=str(_why_not_run()))
def test_our_checker_stands_in_for_theirs_in_every_program(tmp_path, checker_binary):
    report = tmp_path / "peer.json"
    work_dir = os.environ.get("PEER_WORK_DIR", os.path.join(ROOT, ".peer", "runtime-tools"))
    result = subprocess.run([sys.executable, SCRIPT, "--runtime-tools", os.environ["RUNTIME_TOOLS"],
                             "--checker", checker_binary, "--work-dir", work_dir, "--json", str(report),
                             "--table", str(tmp_path / "table.md")],
                            capture_output=True, text=True, timeout=3600)
    assert report.exists(), result.stderr
    data = json.loads(report.read_text())
    assert len(data["results"]) >= 50, "runtime-tools has about 58 validation programs"
    no_plan = [r["program"] for r in data["results"] if r["theirs"]["plan"] and not r["ours"]["plan"]]
    assert not no_plan, f"our checker gave no TAP plan where theirs did: {no_plan}"
    assert not data["problems"], "\n".join(data["problems"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.listdir(os.path.join(work_dir, "runs", "ours", "tmp")) == [], "bundles left behind"
