"""The checker on a kernel that shows less than Linux: gVisor's, faked on this host.

gVisor (runsc) implements Linux's system calls in its own kernel: files such as
/proc/sys/kernel/cap_last_cap, /proc/devices and /proc/self/personality are
absent, statfs(2) gives no mount flags, mountinfo names no sources, and its
namespace, device and inode numbers are not the host's. Each check must then
read what the kernel does offer, or SKIP saying why; never crash, never pass.
"""

import errno
import os

import pytest

from runtimetest.checker import container

from runtimetest.linux import syscalls
from runtimetest.checker.main import run_check
from runtimetest.checker.checks import capabilities, devices, namespaces, process, scheduling, terminal, uts
from runtimetest.linux import idmap
from runtimetest.linux import mountinfo as mounts
from runtimetest.core.registry import CHECKER
from runtimetest.core.spec import Spec

# What gVisor's kernel writes in /proc/self/mountinfo (runsc sorts mounts by
# destination length, shows every source as "none" and only ro/rw, noatime and noexec).
GVISOR_MOUNTINFO = """\
8 8 0:8 / / ro  - 9p none ro,trans=fd,rfdno=3,wfdno=3,aname=/,cache=fscache
9 8 0:6 / /dev rw  - tmpfs none rw,mode=0755
10 8 0:9 / /sys ro,noexec  - sysfs none ro,dentry_cache_limit=1000
11 8 0:10 / /tmp rw  - tmpfs none rw,mode=1777,size=262144k
12 8 0:11 / /proc rw  - proc none rw,dentry_cache_limit=1000
13 8 0:12 / /mnt ,noatime,noexec  - tmpfs none rw,mode=0700
"""


def run(check_id, data):
    return run_check(CHECKER.by_id[check_id], Spec(data))


@pytest.fixture
def gvisor(monkeypatch):
    monkeypatch.setattr(container, "gvisor", lambda: True)
    monkeypatch.setattr(mounts, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(GVISOR_MOUNTINFO))


def missing(*paths):
    """An open() that finds no file at `paths` (FileNotFoundError), as on gVisor."""
    real_open = open

    def fake_open(path, *args, **kwargs):
        if path in paths:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return real_open(path, *args, **kwargs)
    return fake_open


# -- capabilities ----------------------------------------------------------------------

class FakePrctl:
    """python-prctl on a kernel whose last capability is 37 and which refuses PR_GET_SECUREBITS."""

    ALL_CAPS = list(range(41))
    CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE = "e", "p", "i"

    def __init__(self, held):
        self.held = held

    def capbset_read(self, number):
        if number > 37:
            raise OSError(errno.EINVAL, "Invalid argument")
        return number in self.held

    def get_caps(self, query):
        numbers, flag = query
        return {flag: {n: n in self.held and flag != self.CAP_INHERITABLE for n in numbers}}

    def get_securebits(self):
        raise OSError(errno.EINVAL, "Invalid argument")

    def get_no_new_privs(self):
        return True


@pytest.fixture
def gvisor_capabilities(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "prctl", FakePrctl(held={5, 10, 29}))
    monkeypatch.setattr("builtins.open", missing("/proc/sys/kernel/cap_last_cap"))
    monkeypatch.setattr(container, "status", lambda: {"CapEff": "0000000020000420"})
    monkeypatch.setattr(os, "getresuid", lambda: (0, 0, 0))


BASE_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def test_the_last_capability_is_probed_when_cap_last_cap_is_absent(gvisor_capabilities):
    assert capabilities.kernel_last_cap() == 37
    assert max(capabilities.checkable_capabilities().values()) == 37


def test_capability_sets_are_checked_without_cap_last_cap_and_ambient_skips(gvisor_capabilities, monkeypatch):
    monkeypatch.setattr(capabilities, "ambient_mask", _refuse_ambient)
    data = {"process": {"capabilities": {"bounding": BASE_CAPS, "effective": BASE_CAPS, "permitted": BASE_CAPS,
                                         "inheritable": [], "ambient": []}}}
    for name in ("bounding", "effective", "permitted", "inheritable"):
        assert run(f"process.capabilities.{name}", data).status == "pass", name
    ambient = run("process.capabilities.ambient", data)
    assert ambient.status == "skip" and "no ambient capability set" in ambient.skip_reason
    data["process"]["capabilities"]["bounding"] = ["CAP_KILL"]
    assert run("process.capabilities.bounding", data).failures == [
        'process.capabilities.bounding: expected ["CAP_KILL"], found ["CAP_AUDIT_WRITE", "CAP_KILL", '
        '"CAP_NET_BIND_SERVICE"] (unexpected CAP_AUDIT_WRITE, CAP_NET_BIND_SERVICE)']


def _refuse_ambient(numbers):
    raise capabilities.AmbientUnknown("this kernel shows no ambient capability set: /proc/self/status has "
                                      "no CapAmb line and prctl(PR_CAP_AMBIENT) fails with EINVAL")


def test_a_set_left_out_of_the_spec_needs_the_ambient_set(gvisor_capabilities, monkeypatch):
    monkeypatch.setattr(capabilities, "ambient_mask", _refuse_ambient)
    data = {"process": {"capabilities": {"bounding": BASE_CAPS, "effective": BASE_CAPS}}}
    assert run("process.capabilities.effective", data).status == "skip"


def test_ambient_is_read_with_prctl_without_a_capamb_line(monkeypatch):
    monkeypatch.setattr(container, "status", lambda: {})
    monkeypatch.setattr(syscalls, "prctl", lambda option, sub, number, *rest: 1 if number == 5 else 0)
    assert capabilities.ambient_mask([5, 10]) == 1 << 5


# -- mounts, read-only root and paths -------------------------------------------------------

class NoFlags:
    f_flag = mounts.FLAGS_NOT_GIVEN  # statfs(2) filled in no mount flags


def test_readonly_is_read_from_mountinfo_when_statfs_gives_no_flags(gvisor, monkeypatch):
    monkeypatch.setattr(os, "statvfs", lambda path: NoFlags())
    assert mounts.readonly_mount_at("/") == (True, "/proc/self/mountinfo, / on /")
    assert mounts.readonly_mount_at("/tmp/x")[0] is False

    def enosys(path):
        raise OSError(errno.ENOSYS, "Function not implemented", path)
    monkeypatch.setattr(os, "statvfs", enosys)
    assert mounts.readonly_mount_at("/proc/sys") == (False, "/proc/self/mountinfo, /proc/sys on /proc")


def test_root_readonly_refused_by_permissions_first_passes_with_a_note(gvisor, monkeypatch):
    from runtimetest.checker.checks import root

    monkeypatch.setattr(os, "statvfs", lambda path: NoFlags())
    monkeypatch.setattr(root, "write_error_at_root", lambda: errno.EACCES)
    result = run("root.readonly", {"root": {"readonly": True}})
    assert result.status == "pass" and "EACCES" in result.notes[0]
    monkeypatch.setattr(root, "write_error_at_root", lambda: None)
    assert run("root.readonly", {"root": {"readonly": True}}).failures == [
        'root.readonly: expected "EROFS on create in /", found "file created"']


GVISOR_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755"]},
    {"destination": "/mnt", "type": "tmpfs", "source": "x", "options": ["nosuid", "nodev", "noatime", "noexec", "ro"]},
]


def test_sources_are_a_skip_on_gvisor_after_the_spec_is_read(gvisor):
    result = run("mounts.source", {"mounts": GVISOR_MOUNTS})
    assert result.status == "skip" and 'source "none"' in result.skip_reason
    assert run("mounts.source", {"mounts": [{"destination": "/mnt", "options": "ro"}]}).failures == [
        'mounts[0].options: spec field should be an array, found "ro"']


def test_flags_gvisor_never_shows_are_noted_and_the_others_compared(gvisor):
    result = run("mounts.options", {"mounts": GVISOR_MOUNTS})
    assert result.failures == ['mounts[2].options: expected "ro", found "rw" (at /mnt)']
    assert result.notes == [
        "mounts[1]: options the kernel does not show for /dev, not compared: nosuid, strictatime",
        "mounts[2]: options the kernel does not show for /mnt, not compared: nosuid, nodev"]


def test_gvisor_mount_order_is_judged_by_its_tree_alone(gvisor, monkeypatch):
    # gVisor mounts every one on / (parent 8): mounts in unrelated places leave no order to judge.
    assert run("mounts.order", {"mounts": GVISOR_MOUNTS[1::-1]}).failures == []
    nested = GVISOR_MOUNTINFO + "14 13 0:13 / /mnt/in rw  - tmpfs none rw\n"
    monkeypatch.setattr(mounts, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(nested))
    later_first = [{"destination": "/mnt/in", "type": "tmpfs"}, GVISOR_MOUNTS[2]]
    assert run("mounts.order", {"mounts": later_first}).failures == [
        'mounts[0].destination: expected "/mnt/in mounted before mounts[1] (/mnt)", found "mounted on mounts[1]" '
        "(parent ids in /proc/self/mountinfo)"]


# -- namespaces ---------------------------------------------------------------------------


def test_host_namespace_inodes_are_not_compared_on_gvisor(gvisor, monkeypatch):
    host = {"org.runtimetest.host.ns.user": "4026531837", "org.runtimetest.host.ns.pid": "4026531836"}
    monkeypatch.setattr(namespaces, "own_namespace", lambda kind: 300)
    monkeypatch.setattr(idmap, "read_id_map", lambda path: [[0, 0, 4294967295]])
    user = run("linux.namespaces.user", {"linux": {"namespaces": []}, "annotations": host})
    assert user.status == "skip" and "numbers its namespaces itself" in user.skip_reason
    monkeypatch.setattr(container, "pid", lambda: 1)
    pid = run("linux.namespaces.pid", {"linux": {"namespaces": [{"type": "pid"}]}, "annotations": host})
    assert pid.status == "pass" and "pid 1" in pid.notes[0]
    path = run("linux.namespaces.pid", {"linux": {"namespaces": [{"type": "pid", "path": "/run/ns/pid"}]},
                                        "annotations": {"org.runtimetest.host.nspath.pid": "4026531836"}})
    assert path.status == "skip" and "/run/ns/pid" in path.skip_reason


# -- devices and the allow-list ---------------------------------------------------------------

DEVICE_RULES = {"linux": {"resources": {"devices": [{"allow": False, "access": "rwm"}]}}}


def test_the_allow_list_skips_without_proc_devices(monkeypatch):
    def absent():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/proc/devices")
    monkeypatch.setattr(devices, "registered_majors", absent)
    result = run("linux.resources.devices", DEVICE_RULES)
    assert result.status == "skip" and "no /proc/devices" in result.skip_reason


def test_the_allow_list_skips_when_the_runtime_applies_no_cgroups():
    data = dict(DEVICE_RULES, annotations={"org.runtimetest.cgroup-limits": "not applied: run without cgroups"})
    result = run("linux.resources.devices", data)
    assert result.status == "skip" and "without cgroup management" in result.skip_reason
    # The list is still read: a wrong type is reported before the skip.
    data["linux"] = {"resources": {"devices": [{"allow": "yes", "access": "rwm"}]}}
    assert run("linux.resources.devices", data).failures == [
        'linux.resources.devices[0].allow: spec field should be a boolean, found "yes"']


@pytest.mark.parametrize("check_id, field", [("linux.resources.pids.limit.enforced", {"pids": {"limit": 10}}),
                                             ("linux.resources.memory.limit.enforced",
                                              {"memory": {"limit": 1 << 26}})])
def test_enforcement_probes_skip_when_the_runtime_applies_no_cgroups(check_id, field):
    data = {"linux": {"resources": field},
            "annotations": {"org.runtimetest.cgroup-limits": "not applied: run without cgroups"}}
    result = run(check_id, data)
    assert result.status == "skip" and "without cgroup management" in result.skip_reason


# -- process, personality, names, terminal ------------------------------------------------------


def test_umask_is_read_with_umask_2_without_a_status_field(monkeypatch):
    monkeypatch.setattr(container, "status", lambda: {})
    old = os.umask(0o027)
    try:
        assert process.current_umask() == 0o027 and os.umask(0o027) == 0o027
        assert run("process.user.umask", {"process": {"user": {"umask": 0o022}}}).failures == [
            'process.user.umask: expected "0o22", found "0o27"']
    finally:
        os.umask(old)


def test_personality_is_asked_of_the_kernel_without_the_proc_file(monkeypatch):
    monkeypatch.setattr("builtins.open", missing("/proc/self/personality"))
    assert scheduling.current_personality() == (0, "personality(2)")
    assert run("linux.personality", {"linux": {"personality": {"domain": "LINUX"}}}).status == "pass"


def test_personality_skips_when_the_kernel_shows_none(monkeypatch):
    def personality(query):
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr("builtins.open", missing("/proc/self/personality"))
    monkeypatch.setattr(syscalls, "personality", personality)
    result = run("linux.personality", {"linux": {"personality": {"domain": "LINUX32"}}})
    assert result.status == "skip" and "personality(2) fails with EINVAL" in result.skip_reason


def test_names_are_read_with_uname_without_the_proc_files(monkeypatch):
    monkeypatch.setattr("builtins.open", missing("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname"))
    assert uts.kernel_name("hostname") == (os.uname().nodename, "uname(2)")
    assert run("hostname", {"hostname": os.uname().nodename}).status == "pass"
    assert run("domainname", {"domainname": "no-such.example"}).failures[0].startswith(
        'domainname: expected "no-such.example", found ')


def test_a_terminal_without_a_name_is_still_a_terminal(monkeypatch):
    def no_name(fd):
        raise OSError(errno.ENOENT, "No such file or directory")
    monkeypatch.setattr(os, "isatty", lambda fd: True)
    monkeypatch.setattr(os, "ttyname", no_name)
    assert terminal.terminal_of(0).startswith("char ")
