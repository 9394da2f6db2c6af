"""The binary's hook and await-signal modes, and how the driver prepares and
judges hooks (the real-runc judgement is in spec-fixtures/hooks-*)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, runtimetest
from runtimetest.driver.outside import hookplan
from runtimetest.driver.bundle import write_bundle


def records(directory):
    return [json.loads((directory / name).read_text()) for name in sorted(os.listdir(directory))]


def test_hook_mode_records_what_it_was_given_and_exits_as_told(tmp_path):
    state = {"ociVersion": "1.0.2", "id": "rtt-x", "status": "creating", "pid": os.getpid(), "bundle": "/b"}
    run = runtimetest("--hook", "label-1", "--record", str(tmp_path), "--exit", "3", "an extra word",
                      input=json.dumps(state), env={"PATH": os.environ["PATH"], "HOOK": "yes"})
    assert run.returncode == 3 and run.stderr == ""
    [record] = records(tmp_path)
    assert record["label"] == "label-1" and record["planned"] == {"exit": 3, "sleep": 0.0}
    assert record["argv"][-7:] == ["--hook", "label-1", "--record", str(tmp_path), "--exit", "3", "an extra word"]
    assert "HOOK=yes" in record["env"]
    assert json.loads(record["stdin"]) == state
    assert record["state_pid_cmdline"][:1] == [open(f"/proc/{os.getpid()}/cmdline").read().split("\0")[0]]
    assert record["namespaces"]["mnt"] == os.readlink("/proc/self/ns/mnt")
    assert record["finished"] >= record["started"]


def test_hook_mode_usage_errors_exit_2():
    for args, message in ((["--hook"], "--hook needs a value"), (["--hook", "x", "--exit", "many"], "not a number")):
        run = runtimetest(*args, input="")
        assert run.returncode == 2 and message in run.stderr


def test_the_checker_does_not_import_the_helper_modes():
    code = "import sys, runtimetest.checker.main; print('runtimetest.checker.hooks' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.strip() == "False", run.stderr


def test_an_aborted_hook_leaves_a_record_without_a_finish(checker_binary, tmp_path):
    """A hook timeout kills the process the runtime started: the binary itself, nothing outlives it."""
    hook = subprocess.Popen([checker_binary, "--hook", "slow", "--record", str(tmp_path), "--sleep", "60"],
                            stdin=subprocess.PIPE, start_new_session=True)
    try:
        hook.stdin.close()
        deadline = time.monotonic() + 30
        while not os.listdir(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(hook.pid, signal.SIGKILL)  # only the top process, as a runtime's timeout does
        assert hook.wait(10) == -signal.SIGKILL
        [record] = records(tmp_path)
        assert record["finished"] is None and record["top"] == record["pid"] == hook.pid
        assert subprocess.run(["pgrep", "-s", str(hook.pid)], capture_output=True).stdout == b""
    finally:
        try:
            os.killpg(hook.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_await_signal_reports_the_signal_and_exits_128_plus_it(checker_binary):
    waiting = subprocess.Popen([checker_binary, "--await-signal", "60"], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert waiting.stdout.readline() == "awaiting signals\n"
        waiting.send_signal(signal.SIGTERM)
        assert waiting.wait(30) == 128 + signal.SIGTERM
        assert waiting.stdout.read() == "received SIGTERM\n"
    finally:
        if waiting.poll() is None:
            os.killpg(waiting.pid, signal.SIGKILL)


def hook(label, *extra, **fields):
    return {"path": "/runtimetest", "args": ["runtimetest", "--hook", label, *extra], **fields}


@pytest.mark.parametrize("version, hooks, expected", [
    ("1.0.2", {"createRuntime": [hook("a", "--exit", "1")]}, "create"),
    ("1.0.2", {"startContainer": [hook("a", "--sleep", "5", timeout=1)]}, "start"),
    ("1.0.2", {"startContainer": [hook("a", "--sleep", "0.5", timeout=1)]}, None),
    ("1.0.2", {"poststart": [hook("a", "--exit", "1")]}, None),
    ("1.3.0", {"poststart": [hook("a", "--exit", "1")]}, "start"),
    ("1.0.2", {"poststop": [hook("a", "--exit", "1")], "prestart": [{"path": "/bin/false"}]}, None),
])
def test_which_operation_failing_hooks_must_stop(version, hooks, expected):
    assert hookplan.expected_failure({"ociVersion": version, "hooks": hooks}) == expected


def test_prepare_points_hooks_at_the_bundle_and_mounts_the_records_for_container_hooks(tmp_path):
    config = {"root": {"path": "rootfs"}, "mounts": [],
              "hooks": {"createRuntime": [hook("cr")], "startContainer": [hook("sc")],
                        "poststop": [{"path": "/bin/true"}]}}
    spec = json.loads(json.dumps(config))
    checker = tmp_path / "checker"
    checker.write_text("")
    bundle = write_bundle(config, spec, str(checker), parent=str(tmp_path))
    records_dir = hookplan.prepare(config, spec, bundle)
    for document in (config, spec):
        created = document["hooks"]["createRuntime"][0]
        started = document["hooks"]["startContainer"][0]
        assert created["path"] == bundle.rootfs + "/runtimetest"
        assert created["args"][-2:] == ["--record", records_dir]
        assert started["path"] == "/runtimetest" and started["args"][-2:] == ["--record", "/.runtimetest-hooks"]
        assert document["hooks"]["poststop"] == [{"path": "/bin/true"}]
        assert document["mounts"] == [{"destination": "/.runtimetest-hooks", "type": "bind", "source": records_dir,
                                       "options": ["rbind", "rw"]}]
    assert os.path.isdir(bundle.rootfs + "/.runtimetest-hooks")


def test_prepare_changes_a_config_that_is_also_the_spec_once(tmp_path):
    config = {"root": {"path": "rootfs"}, "mounts": [], "hooks": {"createContainer": [hook("cc")]}}
    checker = tmp_path / "checker"
    checker.write_text("")
    bundle = write_bundle(config, config, str(checker), parent=str(tmp_path))
    hookplan.prepare(config, config, bundle)
    assert config["hooks"]["createContainer"][0]["args"].count("--record") == 1
    assert len(config["mounts"]) == 1
