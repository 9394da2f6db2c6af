"""process.scheduler, ioPriority, execCPUAffinity and linux.personality, from source on this host.

The checker is started under chrt, nice, ionice, taskset and setarch: the
attributes those set are what a runtime would have set, read by the same
syscalls. (In containers: the *-by-hook cases in spec-fixtures, and crun for
LINUX32.)
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from runtimetest.checker.checks import scheduling


def checker_under(prefix, spec, names, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return subprocess.run([*prefix, sys.executable, "-m", "runtimetest", "--spec", str(path), *names],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_batch_policy_and_nice(tmp_path):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    spec = {"process": {"scheduler": {"policy": "SCHED_BATCH", "nice": base + 5}}}
    result = checker_under(["chrt", "--batch", "0", "nice", "-n", "5"], spec, ["process.scheduler"], tmp_path)
    assert result.stderr == "" and "ok 2 - process.scheduler" in result.stdout
    spec = {"process": {"scheduler": {"policy": "SCHED_IDLE", "nice": base}}}
    result = checker_under(["chrt", "--batch", "0", "nice", "-n", "5"], spec, ["process.scheduler"], tmp_path)
    assert result.stderr.splitlines() == [
        'process.scheduler: process.scheduler.policy: expected "SCHED_IDLE", found "SCHED_BATCH" [MUST config.md#linux-process]',
        f"process.scheduler: process.scheduler.nice: expected {base}, found {base + 5} [MUST config.md#linux-process]"]


def test_reset_on_fork_flag_is_reported_back(tmp_path):
    spec = {"process": {"scheduler": {"policy": "SCHED_BATCH", "flags": ["SCHED_FLAG_RESET_ON_FORK"]}}}
    result = checker_under(["chrt", "--reset-on-fork", "--batch", "0"], spec, ["process.scheduler"], tmp_path)
    assert result.stderr == ""
    result = checker_under(["chrt", "--batch", "0"], spec, ["process.scheduler"], tmp_path)
    assert "process.scheduler.flags: expected [\"SCHED_FLAG_RESET_ON_FORK\"], found []" in result.stderr


def test_io_priority_class_and_level(tmp_path):
    spec = {"process": {"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 3}}}
    assert checker_under(["ionice", "-c", "2", "-n", "3"], spec, ["process.ioPriority"], tmp_path).stderr == ""
    result = checker_under(["ionice", "-c", "2", "-n", "5"], spec, ["process.ioPriority"], tmp_path)
    assert result.stderr == ("process.ioPriority: process.ioPriority.priority: expected 3, found 5 "
                             "[MUST config.md#linux-process]\n")
    idle = {"process": {"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 7}}}
    assert checker_under(["ionice", "-c", "3"], idle, ["process.ioPriority"], tmp_path).stderr == ""


def test_exec_cpu_affinity(tmp_path):
    spec = {"process": {"execCPUAffinity": {"final": "0"}}}
    assert checker_under(["taskset", "-c", "0"], spec, ["process.execCPUAffinity"], tmp_path).stderr == ""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no other affinity to compare with")
    result = checker_under([], spec, ["process.execCPUAffinity"], tmp_path)
    assert result.stderr.startswith('process.execCPUAffinity.final: process.execCPUAffinity.final: expected "0", found "0-')
    assert scheduling.format_cpu_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="LINUX32 is checked on x86_64 here")
def test_linux32_personality_and_the_syscall_table_under_it(tmp_path):
    spec = {"linux": {"personality": {"domain": "LINUX32"}},
            "process": {"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 2}}}
    # uname(2) says i686 under LINUX32: the syscall numbers must still be x86_64's.
    result = checker_under(["setarch", "i686", "ionice", "-c", "2", "-n", "2"], spec,
                           ["linux.personality", "process.ioPriority"], tmp_path)
    assert result.stderr == ""
    result = checker_under([], spec, ["linux.personality"], tmp_path)
    assert result.stderr == ('linux.personality: linux.personality.domain: expected "LINUX32", found "LINUX" '
                             "(/proc/self/personality 0x0000) [MUST config-linux.md#personality]\n")


def test_cpu_lists():
    assert scheduling.parse_cpu_list("0-3,7, 9") == [0, 1, 2, 3, 7, 9]
    with pytest.raises(ValueError):
        scheduling.parse_cpu_list("zero")


def test_bad_values_in_the_spec_are_named(tmp_path):
    spec = {"process": {"scheduler": {"policy": "SCHED_FAST"}, "ioPriority": {"class": "IOPRIO_CLASS_X"}},
            "linux": {"personality": {"domain": "LINUX64"}}}
    result = checker_under([], spec, ["process.scheduler", "process.ioPriority", "linux.personality"], tmp_path)
    assert result.stderr.splitlines() == [
        "process.scheduler: process.scheduler.policy: 'SCHED_FAST' is not a scheduling policy [MUST config.md#linux-process]",
        "process.ioPriority: process.ioPriority.class: 'IOPRIO_CLASS_X' is not an I/O scheduling class [MUST config.md#linux-process]",
        "linux.personality: linux.personality.domain: 'LINUX64' is not an execution domain (LINUX, LINUX32) "
        "[MUST config-linux.md#personality]"]
