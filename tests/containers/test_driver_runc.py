"""The driver with real runc containers: parallel runs give the serial verdicts,
and a signal to the driver leaves no container in runc's list."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, ROOT, case_names, requires_root, runtimetest
from fakes.harness import read_until, stop, wait_for

pytestmark = requires_root


# What differs between two runs of one case by design: its container id, its private paths,
# the inodes of its namespaces and files, its processes' ids.
PER_RUN = ((re.compile(r"rtt-[A-Za-z0-9_.-]*?-[0-9a-f]{10}\b"), "rtt-ID"),
           (re.compile(r"/tmp/runtimetest-[a-z]+-[A-Za-z0-9_]+"), "/tmp/runtimetest-TMP"),
           (re.compile(r":\[\d+\]"), ":[INODE]"),
           (re.compile(r"\b(\d+:\d+):\d+\b"), r"\1:INODE"),
           (re.compile(r"\bprocess \d+"), "process PID"))


def same_in_every_run(text):
    for pattern, stand_in in PER_RUN:
        text = pattern.sub(stand_in, text)
    return text


def verdicts(report):
    """Each case's verdict as the driver gave it: status, reason, exit, and every failure line
    (the container's stderr and the driver's own), ids and private paths aside."""
    return {case["name"]: (case["status"], same_in_every_run(case["reason"]), case["exit_code"], case["exit_signal"],
                           same_in_every_run(case["stderr"]),
                           tuple(same_in_every_run(line) for line in case["outside_failures"]))
            for case in json.loads(report.read_text())["cases"]}


def test_serial_and_parallel_runs_give_the_same_verdicts(checker_binary, tmp_path):
    reports = {}
    for jobs in ("1", "2"):
        reports[jobs] = tmp_path / f"j{jobs}.json"
        run = runtimetest("suite", "-j", jobs, "--json", str(reports[jobs]), "--state-dir", str(tmp_path / "records"),
                          FIXTURES)
        assert reports[jobs].exists(), run.stdout + run.stderr
    serial, parallel = verdicts(reports["1"]), verdicts(reports["2"])
    differ = sorted(name for name in serial if serial[name] != parallel.get(name))
    assert differ == [], "\n".join(f"{name}:\n  -j1 {serial[name]}\n  -j2 {parallel.get(name)}" for name in differ)
    assert sorted(serial) == sorted(parallel) == case_names(FIXTURES)


def runc_ids():
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_driver_leaves_no_runc_container(checker_binary, tmp_path, sig):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a-quick.json").write_text("{}")
    for name in ("b-waits", "c-waits"):
        (cases / f"{name}.json").write_text("{}")
        (cases / f"{name}.args").write_text("/runtimetest\n--await-signal\n600\n")
        (cases / f"{name}.timeout").write_text("300\n")
    report = tmp_path / "report.json"
    driver = subprocess.Popen([sys.executable, "-m", "runtimetest", "suite", "-j", "2", "--json", str(report),
                               "--state-dir", str(tmp_path / "records"), str(cases)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_until(driver, lambda line: "a-quick" in line and "PASS" in line)
        wait_for(lambda: sum(cid.startswith(("rtt-b-waits-", "rtt-c-waits-")) for cid in runc_ids()) == 2)
        started = time.monotonic()
        driver.send_signal(sig)
        out, err = driver.communicate(timeout=60)
    finally:
        stop(driver)
    assert driver.returncode == 128 + sig, err
    assert time.monotonic() - started < 30
    assert out.splitlines()[-1] == "1 passed, 2 failed, 0 skipped"
    data = json.loads(report.read_text())
    ids = {case["container_id"] for case in data["cases"]}
    assert {case["status"] for case in data["cases"]} == {"pass", "error"}
    assert ids.isdisjoint(runc_ids())
    assert not list((tmp_path / "records").iterdir())


def test_an_empty_cgroup_left_by_a_runtime_is_removed_and_a_busy_one_is_not(tmp_path):
    from runtimetest.driver import cgroups

    hierarchy = tmp_path / "pids"
    (hierarchy / "runtimetest" / "gone").mkdir(parents=True)
    (hierarchy / "runtimetest" / "busy" / "child").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup {hierarchy} cgroup rw,pids 0 0\ntmpfs /tmp tmpfs rw 0 0\n")
    assert cgroups.remove_empty("/runtimetest/gone", str(mounts)) == [str(hierarchy / "runtimetest" / "gone")]
    assert cgroups.remove_empty("/runtimetest/busy", str(mounts)) == []
    assert (hierarchy / "runtimetest" / "busy").exists()
    assert cgroups.remove_empty("/", str(mounts)) == [] and cgroups.remove_empty("relative", str(mounts)) == []
