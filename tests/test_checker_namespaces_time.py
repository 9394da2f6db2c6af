"""linux.timeOffsets and the time namespace against a real time namespace.

No runtime here creates time namespaces (runc 1.1.5 does not know the type,
crun 1.8.1 fails to start one), so the static checker is run on the host under
unshare(1) --time with offsets, in place of a container: what it reads,
/proc/self/timens_offsets and /proc/self/ns/time, is the kernel's all the same.
"""

import json
import os
import subprocess

import pytest

from conftest import requires_root

pytestmark = [requires_root, pytest.mark.skipif(not os.path.exists("/proc/self/ns/time"),
                                                 reason="this kernel has no time namespaces")]


def run_in_time_namespace(checker, tmp_path, offsets, told):
    spec = {"linux": {"namespaces": [{"type": "time"}], "timeOffsets": told},
            "annotations": {"org.runtimetest.host.ns.time": str(os.stat("/proc/self/ns/time").st_ino)}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    flags = [f"--{clock}={offset}" for clock, offset in offsets.items()]
    return subprocess.run(["unshare", "--time", *flags, "--fork", checker, "--spec", str(path),
                           "linux.timeOffsets", "linux.namespaces.time"],
                          capture_output=True, text=True, timeout=60)


def test_offsets_of_a_real_time_namespace_pass(checker_binary, tmp_path):
    result = run_in_time_namespace(checker_binary, tmp_path, {"monotonic": 86400, "boottime": 3600},
                                   {"monotonic": {"secs": 86400}, "boottime": {"secs": 3600, "nanosecs": 0}})
    assert result.stderr == ""
    assert "ok 2 - linux.namespaces.time\n" in result.stdout
    assert "ok 3 - linux.timeOffsets\n" in result.stdout


def test_other_offsets_fail_with_one_line_each(checker_binary, tmp_path):
    result = run_in_time_namespace(checker_binary, tmp_path, {"monotonic": 86400},
                                   {"monotonic": {"secs": 100}, "boottime": {"secs": 7}})
    assert result.stderr.splitlines() == [
        'linux.timeOffsets: linux.timeOffsets.boottime: expected {"nanosecs": 0, "secs": 7}, '
        'found {"nanosecs": 0, "secs": 0} (/proc/self/timens_offsets) [MUST config-linux.md#offset-for-time-namespace]',
        'linux.timeOffsets: linux.timeOffsets.monotonic: expected {"nanosecs": 0, "secs": 100}, '
        'found {"nanosecs": 0, "secs": 86400} (/proc/self/timens_offsets) [MUST config-linux.md#offset-for-time-namespace]',
    ]


def test_the_runtimes_time_namespace_is_not_a_new_one(checker_binary, tmp_path):
    spec = {"linux": {"namespaces": [{"type": "time"}]},
            "annotations": {"org.runtimetest.host.ns.time": str(os.stat("/proc/self/ns/time").st_ino)}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = subprocess.run([checker_binary, "--spec", str(path), "linux.namespaces.time"],
                            capture_output=True, text=True, timeout=60)
    assert result.stderr.startswith('linux.namespaces.time: linux.namespaces[0]: expected "a new time namespace", found "time:[')
