"""What the crun and runsc adapters decide a case cannot show, and real runs of both here."""

import json
import re
import shutil

import pytest

from conftest import FIXTURES, requires_root, run_suite, runtimetest
from runtimetest.driver import cgroups
from runtimetest.driver.runtimes import adapters as runtime
from runtimetest.driver.runtimes.adapters import Crun, Runsc, cgroup_requests, hooks_of_their_own, is_driver_cgroups_path


class NoChildren:
    pass


BASE_RULE = {"devices": [{"allow": False, "access": "rwm"}]}
DRIVER_PATH = "/runtimetest/rtt-uts-hostname-0123456789"


def config(**linux):
    return {"ociVersion": "1.0.2", "linux": {"resources": dict(BASE_RULE), "cgroupsPath": DRIVER_PATH, **linux}}


def test_cgroup_requests_leave_out_the_base_rule_and_the_drivers_path():
    assert cgroup_requests(config()) == set()
    assert cgroup_requests(config(resources={"pids": {"limit": 5}, **BASE_RULE})) == {"linux.resources.pids"}
    assert cgroup_requests(config(resources={"devices": [{"allow": True, "access": "rwm"}]})) == \
        {"linux.resources.devices"}
    own_path = config(cgroupsPath="/runtimetest/cgroups-path-rtt-cgroups-path-0123456789")
    assert cgroup_requests(own_path) == {"linux.cgroupsPath"}
    assert is_driver_cgroups_path(DRIVER_PATH)
    assert not is_driver_cgroups_path("/runtimetest-rtt-x-0123456789")
    assert cgroup_requests({"linux": "not an object"}) == set()


@pytest.fixture
def hybrid_crun(monkeypatch):
    monkeypatch.setattr(cgroups, "mode", lambda: "hybrid")
    crun = Crun("/usr/bin/crun", NoChildren())
    crun._spec_version = "1.0.0"
    return crun


def test_crun_skips_what_the_told_spec_asks_of_its_cgroups(hybrid_crun):
    assert hybrid_crun.cannot_run(config(), config()) is None
    told = config(resources={"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}], **BASE_RULE})
    reason = hybrid_crun.cannot_run(config(), told)
    assert "cgroup limits are not applied" in reason and "linux.resources.hugepageLimits" in reason
    told = config(cgroupsPath="/runtimetest/elsewhere")
    assert "linux.cgroupsPath" in hybrid_crun.cannot_run(config(), told)
    assert "linux.resources.devices" in hybrid_crun.cannot_run(
        config(resources={"devices": [{"allow": True, "type": "c", "major": 42, "access": "rw"}]}))


def test_crun_skips_empty_labels_of_modules_that_are_off(hybrid_crun, monkeypatch):
    monkeypatch.setitem(runtime.LABEL_MODULES, "process.selinuxLabel", lambda: False)
    monkeypatch.setitem(runtime.LABEL_MODULES, "process.apparmorProfile", lambda: False)
    empty = dict(config(), process={"selinuxLabel": "", "apparmorProfile": ""})
    assert "empty process.selinuxLabel and process.apparmorProfile" in hybrid_crun.cannot_run(empty)
    monkeypatch.setitem(runtime.LABEL_MODULES, "process.selinuxLabel", lambda: True)
    monkeypatch.setitem(runtime.LABEL_MODULES, "process.apparmorProfile", lambda: True)
    assert hybrid_crun.cannot_run(empty) is None
    labelled = dict(config(), process={"selinuxLabel": "system_u:system_r:container_t:s0"})
    assert hybrid_crun.cannot_run(labelled) is None


@pytest.fixture
def runsc():
    adapter = Runsc("/usr/bin/runsc", NoChildren())
    adapter._spec_version = "1.0.2-dev"
    return adapter


def test_runsc_skips_cgroup_settings_the_container_cannot_see(runsc):
    assert runsc.cannot_run(config(), config()) is None
    reason = runsc.cannot_run(config(resources={"memory": {"limit": 1 << 26}, **BASE_RULE}))
    assert "sandbox's cgroup on the host" in reason and "linux.resources.memory" in reason
    assert "linux.resources.pids" in runsc.cannot_run(config(), config(resources={"pids": {"limit": 9}}))


def test_runsc_skips_hooks_that_act_through_the_states_pid(runsc):
    checker_hook = {"path": "/runtimetest", "args": ["runtimetest", "--hook", "x"]}
    shell_hook = {"path": "/bin/sh", "args": ["sh", "-c", "taskset -p -c 0 $pid"]}
    hooked = dict(config(), hooks={"createRuntime": [checker_hook, shell_hook], "createContainer": [shell_hook]})
    assert hooks_of_their_own(hooked) == ["hooks.createRuntime[1] /bin/sh"]
    assert "sandbox's on the host" in runsc.cannot_run(hooked)
    assert runsc.cannot_run(dict(config(), hooks={"poststop": [checker_hook]})) is None


def run_cases(runtime_name, tmp_path, *names):
    report = tmp_path / "report.json"
    run = runtimetest("suite", "--runtime", runtime_name, "--json", str(report),
                      "--state-dir", str(tmp_path / "records"), FIXTURES, *names)
    assert report.exists(), run.stdout + run.stderr
    return {case["name"]: case for case in json.loads(report.read_text())["cases"]}


@requires_root
@pytest.mark.skipif(shutil.which("runsc") is None, reason="runsc is not installed")
def test_the_checker_reads_gvisors_kernel_without_crashing(checker_binary, tmp_path):
    cases = run_cases("runsc", tmp_path, "uts-hostname", "personality-linux", "process-user", "terminal-console")
    for name, case in cases.items():
        assert "check raised" not in case["stderr"], (name, case["stderr"])
    tap = cases["uts-hostname"]["stdout"]
    for check_id in ("process.capabilities.bounding", "process.capabilities.ambient", "mounts.source",
                     "linux.resources.devices", "root.readonly", "linux.readonlyPaths"):
        assert re.search(rf"^(not )?ok \d+ - {re.escape(check_id)}( # SKIP .+)?$", tap, re.M), check_id
    # What gVisor's kernel does show is judged, not skipped: the capability sets, the umask.
    assert not re.search(r"process\.capabilities\.bounding # SKIP", tap)
    assert not re.search(r"process\.user\.umask # SKIP", cases["process-user"]["stdout"])
    assert re.search(r"linux\.personality( # SKIP .+)?$", cases["personality-linux"]["stdout"], re.M)


@requires_root
@pytest.mark.skipif(shutil.which("crun") is None, reason="crun is not installed")
def test_crun_without_cgroups_passes_linux_devices_and_skips_the_allow_list(checker_binary, tmp_path):
    if cgroups.mode() != "hybrid":
        pytest.skip("cgroups are not hybrid here: crun applies the device rules")
    cases = run_cases("crun", tmp_path, "devices", "device-access", "lsm-empty-labels")
    assert cases["devices"]["status"] == "pass", cases["devices"]["details"]
    assert "linux.resources.devices # SKIP the runtime was run without cgroup management" in cases["devices"]["stdout"]
    assert cases["device-access"]["status"] == "skip" and "linux.resources.devices" in cases["device-access"]["reason"]
    assert cases["lsm-empty-labels"]["status"] == "skip"


def test_runsc_cannot_run_mount_options_gvisor_does_not_parse():
    from runtimetest.driver.runtimes.adapters import mount_options_runsc_refuses

    config = {"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["nosuid", "size=40%", "rro"]},
                         {"destination": "/b", "type": "bind", "options": ["rbind", "rprivate", "rnoexec"]},
                         {"destination": "/c", "type": "tmpfs", "options": ["size=1m", "relatime", "rw"]}]}
    assert mount_options_runsc_refuses(config) == ["size=40%", "rro", "rnoexec"]
    assert mount_options_runsc_refuses({"mounts": config["mounts"][2:]}) == []


@requires_root
@pytest.mark.skipif(shutil.which("crun") is None, reason="crun is not installed")
def test_crun_is_never_handed_the_hosts_dev_null(tmp_path):
    """crun 1.8.1 chowns its stdin to the container's user (containers/crun#1845): with a
    terminal in a user namespace, the host's /dev/null would become host uid 101000."""
    import os

    before = os.stat("/dev/null")
    try:
        report = run_suite(FIXTURES, tmp_path, "--state-dir", str(tmp_path / "state"), "-k", "terminal-userns",
                           runtime="crun")
    finally:
        after = os.stat("/dev/null")
        if (after.st_uid, after.st_gid) != (before.st_uid, before.st_gid):
            os.chown("/dev/null", before.st_uid, before.st_gid)
    assert report["by_name"]["terminal-userns"]["status"] == "pass"
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid), "the host's /dev/null changed owner"
