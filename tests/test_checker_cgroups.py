"""The cgroup reader and the linux.resources checks, on fake cgroup v1 and v2 trees.

Each tree is built in tmp_path with the /proc/self/cgroup and mountinfo a
container would have, and the checks read it through CgroupReader(root, proc).
"""

import os

import pytest

from runtimetest.checker.main import run_check
from runtimetest.checker.checks.cgroups import common, cpu, probes
from runtimetest.linux.cgroupfs import CgroupReader, CgroupUnavailable
from runtimetest.core.registry import CHECKER
from runtimetest.core.spec import Spec

PATH = "/runtimetest/c1"
V1_CONTROLLERS = ["cpu,cpuacct", "cpuset", "memory", "pids", "blkio"]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v1_tree(tmp_path, files, mount_root=PATH, extra_membership=""):
    """A v1 container view: each hierarchy mounted at root/<controllers>, showing `mount_root`."""
    root, proc = tmp_path / "cgroup", tmp_path / "proc"
    mountinfo, membership = [], []
    for number, controllers in enumerate(V1_CONTROLLERS, 1):
        point = root / controllers
        directory = point / os.path.relpath(PATH, mount_root) if mount_root != PATH else point
        directory.mkdir(parents=True, exist_ok=True)
        mountinfo.append(f"{70 + number} 72 0:{28 + number} {mount_root} {point} ro,nosuid - cgroup cgroup rw,{controllers}")
        membership.append(f"{number}:{controllers}:{PATH}")
    membership.append(f"0::{PATH}")
    write(proc / "mountinfo", "\n".join(mountinfo) + "\n")
    write(proc / "cgroup", "\n".join(membership) + extra_membership + "\n")
    for name, text in files.items():
        controller = name.split(".")[0]
        hierarchy = next(c for c in V1_CONTROLLERS if controller in c.split(","))
        directory = root / hierarchy
        if mount_root != PATH:
            directory = directory / PATH.lstrip("/")
        write(directory / name, text + "\n")
    return CgroupReader(str(root), str(proc))


def v2_tree(tmp_path, files, controllers="cpu io memory pids cpuset hugetlb", v1_lines=""):
    """A v2 container view: the whole cgroup2 hierarchy at root, the container's cgroup under it."""
    root, proc = tmp_path / "cgroup", tmp_path / "proc"
    own = root / PATH.lstrip("/")
    own.mkdir(parents=True)
    write(proc / "mountinfo", f"95 94 0:38 / {root} ro,nosuid - cgroup2 cgroup2 rw\n")
    write(proc / "cgroup", v1_lines + f"0::{PATH}\n")
    write(own / "cgroup.controllers", controllers + "\n")
    for name, text in files.items():
        write(own / name, text + "\n")
    return CgroupReader(str(root), str(proc))


@pytest.fixture
def run(monkeypatch):
    def run(reader, check_id, data):
        monkeypatch.setattr(common, "_reader", reader)
        return run_check(CHECKER.by_id[check_id], Spec(data))
    return run


def resources(**fields):
    return {"linux": {"resources": fields}}


# -- finding the container's cgroup ------------------------------------------------

def test_v1_reads_the_hierarchy_mounted_at_the_containers_cgroup(tmp_path):
    reader = v1_tree(tmp_path, {"memory.limit_in_bytes": "4096"})
    group = reader.cgroup("memory")
    assert (group.version, group.path) == (1, str(tmp_path / "cgroup" / "memory"))
    assert group.read("memory.limit_in_bytes") == "4096"
    assert reader.cgroup("cpuacct").path == str(tmp_path / "cgroup" / "cpu,cpuacct")


def test_v1_mount_of_the_whole_hierarchy_is_followed_down_to_the_cgroup(tmp_path):
    reader = v1_tree(tmp_path, {"pids.max": "8"}, mount_root="/")
    assert reader.cgroup("pids").path == str(tmp_path / "cgroup" / "pids" / "runtimetest" / "c1")


def test_a_mount_that_does_not_show_the_processs_cgroup_cannot_be_read(tmp_path):
    reader = v1_tree(tmp_path, {}, mount_root="/elsewhere")
    with pytest.raises(CgroupUnavailable) as raised:
        reader.cgroup("memory")
    assert not raised.value.decidable and "not this process's /runtimetest/c1" in str(raised.value)


def test_v1_controller_the_host_has_but_the_container_does_not_mount_is_undecidable(tmp_path):
    reader = v1_tree(tmp_path, {}, extra_membership="\n9:hugetlb:" + PATH)
    with pytest.raises(CgroupUnavailable) as raised:
        reader.cgroup("hugetlb")
    assert not raised.value.decidable


def test_v1_controller_nowhere_at_all_is_a_fault(tmp_path):
    with pytest.raises(CgroupUnavailable) as raised:
        v1_tree(tmp_path, {}).cgroup("hugetlb")
    assert raised.value.decidable


def test_v2_reads_the_containers_cgroup_and_requires_the_controller_enabled(tmp_path):
    reader = v2_tree(tmp_path, {"memory.max": "max"}, controllers="pids")
    assert reader.cgroup("pids").path == str(tmp_path / "cgroup" / "runtimetest" / "c1")
    with pytest.raises(CgroupUnavailable) as raised:
        reader.cgroup("memory")
    assert raised.value.decidable and "cgroup.controllers: pids" in str(raised.value)


def test_v2_layout_ignores_v1_hierarchies_the_host_still_has(tmp_path):
    reader = v2_tree(tmp_path, {}, controllers="memory", v1_lines="4:memory:/somewhere\n")
    assert reader.cgroup("memory").version == 2


def test_v1_only_controllers_have_no_v2_interface(tmp_path):
    with pytest.raises(CgroupUnavailable) as raised:
        v2_tree(tmp_path, {}).cgroup("net_cls")
    assert not raised.value.decidable


def test_no_cgroup_mount_is_undecidable(tmp_path):
    write(tmp_path / "proc" / "mountinfo", "")
    write(tmp_path / "proc" / "cgroup", f"0::{PATH}\n")
    with pytest.raises(CgroupUnavailable) as raised:
        CgroupReader(str(tmp_path / "cgroup"), str(tmp_path / "proc")).cgroup("memory")
    assert not raised.value.decidable


# -- the values, v1 and v2 ------------------------------------------------------------

MiB = 1 << 20


@pytest.mark.parametrize("tree,files", [
    (v1_tree, {"memory.limit_in_bytes": str(100000000 // 4096 * 4096)}),
    (v2_tree, {"memory.max": str(100000000 // 4096 * 4096)}),
])
def test_memory_limit_is_compared_as_the_kernel_rounds_it(tmp_path, run, tree, files):
    reader = tree(tmp_path, files)
    assert run(reader, "linux.resources.memory.limit", resources(memory={"limit": 100000000})).status == "pass"
    failed = run(reader, "linux.resources.memory.limit", resources(memory={"limit": 64 * MiB}))
    name = next(iter(files))
    assert failed.failures == [f"linux.resources.memory.limit: expected {64 * MiB}, found 99999744 ({name})"]


@pytest.mark.parametrize("tree,files", [
    (v1_tree, {"memory.limit_in_bytes": "9223372036854771712"}),
    (v2_tree, {"memory.max": "max"}),
])
def test_unlimited_memory_reads_as_minus_one(tmp_path, run, tree, files):
    reader = tree(tmp_path, files)
    assert run(reader, "linux.resources.memory.limit", resources(memory={"limit": -1})).status == "pass"
    assert "found -1" in run(reader, "linux.resources.memory.limit", resources(memory={"limit": MiB})).failures[0]


def test_v2_swap_is_memory_plus_swap(tmp_path, run):
    reader = v2_tree(tmp_path, {"memory.max": str(64 * MiB), "memory.swap.max": str(32 * MiB)})
    spec = resources(memory={"limit": 64 * MiB, "swap": 96 * MiB})
    assert run(reader, "linux.resources.memory.swap", spec).status == "pass"
    spec = resources(memory={"limit": 64 * MiB, "swap": 128 * MiB})
    assert run(reader, "linux.resources.memory.swap", spec).failures == [
        f"linux.resources.memory.swap: expected {128 * MiB}, found {96 * MiB} "
        f"(memory.max + memory.swap.max: {64 * MiB} + {32 * MiB})"]
    unlimited = v2_tree(tmp_path / "max", {"memory.max": str(64 * MiB), "memory.swap.max": "max"})
    assert run(unlimited, "linux.resources.memory.swap", resources(memory={"limit": 64 * MiB, "swap": -1})).status == "pass"
    assert run(unlimited, "linux.resources.memory.swap", spec).failures == [
        f"linux.resources.memory.swap: expected {128 * MiB}, found -1 (memory.max + memory.swap.max: {64 * MiB} + -1)"]


def test_v1_only_memory_settings_skip_on_v2(tmp_path, run):
    reader = v2_tree(tmp_path, {})
    for check_id, memory in (("linux.resources.memory.swappiness", {"swappiness": 10}),
                             ("linux.resources.memory.disableOOMKiller", {"disableOOMKiller": True})):
        result = run(reader, check_id, resources(memory=memory))
        assert result.status == "skip" and "cgroup v2 has no" in result.skip_reason


def test_oom_killer_switch_v1(tmp_path, run):
    reader = v1_tree(tmp_path, {"memory.oom_control": "oom_kill_disable 1\nunder_oom 0\noom_kill 0"})
    spec = resources(memory={"disableOOMKiller": True})
    assert run(reader, "linux.resources.memory.disableOOMKiller", spec).status == "pass"
    spec = resources(memory={"disableOOMKiller": False})
    assert run(reader, "linux.resources.memory.disableOOMKiller", spec).failures == [
        "linux.resources.memory.disableOOMKiller: expected false, found true (memory.oom_control oom_kill_disable)"]


def test_cpu_quota_and_period_v1_and_v2(tmp_path, run):
    spec = resources(cpu={"quota": 50000, "period": 100000})
    v1 = v1_tree(tmp_path / "a", {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"})
    v2 = v2_tree(tmp_path / "b", {"cpu.max": "50000 100000"})
    for reader in (v1, v2):
        assert run(reader, "linux.resources.cpu.quota", spec).status == "pass"
        assert run(reader, "linux.resources.cpu.period", spec).status == "pass"
    v2 = v2_tree(tmp_path / "c", {"cpu.max": "max 100000"})
    assert run(v2, "linux.resources.cpu.quota", spec).failures == [
        "linux.resources.cpu.quota: expected 50000, found -1 (cpu.max)"]
    assert run(v2, "linux.resources.cpu.quota", resources(cpu={"quota": -1})).status == "pass"


def test_cpu_shares_convert_to_v2_weight_by_either_known_formula(tmp_path, run):
    spec = resources(cpu={"shares": 512})
    # runc and crun before 1.10: 1 + (512 - 2) * 9999 // 262142 = 20; crun 1.10 and later, with
    # l = log2(512) = 9: ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34)) = ceil(58.2) = 59.
    for weight in (20, 59):
        reader = v2_tree(tmp_path / str(weight), {"cpu.weight": str(weight)})
        assert run(reader, "linux.resources.cpu.shares", spec).status == "pass"
    assert cpu.weight_from_shares(512) == [20, 59]
    reader = v2_tree(tmp_path / "default", {"cpu.weight": "100"})
    assert run(reader, "linux.resources.cpu.shares", spec).failures == [
        "linux.resources.cpu.shares: expected 512, found 100 (cpu.weight: shares 512 convert to 20 or 59)"]


def test_cpuset_lists_compare_as_sets(tmp_path, run):
    reader = v1_tree(tmp_path, {"cpuset.cpus": "0-2,4", "cpuset.mems": "0"})
    assert run(reader, "linux.resources.cpu.cpus", resources(cpu={"cpus": "0,1,2,4"})).status == "pass"
    assert run(reader, "linux.resources.cpu.cpus", resources(cpu={"cpus": "0-3"})).failures == [
        'linux.resources.cpu.cpus: expected "0-3", found "0-2,4" (cpuset.cpus)']


@pytest.mark.parametrize("tree", [v1_tree, v2_tree])
def test_pids_limit_and_unlimited(tmp_path, run, tree):
    reader = tree(tmp_path / "a", {"pids.max": "max"})
    assert run(reader, "linux.resources.pids.limit", resources(pids={"limit": -1})).status == "pass"
    assert run(reader, "linux.resources.pids.limit", resources(pids={"limit": 0})).status == "pass"
    reader = tree(tmp_path / "b", {"pids.max": "8"})
    assert run(reader, "linux.resources.pids.limit", resources(pids={"limit": 9})).failures == [
        "linux.resources.pids.limit: expected 9, found 8 (pids.max)"]


def test_blkio_weight_v1_bfq_and_v2_io_weight_converted(tmp_path, run):
    spec = resources(blockIO={"weight": 500})
    assert run(v1_tree(tmp_path / "a", {"blkio.bfq.weight": "500"}), "linux.resources.blockIO.weight", spec).status == "pass"
    assert run(v2_tree(tmp_path / "b", {"io.bfq.weight": "default 500"}), "linux.resources.blockIO.weight", spec).status == "pass"
    assert run(v2_tree(tmp_path / "c", {"io.weight": "default 4950"}), "linux.resources.blockIO.weight", spec).status == "pass"
    assert run(v2_tree(tmp_path / "d", {"io.weight": "default 100"}), "linux.resources.blockIO.weight", spec).failures == [
        "linux.resources.blockIO.weight: expected 500, found 100 (io.weight)"]


def test_throttles_v1_files_and_v2_io_max(tmp_path, run):
    spec = resources(blockIO={"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                              "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]})
    v1 = v1_tree(tmp_path / "a", {"blkio.throttle.read_bps_device": "8:0 1048576",
                                  "blkio.throttle.write_iops_device": "8:0 100"})
    v2 = v2_tree(tmp_path / "b", {"io.max": "8:0 rbps=1048576 wbps=max riops=max wiops=100"})
    for reader in (v1, v2):
        assert run(reader, "linux.resources.blockIO.throttleReadBpsDevice", spec).status == "pass"
        assert run(reader, "linux.resources.blockIO.throttleWriteIOPSDevice", spec).status == "pass"
    v2 = v2_tree(tmp_path / "c", {"io.max": "8:0 rbps=max wbps=max riops=max wiops=max"})
    assert run(v2, "linux.resources.blockIO.throttleReadBpsDevice", spec).failures == [
        'linux.resources.blockIO.throttleReadBpsDevice[0]: expected {"8:0": 1048576}, found {"8:0": -1} (io.max rbps)']


def test_hugetlb_usage_limit_for_1_0_and_reservation_from_1_1(tmp_path, run):
    files = {"hugetlb.2MB.max": str(4 * MiB), "hugetlb.2MB.rsvd.max": "max"}
    reader = v2_tree(tmp_path, files)
    limits = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]}
    assert run(reader, "linux.resources.hugepageLimits", {"ociVersion": "1.0.2", **resources(**limits)}).status == "pass"
    assert run(reader, "linux.resources.hugepageLimits", {"ociVersion": "1.1.0", **resources(**limits)}).failures == [
        f"linux.resources.hugepageLimits[0].limit: expected {4 * MiB}, found -1 (hugetlb.2MB.rsvd.max)"]


def test_unified_needs_v2_and_compares_each_file(tmp_path, run):
    spec = resources(unified={"pids.max": "10", "memory.high": "max"})
    reader = v2_tree(tmp_path / "a", {"pids.max": "10", "memory.high": "max"})
    assert run(reader, "linux.resources.unified", spec).status == "pass"
    reader = v2_tree(tmp_path / "b", {"pids.max": "11"})
    assert run(reader, "linux.resources.unified", spec).failures == [
        "linux.resources.unified[memory.high]: expected \"max\", found null (memory.high in the container's cgroup)",
        "linux.resources.unified[pids.max]: expected \"10\", found \"11\" (pids.max in the container's cgroup)"]
    result = run(v1_tree(tmp_path / "c", {}), "linux.resources.unified", spec)
    assert result.status == "skip" and "needs cgroup v2" in result.skip_reason


def test_a_controller_missing_on_v2_fails_the_field(tmp_path, run):
    reader = v2_tree(tmp_path, {}, controllers="")
    assert run(reader, "linux.resources.pids.limit", resources(pids={"limit": 5})).failures == [
        "linux.resources.pids.limit: expected 5, found null (the pids controller is not enabled "
        "in the container's cgroup (cgroup.controllers: empty))"]


def test_cgroups_path_relative_to_the_runtimes_mount_root(tmp_path, run):
    reader = v2_tree(tmp_path, {})
    spec = {"linux": {"cgroupsPath": "/c1"}, "annotations": {"org.runtimetest.host.cgroup.root.unified": "/runtimetest"}}
    assert run(reader, "linux.cgroupsPath", spec).status == "pass"
    spec = {"linux": {"cgroupsPath": "/c1"}}
    assert run(reader, "linux.cgroupsPath", spec).failures == [
        'linux.cgroupsPath: expected "/c1", found "/runtimetest/c1" (the unified cgroup in /proc/self/cgroup)']


def test_cgroups_path_groups_hierarchies_in_one_line(tmp_path, run):
    reader = v1_tree(tmp_path, {})
    assert run(reader, "linux.cgroupsPath", {"linux": {"cgroupsPath": "/other"}}).failures == [
        'linux.cgroupsPath: expected "/other", found "/runtimetest/c1" '
        '(the blkio, cpu, cpuacct, cpuset, memory, pids cgroup in /proc/self/cgroup)']


def test_burst_and_idle_v1_and_v2(tmp_path, run):
    spec = resources(cpu={"burst": 10000, "idle": 1})
    v1 = v1_tree(tmp_path / "a", {"cpu.cfs_burst_us": "10000", "cpu.idle": "1"})
    v2 = v2_tree(tmp_path / "b", {"cpu.max.burst": "10000", "cpu.idle": "1"})
    for reader in (v1, v2):
        assert run(reader, "linux.resources.cpu.burst", spec).status == "pass"
        assert run(reader, "linux.resources.cpu.idle", spec).status == "pass"
    v2 = v2_tree(tmp_path / "c", {"cpu.max.burst": "0"})
    assert run(v2, "linux.resources.cpu.burst", spec).failures == [
        "linux.resources.cpu.burst: expected 10000, found 0 (cpu.max.burst)"]
    result = run(v2, "linux.resources.cpu.idle", spec)
    assert result.status == "skip" and "no cpu.idle" in result.skip_reason


def test_realtime_bandwidth_is_v1_only(tmp_path, run):
    spec = resources(cpu={"realtimeRuntime": 0, "realtimePeriod": 500000})
    v1 = v1_tree(tmp_path / "a", {"cpu.rt_runtime_us": "0", "cpu.rt_period_us": "1000000"})
    assert run(v1, "linux.resources.cpu.realtimeRuntime", spec).status == "pass"
    assert run(v1, "linux.resources.cpu.realtimePeriod", spec).failures == [
        "linux.resources.cpu.realtimePeriod: expected 500000, found 1000000 (cpu.rt_period_us)"]
    result = run(v2_tree(tmp_path / "b", {}), "linux.resources.cpu.realtimePeriod", spec)
    assert result.status == "skip" and "real-time" in result.skip_reason


def test_a_value_of_the_wrong_type_names_the_field(tmp_path, run):
    reader = v1_tree(tmp_path, {"memory.limit_in_bytes": "4096"})
    assert run(reader, "linux.resources.memory.limit", resources(memory={"limit": "4k"})).failures == [
        'linux.resources.memory.limit: spec field should be an integer, found "4k"']


def test_v2_memory_probe_kill_must_be_the_cgroups_own_oom_kill(tmp_path, run, monkeypatch):
    reader = v2_tree(tmp_path, {"memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1"})
    events = tmp_path / "cgroup" / PATH.lstrip("/") / "memory.events"
    spec = resources(memory={"limit": 64 * MiB})
    monkeypatch.setattr(probes, "allocate_in_child", lambda target, *bounds: ("killed (SIGKILL)", 60 * MiB))
    assert run(reader, "linux.resources.memory.limit.enforced", spec).failures == [
        'linux.resources.memory.limit: expected "killed by the cgroup\'s OOM killer", '
        f'found "killed at {60 * MiB} bytes" (memory.events oom_kill 1 -> 1: not the cgroup\'s doing)']

    def killed_by_the_cgroup(target, *bounds):
        events.write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
        return "killed (SIGKILL)", 60 * MiB

    monkeypatch.setattr(probes, "allocate_in_child", killed_by_the_cgroup)
    passed = run(reader, "linux.resources.memory.limit.enforced", spec)
    assert passed.status == "pass" and "memory.events oom_kill 1 -> 2" in " ".join(passed.notes)


def test_the_probes_take_the_drivers_time_scale(tmp_path, run, monkeypatch):
    reader = v2_tree(tmp_path, {})
    bounds = []
    monkeypatch.setattr(probes, "allocate_in_child", lambda target, *given: bounds.append(given) or ("killed (SIGKILL)", 0))
    spec = resources(memory={"limit": 64 * MiB})
    run(reader, "linux.resources.memory.limit.enforced", spec)
    spec["annotations"] = {"org.runtimetest.time-scale": "4"}
    run(reader, "linux.resources.memory.limit.enforced", spec)
    assert bounds == [(probes.PROBE_SECONDS, probes.PROBE_MOST_SECONDS),
                      (4 * probes.PROBE_SECONDS, 4 * probes.PROBE_MOST_SECONDS)]
