"""The namespace and id-mapping checks, run from source on this host with host facts.

This process's own namespaces stand for the runtime's: an annotation equal to
them says "the runtime's", any other inode says "another namespace".
"""

import os

from runtimetest.checker.main import run_check
from runtimetest.checker.checks import idmap, namespaces
from runtimetest.core.registry import CHECKER
from runtimetest.core.spec import Spec

NS = {"network": "net", "ipc": "ipc", "uts": "uts", "pid": "pid"}


def own(kind):
    return os.stat(f"/proc/self/ns/{NS[kind]}").st_ino


def host_facts(**inodes):
    return {f"org.runtimetest.host.ns.{kind}": str(inode) for kind, inode in inodes.items()}


def run(check_id, data):
    return run_check(CHECKER.by_id[check_id], Spec(data))


def test_an_unlisted_namespace_must_be_the_runtimes():
    data = {"linux": {"namespaces": []}, "annotations": host_facts(ipc=own("ipc"))}
    assert run("linux.namespaces.ipc", data).status == "pass"
    data["annotations"] = host_facts(ipc=own("ipc") + 1)
    assert run("linux.namespaces.ipc", data).failures == [
        f'linux.namespaces: expected "ipc:[{own("ipc") + 1}]", found "ipc:[{own("ipc")}]" '
        "(ipc is not listed: the runtime's namespace is inherited)"]


def test_a_listed_namespace_without_path_must_be_new():
    data = {"linux": {"namespaces": [{"type": "uts"}]}, "annotations": host_facts(uts=own("uts"))}
    assert run("linux.namespaces.uts", data).failures == [
        f'linux.namespaces[0]: expected "a new uts namespace", found "uts:[{own("uts")}]" (the runtime\'s own)']
    data["annotations"] = host_facts(uts=1)
    assert run("linux.namespaces.uts", data).status == "pass"


def test_a_namespace_given_a_path_must_be_exactly_that_one():
    entry = {"type": "network", "path": "/run/netns/x"}
    data = {"linux": {"namespaces": [{"type": "pid"}, entry]},
            "annotations": {"org.runtimetest.host.nspath.network": str(own("network"))}}
    assert run("linux.namespaces.network", data).status == "pass"
    data["annotations"]["org.runtimetest.host.nspath.network"] = "12345"
    assert run("linux.namespaces.network", data).failures == [
        f'linux.namespaces[1].path: expected "net:[12345]", found "net:[{own("network")}]" (the namespace at /run/netns/x)']


def test_a_path_the_driver_could_not_resolve_is_a_skip_with_its_reason():
    data = {"linux": {"namespaces": [{"type": "ipc", "path": "/nope"}]},
            "annotations": {"org.runtimetest.host.nspath.ipc": "cannot stat: No such file or directory"}}
    result = run("linux.namespaces.ipc", data)
    assert result.status == "skip" and "cannot stat: No such file or directory" in result.skip_reason


def test_without_host_facts_what_cannot_be_seen_is_a_skip():
    result = run("linux.namespaces.ipc", {"linux": {"namespaces": [{"type": "ipc"}]}})
    assert result.status == "skip" and "org.runtimetest.host.ns.ipc" in result.skip_reason


def test_without_host_facts_a_user_namespace_is_a_skip_whatever_the_map():
    # A non-identity map is also what a rootless runtime's own namespace has.
    for listed in ([{"type": "user"}], []):
        result = run("linux.namespaces.user", {"linux": {"namespaces": listed}})
        assert result.status == "skip" and "/proc/self/uid_map" in result.skip_reason


def test_a_runtime_in_a_user_namespace_of_its_own_is_not_a_new_one(tmp_path):
    # A rootless runtime: the process inherits the runtime's own (non-identity) user namespace.
    import subprocess
    import sys

    spec = tmp_path / "spec.json"
    spec.write_text('{"linux": {"namespaces": []}}')
    done = subprocess.run(["unshare", "--user", "--map-root-user", sys.executable, "-m", "runtimetest",
                           "--spec", str(spec), "linux.namespaces.user"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.stderr == "" and "# SKIP" in done.stdout and "[[0, 0, 1]]" in done.stdout, done.stdout


def test_without_host_facts_pid_1_decides_the_pid_namespace():
    # pytest is not pid 1 and pid 1 here is no shim running these args: the runtime's namespace.
    new = {"linux": {"namespaces": [{"type": "pid"}]}, "process": {"args": ["/runtimetest"]}}
    assert run("linux.namespaces.pid", new).failures == [
        f'linux.namespaces[0]: expected "a new pid namespace", found "the runtime\'s (the process the runtime '
        f'started is pid {os.getpid()}, and pid 1 is not an init shim running process.args)"'.replace("\'", "'")]
    inherited = run("linux.namespaces.pid", {"linux": {"namespaces": []}})
    assert inherited.status == "pass" and "is not an init shim" in inherited.notes[0]
    joined = {"linux": {"namespaces": [{"type": "pid", "path": "/proc/1/ns/pid"}]}}
    result = run("linux.namespaces.pid", joined)
    assert result.status == "skip" and result.skip_reason.startswith("not a new pid namespace")


def fake_processes(monkeypatch, table):
    """pid -> (ppid, argv) stands for /proc; the checker is the highest pid."""
    from runtimetest.checker import container

    monkeypatch.setattr(container, "pid", lambda: max(table))
    monkeypatch.setattr(container, "parent_of", lambda pid: table[pid][0])
    monkeypatch.setattr(container, "cmdline", lambda pid: table[pid][1])


def test_an_init_shim_running_process_args_is_the_started_process(monkeypatch):
    args = ["/run/podman-init", "--", "/runtimetest"]
    fake_processes(monkeypatch, {1: (0, args), 2: (1, ["/runtimetest"])})
    data = {"linux": {"namespaces": [{"type": "pid"}]}, "process": {"args": args}}
    result = run("linux.namespaces.pid", data)
    assert result.status == "pass" and "an init shim" in result.notes[0]
    assert run("process.args", data).status == "pass"
    joined = {"linux": {"namespaces": [{"type": "pid", "path": "/proc/9/ns/pid"}]}, "process": {"args": args}}
    assert run("linux.namespaces.pid", joined).failures == [
        'linux.namespaces[0].path: expected "the pid namespace at /proc/9/ns/pid", found "a new one (pid 1 runs '
        'process.args (an init shim) and the checker, pid 2, descends from it)"']
    # pid 1 running other args is not the process the runtime started.
    other = {"linux": {"namespaces": [{"type": "pid"}]}, "process": {"args": ["/runtimetest", "-x"]}}
    assert run("linux.namespaces.pid", other).status == "fail"
    assert run("process.args", other).failures == [
        'process.args: expected ["/runtimetest", "-x"], found ["/runtimetest"]']


CGROUP_V1_RUNTIME = """\
9:name=systemd:/libpod_parent/libpod-1a2b
8:pids:/libpod_parent/libpod-1a2b
4:memory:/libpod_parent/libpod-1a2b
0::/libpod_parent/libpod-1a2b
"""
CGROUP_NEW_NS = "9:name=systemd:/\n8:pids:/\n4:memory:/\n0::/\n"


def test_without_host_facts_proc_self_cgroup_decides_the_cgroup_namespace(monkeypatch, tmp_path):
    proc_cgroup = tmp_path / "cgroup"
    monkeypatch.setattr(namespaces, "PROC_CGROUP", str(proc_cgroup))
    new = {"linux": {"namespaces": [{"type": "cgroup"}]}}
    inherited = {"linux": {"namespaces": []}}
    proc_cgroup.write_text(CGROUP_NEW_NS)
    assert run("linux.namespaces.cgroup", new).status == "pass"
    failures = run("linux.namespaces.cgroup", inherited).failures
    assert len(failures) == 1 and failures[0].startswith(
        'linux.namespaces: expected "the runtime\'s cgroup namespace", found "a new one (/proc/self/cgroup shows')
    unmanaged = dict(inherited, annotations={"org.runtimetest.cgroup-limits": "not applied: crun"})
    assert run("linux.namespaces.cgroup", unmanaged).status == "skip"
    proc_cgroup.write_text(CGROUP_V1_RUNTIME)
    assert run("linux.namespaces.cgroup", inherited).status == "pass"
    assert run("linux.namespaces.cgroup", new).status == "fail"
    proc_cgroup.write_text("0::/../elsewhere\n")
    assert run("linux.namespaces.cgroup", new).status == "skip"


def test_network_evidence_reads_the_namespaces_device_list(tmp_path):
    dev = tmp_path / "dev"
    dev.write_text("Inter-|   Receive\n face |bytes\n    lo: 0 0\n  eth0: 1 2\n")
    assert namespaces.network_devices(str(dev)) == ["eth0", "lo"]


def test_a_type_listed_twice_is_a_failure():
    data = {"linux": {"namespaces": [{"type": "ipc"}, {"type": "ipc"}]}}
    assert run("linux.namespaces.ipc", data).failures == [
        "linux.namespaces: ipc is listed 2 times (the runtime MUST generate an error for duplicated types)"]


def test_a_path_of_the_wrong_type_names_the_field():
    data = {"linux": {"namespaces": [{"type": "ipc", "path": 7}]}}
    assert run("linux.namespaces.ipc", data).failures == ["linux.namespaces[0].path: spec field should be a string, found 7"]


def test_namespace_checks_need_a_linux_spec():
    assert not CHECKER.by_id["linux.namespaces.pid"].applies_to(Spec({"process": {}}))
    assert CHECKER.by_id["linux.namespaces.pid"].applies_to(Spec({"linux": {}}))


def test_id_mappings_compare_whole_lines_in_any_order():
    with open("/proc/self/uid_map") as handle:
        mine = [[int(f) for f in line.split()] for line in handle]
    data = {"linux": {"uidMappings": [{"containerID": c, "hostID": h, "size": s} for c, h, s in reversed(mine)]}}
    assert run("linux.uidMappings", data).status == "pass"
    data = {"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}
    assert run("linux.uidMappings", data).failures == [
        f"linux.uidMappings: expected [[0, 1000, 1]], found {mine} (/proc/self/uid_map: containerID hostID size)".replace("'", '"')]


def test_time_offsets_file_by_name_or_clock_id(tmp_path):
    path = tmp_path / "offsets"
    path.write_text("monotonic 86400 0\nboottime 0 5\n")
    assert idmap.read_time_offsets(str(path)) == {"monotonic": (86400, 0), "boottime": (0, 5)}
    path.write_text("1 7 0\n7 0 0\n")
    assert idmap.read_time_offsets(str(path)) == {"monotonic": (7, 0), "boottime": (0, 0)}
    assert idmap.read_time_offsets(str(tmp_path / "absent")) is None


def test_an_unknown_clock_is_reported():
    result = run("linux.timeOffsets", {"linux": {"timeOffsets": {"realtime": {"secs": 1}}}})
    assert result.failures == ["linux.timeOffsets.realtime: not a clock a time namespace offsets (monotonic, boottime)"]
