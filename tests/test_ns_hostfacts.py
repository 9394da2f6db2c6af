"""The host facts the driver passes to the checker (runtimetest/driver/hostfacts.py)."""

import os
import subprocess

from runtimetest.driver import hostfacts


def test_annotate_keeps_the_specs_own_annotations_and_adds_the_runtimes_namespaces():
    spec = {"annotations": {"mine": "1"}, "linux": {}}
    annotated = hostfacts.annotate(spec, spec, "/bundle")
    assert annotated["annotations"]["mine"] == "1"
    assert "annotations" not in spec or spec["annotations"] == {"mine": "1"}, "the input is not changed"
    net = annotated["annotations"]["org.runtimetest.host.ns.network"]
    assert net == str(os.stat("/proc/self/ns/net").st_ino)


def test_a_spec_with_nothing_linux_still_gets_the_namespace_facts():
    annotated = hostfacts.annotate({}, {}, "/bundle")
    assert "org.runtimetest.host.ns.pid" in annotated["annotations"]


def test_namespace_paths_resolve_to_inodes_or_say_why_not(tmp_path):
    regular = tmp_path / "file"
    regular.write_text("")
    facts = hostfacts.namespace_path_facts([
        {"type": "network", "path": "/proc/self/ns/net"},
        {"type": "ipc", "path": str(regular)},
        {"type": "uts", "path": str(tmp_path / "absent")},
        {"type": "pid"}, "junk", {"type": 3, "path": "/x"},
    ])
    assert facts == {
        "org.runtimetest.host.nspath.network": str(os.stat("/proc/self/ns/net").st_ino),
        "org.runtimetest.host.nspath.ipc": f"not a namespace: {regular} is not on nsfs",
        "org.runtimetest.host.nspath.uts": "cannot stat: No such file or directory",
    }
    assert hostfacts.namespace_path_facts("not a list") == {}


def mountinfo(tmp_path, lines):
    path = tmp_path / "mountinfo"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_cgroup_layout_hybrid(tmp_path):
    facts = hostfacts.cgroup_facts(mountinfo(tmp_path, [
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
        "35 31 0:32 /sub /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
        "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd",
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate",
        "50 23 0:40 / /elsewhere rw - cgroup cgroup rw,pids",
    ]))
    assert facts == {
        "org.runtimetest.host.cgroup.mode": "hybrid",
        "org.runtimetest.host.cgroup.root.cpu": "/",
        "org.runtimetest.host.cgroup.root.cpuacct": "/",
        "org.runtimetest.host.cgroup.root.memory": "/sub",
        "org.runtimetest.host.cgroup.root.name=systemd": "/",
        "org.runtimetest.host.cgroup.root.unified": "/",
    }


def test_cgroup_layout_v2_bound_below_the_root(tmp_path):
    facts = hostfacts.cgroup_facts(mountinfo(tmp_path, [
        "95 94 0:38 /rtt\\040x /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
    ]))
    assert facts == {"org.runtimetest.host.cgroup.mode": "v2", "org.runtimetest.host.cgroup.root.unified": "/rtt x"}


def test_no_cgroup_mounts_no_cgroup_facts(tmp_path):
    assert hostfacts.cgroup_facts(mountinfo(tmp_path, ["1 0 0:1 / / rw - ext4 /dev/vda rw"])) == {}


def test_net_device_facts_are_permanent_non_host_addresses():
    facts = hostfacts.netdevice_facts({"lo": {}, "rtt-nd-absent": {"name": "x"}})
    # lo's addresses are host-scoped: none is carried over.
    assert facts["org.runtimetest.host.netdev.lo.addresses"] == ""
    assert facts["org.runtimetest.host.netdev.rtt-nd-absent.addresses"].startswith("absent: no device rtt-nd-absent")
    assert hostfacts.netdevice_facts(None) == {}


def test_netlink_reads_what_ip_shows():
    from runtimetest import netlink

    shown = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    expected = {(line.split()[1], line.split()[3]) for line in shown.splitlines()}
    found = {(name, address) for name, addresses in netlink.devices().items() for address in addresses}
    assert found == expected
