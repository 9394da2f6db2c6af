"""The host facts the driver passes to the checker (runtimetest/driver/hostfacts.py)."""

import json
import os
import subprocess
import sys

from conftest import ROOT, requires_root
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


def test_netlink_reads_what_pyroute2_reads():
    """The checker's own rtnetlink reading against pyroute2's (the driver's) of the same namespace."""
    from pyroute2 import IPRoute

    from runtimetest.linux import netlink

    with IPRoute() as route:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in route.get_links()}
        expected = {(names[message["index"]], hostfacts.address_of(message)) for message in route.get_addr()}
    found = {(name, address) for name, addresses in netlink.devices().items() for address in addresses}
    assert found == expected and ("lo", "127.0.0.1/8") in found


# Run in a network namespace of its own: a veth whose addresses are permanent or
# not, host-scoped or not, and what the host facts say of it.
PRIVATE_DEVICE = """
import json, sys
from pyroute2 import IPRoute
from runtimetest.driver import hostfacts
with IPRoute() as route:
    route.link("add", ifname="rtt-hf0", kind="veth", peer="rtt-hf0p")
    index = route.link_lookup(ifname="rtt-hf0")[0]
    route.addr("add", index=index, address="192.0.2.1", prefixlen=24)
    route.addr("add", index=index, address="2001:db8::7", prefixlen=64)
    route.addr("add", index=index, address="192.0.2.9", prefixlen=32, scope=254)
    route.addr("add", index=index, address="2001:db8::5", prefixlen=64,
               IFA_CACHEINFO={"ifa_preferred": 100, "ifa_valid": 100, "cstamp": 0, "tstamp": 0})
json.dump(hostfacts.netdevice_facts({"rtt-hf0": {}, "rtt-hf0p": {}, "rtt-hf-absent": {}}), sys.stdout)
"""


@requires_root
def test_net_device_facts_carry_only_permanent_addresses_of_a_wider_scope_than_host():
    shown = subprocess.run(["unshare", "--net", sys.executable, "-c", PRIVATE_DEVICE], cwd=ROOT, check=True,
                           capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    facts = json.loads(shown.stdout)
    assert facts["org.runtimetest.host.netdev.rtt-hf0.addresses"] == "192.0.2.1/24 2001:db8::7/64"
    assert facts["org.runtimetest.host.netdev.rtt-hf0p.addresses"] == ""
    assert facts["org.runtimetest.host.netdev.rtt-hf-absent.addresses"].startswith("absent: no device")


def test_no_new_privs_of_the_runtime_is_read_from_its_status(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tcrun\nNoNewPrivs:\t1\nSeccomp:\t0\n")
    assert hostfacts.privilege_facts(str(status)) == {"org.runtimetest.host.no-new-privs": "1"}
    with open("/proc/self/status") as handle:
        mine = [line.split()[1] for line in handle if line.startswith("NoNewPrivs:")]
    assert hostfacts.privilege_facts() == {"org.runtimetest.host.no-new-privs": mine[0]}


def test_annotate_command_writes_the_spec_another_harness_tells_the_checker(tmp_path):
    from conftest import runtimetest

    (tmp_path / "data").write_text("x")
    config = {"mounts": [{"destination": "/data", "type": "bind", "source": "data", "options": ["rbind"]}],
              "linux": {"namespaces": [{"type": "network", "path": "/proc/self/ns/net"}]},
              "annotations": {"mine": "kept"}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = runtimetest("annotate", str(tmp_path / "config.json"))
    assert done.returncode == 0 and done.stderr == ""
    told = json.loads(done.stdout)
    facts = told.pop("annotations")
    assert told == {k: v for k, v in config.items() if k != "annotations"}
    info = os.stat(tmp_path / "data")
    assert facts["mine"] == "kept"
    assert facts["org.runtimetest.mounts.0.source-file"] == \
        f"{os.major(info.st_dev)}:{os.minor(info.st_dev)}:{info.st_ino}"
    assert facts["org.runtimetest.host.ns.pid"] == str(os.stat("/proc/self/ns/pid").st_ino)
    assert facts["org.runtimetest.host.nspath.network"].isdigit()
    assert facts["org.runtimetest.host.cgroup.mode"] in ("v1", "hybrid", "v2")
    assert facts["org.runtimetest.host.no-new-privs"] in ("0", "1")
    # --bundle names where relative sources are; a config that is not JSON is a usage error.
    elsewhere = runtimetest("annotate", str(tmp_path / "config.json"), "--bundle", "/nonexistent")
    assert "org.runtimetest.mounts.0.source-file" not in json.loads(elsewhere.stdout)["annotations"]
    (tmp_path / "bad.json").write_text("{")
    bad = runtimetest("annotate", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and bad.stdout == "" and "bad.json" in bad.stderr
