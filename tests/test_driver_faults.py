"""Faults injected with the fake runtime: whatever the runtime does, the driver
bounds it, reports it, writes the results, and leaves nothing behind: no
container in the runtime's list, no process, no bundle, no record."""

import re
import signal
import time

import pytest

from conftest import requires_root
from fakes.harness import NOTHING, Fake, read_until, stop, wait_for

# The fake runs on the host without isolation, but the driver makes itself a
# subreaper and removes bundles as root would: run where the real tests run.
pytestmark = requires_root


@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    yield made
    made.clean()  # whatever a failing test left, from its own record directory only


def test_a_passing_and_a_failing_case_leave_nothing(fake):
    fake.case("passes", out="TAP version 13\n1..0\n")
    fake.case("fails", args=["/runtimetest", "--exit", "3"])
    run = fake.run()
    results, data = fake.results()
    assert results["passes"]["status"] == "pass"
    assert results["fails"]["status"] == "fail" and "expected 0, found exit 3" in results["fails"]["reason"]
    assert run.stdout.splitlines()[-1] == "1 passed, 1 failed, 0 skipped" and run.returncode == 1
    assert fake.leftovers() == NOTHING


@pytest.mark.parametrize("fault", ["hang-create", "hang-start"])
def test_a_hanging_command_is_a_bounded_runtime_fault(fake, fault):
    fake.case("hangs")
    run = fake.run(faults=[fault])
    results, _ = fake.results()
    case = results["hangs"]
    assert case["status"] == "error", case
    assert "did not finish in 2s (killed)" in case["reason"]
    assert run.stdout.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
    assert fake.leftovers() == NOTHING


@pytest.mark.parametrize("fault, step", [("hang-state", "state created"), ("hang-kill", "kill KILL")])
def test_a_hanging_state_or_kill_is_a_runtime_fault_and_is_cleaned_up(fake, fault, step):
    fake.case("steps", lifecycle=["create", step, "start"], exit="SIGKILL")
    fake.run(faults=[fault])
    results, _ = fake.results()
    case = results["steps"]
    assert case["status"] == "error" and case["reason"].startswith("runtime fault: "), case
    assert case["reason"].endswith("did not finish in 2s (killed)")
    assert [c["op"] for c in case["commands"]][:2] == ["create", step.split()[0]]  # no step after the hang
    assert any("did not finish in 2s" in line for line in case["outside_failures"]), case["outside_failures"]
    assert fake.leftovers() == NOTHING


def test_a_hanging_kill_at_the_timeout_still_ends_the_container(fake):
    fake.case("forever", args=["/runtimetest", "--sleep", "600"], timeout="1")
    fake.run(faults=["hang-kill", "stubborn"])
    results, _ = fake.results()
    assert results["forever"]["status"] == "timeout"
    assert fake.leftovers() == NOTHING


@pytest.mark.parametrize("fault", ["crash-create", "crash-start"])
def test_a_crashing_runtime_is_a_fault_and_its_container_is_removed(fake, fault):
    fake.case("crashes")
    fake.run(faults=[fault])
    results, _ = fake.results()
    case = results["crashes"]
    assert case["status"] == "error" and "killed by SIGSEGV" in case["reason"], case
    assert fake.leftovers() == NOTHING


def test_garbage_from_state_is_a_failure_of_that_step(fake):
    fake.case("garbage", lifecycle=["create", "state created"], exit="SIGKILL")
    fake.run(faults=["garbage-state"])
    results, _ = fake.results()
    [line] = results["garbage"]["outside_failures"]
    assert line.startswith("lifecycle.state: state: printed no JSON object (step 2 `state created`): ")
    assert fake.leftovers() == NOTHING


def test_a_never_exiting_container_times_out_with_what_it_printed(fake):
    fake.case("stubborn", args=["/runtimetest", "--echo-stdin", "--sleep", "600"], timeout="1",
              **{"in": "printed before the timeout\n"})
    run = fake.run(faults=["stubborn"])
    results, _ = fake.results()
    case = results["stubborn"]
    assert case["status"] == "timeout" and case["exit_signal"] == signal.SIGKILL
    assert case["stdout"] == "printed before the timeout\n"
    assert "TIMEOUT stubborn" in run.stdout and "printed before the timeout" in run.stdout
    assert fake.leftovers() == NOTHING


def test_a_container_the_runtime_will_not_delete_is_left_for_clean(fake):
    fake.case("kept")
    run = fake.run(faults=["no-delete"])
    results, _ = fake.results()
    assert results["kept"]["status"] == "error" and "left for `runtimetest clean`" in results["kept"]["reason"]
    assert "left for `runtimetest clean`: container" in run.stdout
    left = fake.leftovers()
    assert len(left["containers"]) == 1 and len(left["records"]) == 1 and left["processes"] == []
    cleaned = fake.clean()
    assert "1 container(s) removed" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert fake.leftovers() == NOTHING


def test_a_hanging_delete_is_bounded_and_left_for_clean(fake):
    fake.case("hangs-at-delete")
    fake.run(faults=["hang-delete"])
    results, _ = fake.results()
    assert "did not finish in 2s" in results["hangs-at-delete"]["reason"]
    assert len(fake.leftovers()["records"]) == 1
    fake.clean()
    assert fake.leftovers() == NOTHING


@pytest.mark.parametrize("fault, pattern", [
    ("wrong-pid", r'lifecycle\.state: state\.pid: expected \d+, found 1 \(the pid in --pid-file; '
                  r'step 2 `state created`\) \[MUST runtime\.md#state\]'),
    ("wrong-bundle", r'lifecycle\.state: state\.bundle: expected "/\S+", found "/somewhere/else" '
                     r'\(step 2 `state created`\) \[MUST runtime\.md#state\]'),
])
def test_a_runtime_whose_state_lies_fails_the_state_check(fake, fault, pattern):
    fake.case("lies", lifecycle=["create", "state created"], exit="SIGKILL")
    fake.run(faults=[fault])
    results, _ = fake.results()
    [found] = results["lies"]["outside_failures"]
    assert re.fullmatch(pattern, found), found
    assert fake.leftovers() == NOTHING


def test_a_runtime_that_starts_twice_fails_the_start_check(fake):
    fake.case("twice", args=["/runtimetest", "--sleep", "600"],
              lifecycle=["create", "start", "start fail"], exit="SIGKILL")
    fake.run(faults=["start-twice"])
    results, _ = fake.results()
    assert results["twice"]["outside_failures"] == [
        'lifecycle.start: start: expected "an error", found "success" (step 3 `start fail`: the container is '
        'not created) [MUST runtime.md#start]']
    assert fake.leftovers() == NOTHING


def sleepers(fake, count=3):
    fake.case("a-quick")
    for index in range(count):
        fake.case(f"b-sleeps-{index}", args=["/runtimetest", "--sleep", "600"], timeout="300")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_cleans_up_and_still_reports(fake, sig):
    sleepers(fake)
    driver = fake.start("-j", "2")
    try:
        read_until(driver, lambda line: "PASS    a-quick" in line)
        wait_for(lambda: len(fake.running_containers()) == 2)
        started = time.monotonic()
        driver.send_signal(sig)
        out, err = driver.communicate(timeout=60)
    finally:
        stop(driver)
    assert driver.returncode == 128 + sig, err
    assert time.monotonic() - started < 30
    lines = out.splitlines()
    assert lines[-1] == "1 passed, 2 failed, 0 skipped", out
    assert any(line.startswith(f"interrupted by {signal.Signals(sig).name}: 1 case(s) not run") for line in lines)
    results, data = fake.results()
    assert results["a-quick"]["status"] == "pass"
    assert data["interrupted_by_signal"] == sig and data["not_run"] == ["b-sleeps-2"]
    assert all(results[f"b-sleeps-{i}"]["reason"] == "cancelled before it finished" for i in (0, 1))
    assert fake.leftovers() == NOTHING


def test_ctrl_c_does_not_wait_for_a_hanging_command(fake):
    fake.case("hangs")
    driver = fake.start(faults=["hang-create"], command_timeout=600)
    try:
        wait_for(lambda: len(fake._lines("pids")) >= 2)  # the hanging create and its child
        started = time.monotonic()
        driver.send_signal(signal.SIGINT)
        out, _ = driver.communicate(timeout=60)
    finally:
        stop(driver)
    assert time.monotonic() - started < 30  # far less than the 600 s the command was allowed
    assert driver.returncode == 130 and out.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
    assert fake.leftovers() == NOTHING


def test_clean_removes_what_a_killed_driver_left(fake):
    stop(fake.start_sleeper(), signal.SIGKILL)
    left = fake.leftovers(wait=0)
    assert len(left["containers"]) == 1 and len(left["processes"]) == 1 and len(left["bundles"]) == 1
    assert len(left["records"]) == 1
    cleaned = fake.clean()
    assert "removed container rtt-sleeps-" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert fake.leftovers() == NOTHING


def test_clean_leaves_the_records_of_live_drivers_alone(fake):
    driver = fake.start_sleeper()
    try:
        cleaned = fake.clean()
        assert "0 container(s) removed" in cleaned.stdout
        assert len(fake.running_containers()) == 1
        driver.send_signal(signal.SIGTERM)
        driver.communicate(timeout=60)
    finally:
        stop(driver)
    assert fake.leftovers() == NOTHING


def test_every_report_is_written_and_the_cases_can_be_listed(fake, tmp_path):
    fake.case("passes", desc="a case that passes")
    fake.case("fails", args=["/runtimetest", "--exit", "4"])
    fake.case("broken", lifecycle="explode\n")
    tap, junit = tmp_path / "report.tap", tmp_path / "report.xml"
    run = fake.run("--tap", str(tap), "--junit", str(junit))
    assert run.stdout.splitlines()[-1] == "1 passed, 2 failed, 0 skipped"
    assert tap.read_text().splitlines()[:3] == ["TAP version 13", "1..3", "not ok 1 - broken"]
    assert "<testsuite " in junit.read_text() and 'failures="1" errors="1"' in junit.read_text()
    listed = fake.run("--list", "-k", "ail")
    assert listed.stdout.splitlines() == ["fails", "1 case(s)"] and listed.returncode == 0
    everything = fake.run("--list")
    assert "passes  a case that passes" in everything.stdout
    assert "broken  ERROR " in everything.stdout and "broken.lifecycle: line 1: unknown step" in everything.stdout
    assert fake.leftovers() == NOTHING
