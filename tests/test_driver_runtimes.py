"""runtimetest/driver/runtimes/: each runtime's adapter, its quirks and what it decides a
case cannot show (real crun and runsc runs: tests/containers/test_runtimes_crun_runsc.py)."""

import pytest

from runtimetest.driver import cgroups
from runtimetest.driver.runtimes import Crun, Runc, Runsc, Runtime, resolve, rules
from runtimetest.driver.runtimes.rules import (cgroup_requests, hooks_of_their_own, is_driver_cgroups_path,
                                               mount_options_runsc_refuses)
from runtimetest.driver.runtimes.runsc import network_mode


class NoChildren:
    pass


def test_the_adapter_is_chosen_by_name_or_given(tmp_path):
    program = tmp_path / "my-runtime"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert type(resolve(str(program), NoChildren())) is Runtime
    assert type(resolve(str(program), NoChildren(), adapter="runsc")) is Runsc
    assert type(resolve("runc", NoChildren())) is Runc


@pytest.mark.parametrize("text, mode", [
    ("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", "v2"),
    ("tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
     "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n", "hybrid"),
    ("tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n", "v1"),
])
def test_cgroup_modes(tmp_path, text, mode):
    mounts = tmp_path / "mounts"
    mounts.write_text(text)
    assert cgroups.mode(str(mounts)) == mode


def test_runsc_takes_its_network_from_the_namespaces():
    assert network_mode({"linux": {"namespaces": [{"type": "network"}]}}) == "none"
    assert network_mode({"linux": {"namespaces": [{"type": "pid"}]}}) == "host"
    assert network_mode({"linux": {"namespaces": [{"type": "network", "path": "/run/netns/x"}]}}) == "sandbox"


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


def test_crun_on_a_hybrid_host_runs_without_cgroups_and_skips_what_asks_of_them(hybrid_crun, monkeypatch):
    # crun refuses hybrid cgroups: it runs in a mount namespace of its own managing none, so a
    # case whose config or told spec asks anything of cgroups cannot be judged (the base rule aside).
    assert hybrid_crun.prefix()[:2] == ["unshare", "--mount"]
    assert "--cgroup-manager=disabled" in hybrid_crun.global_args(None)
    assert hybrid_crun.host_facts() == {"org.runtimetest.cgroup-limits": "not applied: " + Crun.CGROUPS_OFF}
    assert hybrid_crun.cannot_run(config(), config()) is None
    limited = config(resources={"pids": {"limit": 10}, **BASE_RULE})
    assert hybrid_crun.cannot_run(limited) == (
        "crun refuses hybrid cgroups, so it runs here with --cgroup-manager=disabled: cgroup limits are not "
        "applied, nor device rules nor the cgroup path (this case sets linux.resources.pids)")
    told = config(resources={"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}], **BASE_RULE})
    reason = hybrid_crun.cannot_run(config(), told)
    assert "cgroup limits are not applied" in reason and "linux.resources.hugepageLimits" in reason
    told = config(cgroupsPath="/runtimetest/elsewhere")
    assert "linux.cgroupsPath" in hybrid_crun.cannot_run(config(), told)
    assert "linux.resources.devices" in hybrid_crun.cannot_run(
        config(resources={"devices": [{"allow": True, "type": "c", "major": 42, "access": "rw"}]}))
    monkeypatch.setattr(cgroups, "mode", lambda: "v2")
    plain = Crun("/usr/bin/crun", NoChildren())
    plain._spec_version = "1.0.0"
    assert plain.prefix() == [] and plain.cannot_run(limited) is None


def test_crun_skips_empty_labels_of_modules_that_are_off(hybrid_crun, monkeypatch):
    monkeypatch.setitem(rules.LABEL_MODULES, "process.selinuxLabel", lambda: False)
    monkeypatch.setitem(rules.LABEL_MODULES, "process.apparmorProfile", lambda: False)
    empty = dict(config(), process={"selinuxLabel": "", "apparmorProfile": ""})
    assert "empty process.selinuxLabel and process.apparmorProfile" in hybrid_crun.cannot_run(empty)
    monkeypatch.setitem(rules.LABEL_MODULES, "process.selinuxLabel", lambda: True)
    monkeypatch.setitem(rules.LABEL_MODULES, "process.apparmorProfile", lambda: True)
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


def test_runsc_cannot_run_mount_options_gvisor_does_not_parse():
    config = {"mounts": [{"destination": "/a", "type": "tmpfs", "options": ["nosuid", "size=40%", "rro"]},
                         {"destination": "/b", "type": "bind", "options": ["rbind", "rprivate", "rnoexec"]},
                         {"destination": "/c", "type": "tmpfs", "options": ["size=1m", "relatime", "rw"]}]}
    assert mount_options_runsc_refuses(config) == ["size=40%", "rro", "rnoexec"]
    assert mount_options_runsc_refuses({"mounts": config["mounts"][2:]}) == []
