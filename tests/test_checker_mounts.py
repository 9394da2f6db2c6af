"""mounts.* and default.* against fake /proc/self/mountinfo text, and the mount host facts."""

import os

import pytest

from runtimetest.checker.main import run_check
from runtimetest.checker.checks.mounts.options import total_ram_pages
from runtimetest.linux import mountinfo as mounts
from runtimetest.driver import hostfacts
from runtimetest.core.registry import CHECKS
from runtimetest.core.spec import Spec

BY_ID = {c.id: c for c in CHECKS}

# A container's view: /mnt stacked twice, a bind mount of a file, cgroup v1 under a tmpfs.
MOUNTINFO = """\
65 43 254:0 /bundle/rootfs / ro,relatime - ext4 /dev/vda rw
66 65 0:40 / /proc rw,relatime - proc proc rw
67 65 0:41 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
72 65 0:45 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
73 72 0:29 /c1 /sys/fs/cgroup/cpu ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu
74 72 0:33 /c1 /sys/fs/cgroup/devices ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,devices
83 65 0:47 / /mnt rw,nosuid,nodev,noexec,noatime,nodiratime - tmpfs lower rw,size=1024k,mode=700
88 83 0:50 / /mnt rw,nosuid shared:2 - tmpfs upper rw,size=2048k
84 88 0:48 / /mnt/in\\040ner ro,relatime unbindable - tmpfs inner rw,sync,uid=5,gid=6
44 66 0:40 /sys /proc/sys ro,relatime - proc proc rw
"""

MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "size=65536k"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["ro", "nosuid", "nodev", "noexec", "relatime"]},
    {"destination": "/mnt", "type": "tmpfs", "source": "lower",
     "options": ["nosuid", "nodev", "noexec", "noatime", "nodiratime", "size=1m"]},
    {"destination": "/mnt", "type": "tmpfs", "source": "upper", "options": ["nosuid", "strictatime", "rshared"]},
    {"destination": "/mnt/in ner", "type": "tmpfs", "source": "inner",
     "options": ["ro", "sync", "relatime", "uid=5", "gid=6", "runbindable"]},
]


@pytest.fixture
def fake_mountinfo(monkeypatch):
    def use(text):
        monkeypatch.setattr(mounts, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(text))
    use(MOUNTINFO)
    return use


def run(check_id, data):
    return run_check(BY_ID[check_id], Spec(data))


def test_parser_reads_fields_unescapes_and_keeps_order():
    entries = mounts.parse_mountinfo(MOUNTINFO + "garbage line\n")
    assert len(entries) == 10
    inner = entries[8]
    assert inner.mount_point == "/mnt/in ner" and inner.fstype == "tmpfs" and inner.source == "inner"
    assert inner.readonly and inner.flag("sync") and inner.propagation == "unbindable"
    assert entries[7].propagation == "shared" and entries[6].propagation == "private"
    assert entries[6].super_value("size") == "1024k" and entries[6].super_value("nope") is None
    assert [e.position for e in entries] == list(range(10))


def test_stacked_mounts_are_ordered_bottom_first_and_holder_is_the_top():
    entries = mounts.parse_mountinfo(MOUNTINFO)
    assert [e.source for e in mounts.stacked_at(entries, "/mnt")] == ["lower", "upper"]
    assert mounts.top_at(entries, "/mnt").source == "upper"
    assert mounts.mount_holding(entries, "/mnt/x/y").source == "upper"
    assert mounts.mount_holding(entries, "/proc/sys/kernel").root == "/sys"


def test_declared_mounts_pass_against_what_the_kernel_shows(fake_mountinfo):
    for check_id in ("mounts.destination", "mounts.type", "mounts.source", "mounts.options", "mounts.order"):
        result = run(check_id, {"mounts": MOUNTS})
        assert result.failures == [], check_id


def test_missing_mount_wrong_type_and_source_fail(fake_mountinfo):
    data = {"mounts": MOUNTS[:3] + [{"destination": "/mnt", "type": "ramfs", "source": "other"},
                                    {"destination": "/nowhere", "type": "tmpfs", "source": "tmpfs"}]}
    assert run("mounts.destination", data).failures == [
        'mounts[4].destination: expected "/nowhere", found "not a mount point" (no such mount point in /proc/self/mountinfo)']
    assert run("mounts.type", data).failures == ['mounts[3].type: expected "ramfs", found "tmpfs" (at /mnt)']
    assert run("mounts.source", data).failures == [
        'mounts[3].source: expected "other", found "lower" (mount source at /mnt)']


def test_cgroup_type_accepts_a_v1_tree_but_not_a_bare_tmpfs(fake_mountinfo):
    data = {"mounts": [{"destination": "/dev", "type": "cgroup", "source": "cgroup"}]}
    assert run("mounts.type", data).failures == [
        'mounts[0].type: expected "cgroup", found "tmpfs" (at /dev, with no cgroup hierarchy mounted in it)']


def test_options_compare_flags_atime_data_and_propagation(fake_mountinfo):
    data = {"mounts": [
        {"destination": "/mnt", "type": "tmpfs", "source": "lower", "options": ["rw", "exec", "relatime", "size=2m"]},
        {"destination": "/mnt", "type": "tmpfs", "source": "upper", "options": ["noatime", "rprivate"]},
        {"destination": "/mnt/in ner", "type": "tmpfs", "source": "inner", "options": ["async", "uid=6", "shared"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["rw"]},
    ]}
    failures = run("mounts.options", data).failures
    assert failures == [
        'mounts[0].options: expected "exec", found "noexec" (flags of /mnt: rw,nosuid,nodev,noexec,noatime,nodiratime)',
        'mounts[0].options: expected "relatime", found "no relatime" (flags of /mnt: rw,nosuid,nodev,noexec,noatime,nodiratime)',
        'mounts[0].options: expected "size=2m", found "size=1024k" (superblock options at /mnt)',
        'mounts[1].options: expected "noatime", found "no noatime" (flags of /mnt: rw,nosuid)',
        'mounts[1].options: expected "rprivate", found "shared" (propagation of /mnt)',
        'mounts[2].options: expected "async", found "sync" (flags of /mnt/in ner: ro,relatime)',
        'mounts[2].options: expected "uid=6", found "uid=5" (superblock options at /mnt/in ner)',
        'mounts[2].options: expected "shared", found "unbindable" (propagation of /mnt/in ner)',
        'mounts[3].options: expected "rw", found "ro" (at /sys/fs/cgroup/cpu)',
    ]


def test_strictatime_and_values_the_kernel_hides(fake_mountinfo):
    data = {"mounts": [{"destination": "/mnt", "type": "tmpfs", "source": "lower",
                        "options": ["strictatime", "nr_blocks=10", "newinstance"]}]}
    result = run("mounts.options", data)
    assert result.failures == ['mounts[0].options: expected "strictatime", found "noatime" (at /mnt)']
    assert result.notes == ["mounts[0]: options the kernel does not show for /mnt, not compared: nr_blocks=10, newinstance"]


def test_order_is_judged_by_the_mount_tree(fake_mountinfo):
    data = {"mounts": [MOUNTS[5], MOUNTS[3]]}
    assert run("mounts.order", data).failures == [
        'mounts[0].destination: expected "/mnt/in ner mounted before mounts[1] (/mnt)", found "mounted on mounts[1]"'
        " (parent ids in /proc/self/mountinfo)"]
    data = {"mounts": [MOUNTS[3], MOUNTS[4], MOUNTS[5]]}
    assert run("mounts.order", data).failures == []


# crun 1.8.1 in a user namespace (podman --uidmap 0:100000:65536 --tmpfs /scratch -v f:/scratch/f):
# mountinfo lists mounts in mount-id order, and the bind inside the tmpfs got a lower id.
CRUN_USERNS_MOUNTINFO = """1062 1003 0:92 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
1063 1062 0:95 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1065 1062 0:97 / /dev rw,nosuid,noexec - tmpfs tmpfs rw,size=65536k,mode=755,uid=100000,gid=100000
1066 1065 0:98 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=100005,mode=620,ptmxmode=666
1064 1070 254:1 /data/f /scratch/f rw,relatime - ext4 /dev/vda1 rw
1070 1062 0:99 / /scratch rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=10240k,uid=100000,gid=100000
"""


def test_order_follows_parents_not_mountinfo_lines(fake_mountinfo):
    fake_mountinfo(CRUN_USERNS_MOUNTINFO)
    tree_first = {"mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                             {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs"},
                             {"destination": "/scratch/f", "type": "bind", "source": "/data/f", "options": ["rbind"]}]}
    assert run("mounts.order", tree_first).failures == []
    wrong = {"mounts": tree_first["mounts"][:1] + tree_first["mounts"][2:] + tree_first["mounts"][1:2]}
    assert run("mounts.order", wrong).failures == [
        'mounts[1].destination: expected "/scratch/f mounted before mounts[2] (/scratch)", found "mounted on mounts[2]"'
        " (parent ids in /proc/self/mountinfo)"]


def test_id_options_are_translated_through_the_id_maps(fake_mountinfo, monkeypatch):
    from runtimetest.linux import idmap

    maps = {"/proc/self/uid_map": "         0     100000      65536\n",
            "/proc/self/gid_map": "         0     100000      65536\n"}
    monkeypatch.setattr(idmap, "read_id_map", lambda path: idmap.parse_id_map(maps[path]))
    fake_mountinfo(CRUN_USERNS_MOUNTINFO)
    devpts = {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["gid=5", "mode=0620"]}
    assert run("mounts.options", {"mounts": [devpts]}).failures == []
    devpts["options"] = ["gid=6"]
    assert run("mounts.options", {"mounts": [devpts]}).failures == [
        'mounts[0].options: expected "gid=6", found "gid=5 (gid=100005 in the initial user namespace)"'
        " (superblock options at /dev/pts)"]
    # Nested namespaces: the parent is not the initial one, its ids are not in this map.
    maps["/proc/self/gid_map"] = "0 1 65536\n"
    result = run("mounts.options", {"mounts": [devpts]})
    assert result.failures == [] and "not mapped by /proc/self/gid_map" in result.notes[0]


def test_bind_source_identity_comes_from_the_host_fact(fake_mountinfo, tmp_path):
    target, other = tmp_path / "target", tmp_path / "other"
    target.write_text("x")
    other.write_text("y")
    info = os.stat(target)
    fake_mountinfo(f"1 0 {os.major(info.st_dev)}:{os.minor(info.st_dev)} /t {target} rw - ext4 /dev/vda rw\n")
    mount = {"destination": str(target), "type": "bind", "source": "/somewhere", "options": ["bind"]}

    def identity(path):
        st = os.stat(path)
        return f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}:{st.st_ino}"

    same = {"mounts": [mount], "annotations": {"org.runtimetest.mounts.0.source-file": identity(target)}}
    assert run("mounts.source", same).failures == []
    wrong = {"mounts": [mount], "annotations": {"org.runtimetest.mounts.0.source-file": identity(other)}}
    assert run("mounts.source", wrong).failures == [
        f'mounts[0].source: expected "/somewhere ({identity(other)})", found "{identity(target)}"'
        f" (device:inode at {target})"]
    unknown = run("mounts.source", {"mounts": [mount]})
    assert unknown.failures == [] and "no host fact" in unknown.notes[0]


def test_wrong_shapes_are_failure_lines_not_tracebacks(fake_mountinfo):
    assert run("mounts.options", {"mounts": "x"}).failures == ['mounts: spec field should be an array, found "x"']
    assert run("mounts.destination", {"mounts": [{"destination": "relative"}]}).failures == [
        "mounts[0].destination: spec field should be an absolute path, found 'relative'"]


def test_default_filesystems(fake_mountinfo):
    result = run("default.filesystems", {"linux": {}})
    assert result.failures == ['/sys: expected "sysfs", found "not a mount point"',
                               '/dev/pts: expected "devpts", found "not a mount point"',
                               '/dev/shm: expected "tmpfs", found "not a mount point"']


def test_mount_host_facts(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    (bundle / "config.json").write_text("{}")
    spec = {"root": {"path": "rootfs"}, "mounts": [
        {"destination": "/a", "type": "bind", "source": "config.json", "options": ["bind"]},
        {"destination": "/b", "type": "none", "source": str(bundle / "rootfs"), "options": ["rbind"]},
        {"destination": "/c", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/d", "type": "bind", "source": "missing", "options": ["bind"]},
    ]}
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"1 0 254:0 / / rw shared:1 - ext4 /dev/vda rw\n2 1 0:5 / {tmp_path} rw - tmpfs t rw\n")
    facts = hostfacts.mount_facts(spec, str(bundle), str(mountinfo))
    config = os.stat(bundle / "config.json")
    rootfs = os.stat(bundle / "rootfs")
    assert facts == {
        "org.runtimetest.mounts.0.source-file": f"{os.major(config.st_dev)}:{os.minor(config.st_dev)}:{config.st_ino}",
        "org.runtimetest.mounts.1.source-file": f"{os.major(rootfs.st_dev)}:{os.minor(rootfs.st_dev)}:{rootfs.st_ino}",
        "org.runtimetest.mounts.rootfs-host-propagation": "private",
    }
    annotated = hostfacts.annotate(dict(spec, annotations={"keep": "me"}), {}, str(bundle))
    assert annotated["annotations"]["keep"] == "me" and "org.runtimetest.mounts.0.source-file" in annotated["annotations"]


def test_recursive_attributes_hold_for_every_mount_beneath(fake_mountinfo):
    upper = {"destination": "/mnt", "type": "tmpfs", "source": "upper", "options": ["rnosuid"]}
    data = {"mounts": [MOUNTS[3], upper]}
    assert run("mounts.options", data).failures == [
        'mounts[1].options: expected "rnosuid", found "not nosuid at /mnt/in ner" (flags of /mnt/in ner: ro,relatime)']
    inner = dict(MOUNTS[5], options=["rro", "rnodev", "rrelatime"])
    result = run("mounts.options", {"mounts": [inner]})
    assert result.failures == [
        'mounts[0].options: expected "rnodev", found "not nodev at /mnt/in ner" (flags of /mnt/in ner: ro,relatime)']


def test_a_tmpfs_size_in_percent_is_taken_of_ram_as_the_kernel_does(fake_mountinfo):
    page = os.sysconf("SC_PAGE_SIZE")
    half = -(-total_ram_pages() * 50 // 100)  # pages, rounded up
    fake_mountinfo(f"90 1 0:60 / /half rw,relatime - tmpfs tmpfs rw,size={half * page // 1024}k\n")
    declared = {"destination": "/half", "type": "tmpfs", "source": "tmpfs", "options": ["size=50%"]}
    assert run("mounts.options", {"mounts": [declared]}).failures == []
    declared["options"] = ["size=25%"]
    assert run("mounts.options", {"mounts": [declared]}).failures == [
        f'mounts[0].options: expected "size=25%", found "size={half * page // 1024}k" (superblock options at /half)']
