"""seccomp, LSM labels, rootfs propagation and file descriptors: the logic, with fakes on this host."""

import errno
import os
import signal
import subprocess
import sys

import pytest

from runtimetest.checker import container
from runtimetest.checker.main import run_check
from runtimetest.checker.checks import fds, lsm, propagation, seccomp
from runtimetest.linux import mountinfo as mounts
from runtimetest.core.registry import CHECKER, CHECKS, Result
from runtimetest.core.spec import Spec

BY_ID = {c.id: c for c in CHECKS}


def run(check_id, data):
    return run_check(BY_ID[check_id], Spec(data))


# --- seccomp ---------------------------------------------------------------------

def test_actions_map_to_outcomes():
    assert seccomp.expected_outcome("SCMP_ACT_ERRNO", None) == ("errno", errno.EPERM)
    assert seccomp.expected_outcome("SCMP_ACT_ERRNO", 95) == ("errno", 95)
    assert seccomp.expected_outcome("SCMP_ACT_KILL_THREAD", None) == ("signal", signal.SIGSYS)
    assert seccomp.expected_outcome("SCMP_ACT_TRAP", None) == ("signal", signal.SIGSYS)
    assert seccomp.expected_outcome("SCMP_ACT_TRACE", 5) == ("errno", errno.ENOSYS)
    assert seccomp.expected_outcome("SCMP_ACT_LOG", None) == ("ran", None)
    assert seccomp.expected_outcome("SCMP_ACT_NOTIFY", None) == (None, None)


def test_an_errno_the_call_can_give_by_itself_is_not_judged():
    outcome = seccomp.Outcome("errno", errno.ESRCH)
    assert seccomp.agrees("getpgid", outcome, "ran", None) is True
    assert seccomp.agrees("getpgid", outcome, "errno", errno.ESRCH) is None
    assert seccomp.agrees("getppid", seccomp.Outcome("errno", errno.EPERM), "ran", None) is False
    # A call answering otherwise than the filter would was let through.
    assert seccomp.agrees("getsid", seccomp.Outcome("ran", 7), "errno", errno.EPERM) is False


def test_unnamed_calls_tell_an_allow_list_default_apart():
    caller = seccomp.Caller()
    table = seccomp.syscall_table()
    # Let through (no filter here): removed calls answer ENOSYS, futex_waitv EINVAL.
    removed = caller.call(table["afs_syscall"], ())
    assert (removed.kind, removed.value) == ("errno", errno.ENOSYS)
    waitv = caller.call(table["futex_waitv"], ())
    assert (waitv.kind, waitv.value) == ("errno", errno.EINVAL)
    # ERRNO(ENOSYS), as podman's profile: a removed call cannot tell, futex_waitv can.
    assert seccomp.agrees("afs_syscall", removed, "errno", errno.ENOSYS) is None
    assert seccomp.agrees("futex_waitv", waitv, "errno", errno.ENOSYS) is False
    assert seccomp.agrees("afs_syscall", removed, "errno", errno.EPERM) is False


def test_the_table_follows_the_checkers_own_code_not_uname(tmp_path):
    assert seccomp.own_architecture() == {"x86_64": "x86_64", "aarch64": "aarch64"}.get(os.uname().machine)
    elf = tmp_path / "elf"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(11) + (183).to_bytes(2, "little"))
    assert seccomp.own_architecture(str(elf)) == "aarch64"
    # Under `setarch linux32` uname(2) says i686; the checker still makes x86-64 calls.
    spec = tmp_path / "spec.json"
    spec.write_text('{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}')
    done = subprocess.run(["setarch", "linux32", sys.executable, "-m", "runtimetest", "--spec", str(spec),
                           "linux.seccomp.defaultAction"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert "no seccomp filter is in force" in done.stdout and "i686" not in done.stdout, done.stdout


def test_arguments_meet_or_break_the_conditions():
    eq = [(0, "SCMP_CMP_EQ", 4242, 0)]
    assert seccomp.arguments("getpgid", eq, meet=True) == (4242,)
    assert seccomp.arguments("getpgid", eq, meet=False) == (0,)
    masked = [(0, "SCMP_CMP_MASKED_EQ", 0xF0, 0x30)]
    met = seccomp.arguments("getpgid", masked, meet=True)[0]
    assert met & 0xF0 == 0x30
    assert seccomp.arguments("getpgid", masked, meet=False)[0] & 0xF0 != 0x30
    ranges = [(1, "SCMP_CMP_GT", 10, 0), (1, "SCMP_CMP_LT", 12, 0)]
    assert seccomp.arguments("getpriority", ranges, meet=True) == (0, 11)
    assert seccomp.arguments("getpid", eq, meet=True) is None  # it takes no argument 0
    assert seccomp.arguments("getpgid", [(0, "SCMP_CMP_EQ", 1, 0), (0, "SCMP_CMP_EQ", 2, 0)], meet=True) is None


def test_a_forked_probe_reports_how_the_call_ended():
    caller = seccomp.Caller()
    table = seccomp.syscall_table()
    if table is None:
        pytest.skip("no system call table for this machine")
    ran = caller.call(table["getppid"], ())
    assert ran.kind == "ran" and ran.value == os.getpid()
    failed = caller.call(table["getpgid"], (2**31 - 1,))
    assert (failed.kind, failed.value) == ("errno", errno.ESRCH)
    assert str(failed) == "fails with ESRCH"


def test_without_a_filter_the_probes_skip_and_the_filter_check_fails(monkeypatch):
    monkeypatch.setattr(container, "status", lambda: {"Seccomp": "0", "Seccomp_filters": "0"})
    data = {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["getpgrp"], "action": "SCMP_ACT_ERRNO"}]}}}
    assert run("linux.seccomp", data).failures == [
        'linux.seccomp: expected "Seccomp: 2 (filter)", found "Seccomp: 0" (/proc/self/status)']
    assert "no seccomp filter" in run("linux.seccomp.syscalls", data).skip_reason
    assert "no seccomp filter" in run("linux.seccomp.defaultAction", data).skip_reason


def test_probes_compare_outcomes_with_actions(monkeypatch):
    """With the filter faked as installed, what unfiltered calls do must be reported as the filter's failure."""
    monkeypatch.setattr(container, "status", lambda: {"Seccomp": "2", "Seccomp_filters": "1"})
    if seccomp.syscall_table() is None:
        pytest.skip("no system call table for this machine")
    data = {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33},
        {"names": ["getuid", "getgid"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["getgid"], "action": "SCMP_ACT_KILL"},
        {"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]}}}
    result = run("linux.seccomp.syscalls", data)
    assert result.failures == ['linux.seccomp.syscalls[0]: expected "getppid() fails with EDOM (SCMP_ACT_ERRNO)", '
                               'found "runs" (probe in a forked child)']
    assert "linux.seccomp.syscalls[1]: getgid is named by several rules: not probed" in result.notes
    assert run("linux.seccomp.defaultAction", data).failures == []
    data["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_KILL_PROCESS"
    # The default action is probed with a call no rule names: getppid, getuid and getgid are
    # named, so the first of the default probes left is getpgrp.
    assert run("linux.seccomp.defaultAction", data).failures == [
        'linux.seccomp.defaultAction: expected "getpgrp() killed by SIGSYS (SCMP_ACT_KILL_PROCESS)", '
        'found "runs" (probe in a forked child)']


def test_unknown_actions_are_reported(monkeypatch):
    monkeypatch.setattr(container, "status", lambda: {"Seccomp": "2"})
    data = {"linux": {"seccomp": {"defaultAction": "SCMP_ACT_MAYBE", "syscalls": []}}}
    assert run("linux.seccomp.syscalls", data).failures == [
        "linux.seccomp.defaultAction: not a seccomp action: 'SCMP_ACT_MAYBE'"]


# --- LSM labels ---------------------------------------------------------------------

def fake_attr(monkeypatch, current=None, error=None, apparmor=None):
    def read(path):
        if path == lsm.APPARMOR_ENABLED and apparmor is not None:
            return apparmor
        if path.endswith("/attr/current"):
            if error:
                raise OSError(error, os.strerror(error))
            return current
        raise OSError(errno.ENOENT, "absent")
    monkeypatch.setattr(lsm, "_read", read)
    monkeypatch.setattr(lsm.os.path, "isdir", lambda path: False)
    monkeypatch.setattr(lsm.os.path, "exists", lambda path: False)


def test_labels_on_a_kernel_without_the_module_fail(monkeypatch):
    fake_attr(monkeypatch, error=errno.EINVAL)
    data = {"process": {"apparmorProfile": "p", "selinuxLabel": "u:r:t:s0"}, "linux": {"mountLabel": "u:o:t:s0"}}
    assert run("process.apparmorProfile", data).failures == [
        'process.apparmorProfile: expected "p", found "no AppArmor on this kernel" '
        f"(no {lsm.APPARMOR_ENABLED}; {lsm.REFUSE})"]
    assert run("process.selinuxLabel", data).failures == [
        'process.selinuxLabel: expected "u:r:t:s0", found "no SELinux on this kernel" '
        f"(/proc/self/attr/current: EINVAL; {lsm.REFUSE})"]
    assert run("linux.mountLabel", data).failures[0].startswith('linux.mountLabel: expected "u:o:t:s0", found "no SELinux')


def test_empty_labels_skip_and_an_unreadable_state_skips(monkeypatch):
    fake_attr(monkeypatch, error=errno.EINVAL)
    data = {"process": {"apparmorProfile": "", "selinuxLabel": ""}}
    assert "empty profile" in run("process.apparmorProfile", data).skip_reason
    assert "empty label" in run("process.selinuxLabel", data).skip_reason
    fake_attr(monkeypatch, error=errno.EACCES)
    result = run("process.selinuxLabel", {"process": {"selinuxLabel": "u:r:t:s0"}})
    assert result.failures == [] and "cannot tell" in result.skip_reason


def test_labels_are_compared_when_the_module_is_active(monkeypatch):
    fake_attr(monkeypatch, current="system_u:system_r:container_t:s0", apparmor="N")
    data = {"process": {"selinuxLabel": "system_u:system_r:other_t:s0"}}
    assert run("process.selinuxLabel", data).failures == [
        'process.selinuxLabel: expected "system_u:system_r:other_t:s0", found "system_u:system_r:container_t:s0" '
        "(/proc/self/attr/current)"]
    fake_attr(monkeypatch, current="runtimetest (enforce)", apparmor="Y")
    assert run("process.apparmorProfile", {"process": {"apparmorProfile": "runtimetest"}}).failures == []
    assert run("process.apparmorProfile", {"process": {"apparmorProfile": "other"}}).failures == [
        'process.apparmorProfile: expected "other", found "runtimetest" (/proc/self/attr/current)']


def test_mount_label_reads_context_options(monkeypatch):
    fake_attr(monkeypatch, current="system_u:system_r:container_t:s0")
    text = ('1 0 0:1 / /dev rw - tmpfs tmpfs rw,context="u:o:a:s0",size=4k\n'
            "2 1 0:2 / /dev/shm rw - tmpfs shm rw\n3 1 0:3 / /proc rw - proc proc rw\n")
    monkeypatch.setattr(mounts, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(text))
    data = {"linux": {"mountLabel": "u:o:a:s0"}, "mounts": [
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"},
        {"destination": "/proc", "type": "proc", "source": "proc"}]}
    assert run("linux.mountLabel", data).failures == [
        'linux.mountLabel: expected "u:o:a:s0", found "no context= option" (the mount at /dev/shm)']


# --- rootfs propagation ----------------------------------------------------------------

def test_propagation_flags():
    match = propagation.flags_match
    assert match("shared", "shared", False) == (True, True)
    assert match("shared", "private", False) == (False, True)
    assert match("private", "shared,slave", False) == (False, True)
    assert match("unbindable", "unbindable", False) == (True, True)
    assert match("slave", "slave", False) == (True, True)
    assert match("slave", "private", False) == (True, False)  # nothing to follow: undecided
    assert match("slave", "private", True) == (False, True)
    assert match("slave", "shared", True) == (False, True)


def test_propagation_check_reads_the_root_mount(monkeypatch):
    text = "1 0 254:0 / / ro,relatime shared:1 - ext4 /dev/vda rw\n"
    monkeypatch.setattr(propagation, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(text))
    monkeypatch.setattr(propagation, "has_sys_admin", lambda: False)
    shared = run("linux.rootfsPropagation", {"linux": {"rootfsPropagation": "rshared"}})
    assert shared.failures == [] and "CAP_SYS_ADMIN" in shared.skip_reason
    private = run("linux.rootfsPropagation", {"linux": {"rootfsPropagation": "private"}})
    assert private.failures == [
        'linux.rootfsPropagation: expected "private", found "shared" (propagation of "/" in /proc/self/mountinfo)']
    assert run("linux.rootfsPropagation", {"linux": {"rootfsPropagation": "sideways"}}).failures == [
        "linux.rootfsPropagation: should be shared, slave, private or unbindable, found 'sideways'"]


def test_propagation_probe_result_is_compared(monkeypatch):
    text = "1 0 254:0 / / ro,relatime - ext4 /dev/vda rw\n"
    monkeypatch.setattr(propagation, "read_mountinfo", lambda path=None: mounts.parse_mountinfo(text))
    monkeypatch.setattr(propagation, "has_sys_admin", lambda: True)
    monkeypatch.setattr(propagation, "probe_behaviour", lambda: "not shared")
    assert run("linux.rootfsPropagation", {"linux": {"rootfsPropagation": "private"}}).status == "pass"
    unbindable = run("linux.rootfsPropagation", {"linux": {"rootfsPropagation": "unbindable"}})
    assert unbindable.failures[-1] == ('linux.rootfsPropagation: expected "unbindable", found "bindable" '
                                       '(bind-mount probe: binding "/" succeeded)')


# --- file descriptors --------------------------------------------------------------------

def test_extra_descriptors_fail_and_preserved_ones_pass(monkeypatch):
    held = {0: "pipe:[1]", 1: "pipe:[2]", 2: "pipe:[3]", 3: "socket:[4]", 7: "/etc/passwd"}
    monkeypatch.setattr(container, "fds_at_start", lambda: dict(held))
    monkeypatch.setattr(container, "environ", lambda: {})
    assert run("fds", {"linux": {}}).failures == [
        "open file descriptors: expected [0, 1, 2], found [0, 1, 2, 3, 7] "
        "(fd 3 -> socket:[4]; fd 7 -> /etc/passwd)"]
    preserved = {"linux": {}, "annotations": {"org.runtimetest.preserve-fds": "5"}}
    assert run("fds", preserved).failures == []
    monkeypatch.setattr(container, "environ", lambda: {"LISTEN_FDS": "1"})
    assert run("fds", {"linux": {}}).failures[0].endswith("(fd 7 -> /etc/passwd)")


def test_descriptors_are_those_held_at_start_not_the_checkers_own(tmp_path):
    """A descriptor the checker opens after it started is not the runtime's doing."""
    container.note_start()
    at_start = container.fds_at_start()
    with open(tmp_path / "later", "w"):
        assert container.fds_at_start() == at_start
        assert str(tmp_path / "later") in container.open_fds().values()


def test_enosys_from_a_call_the_kernel_has_is_the_runtimes_stub_not_a_let_through():
    """runc answers ENOSYS, not the default errno, for calls newer than its profile names (futex_waitv
    under runtime-tools' profile): that call is filtered, not judged; an older unnamed call decides."""
    class Caller:
        def call(self, number, args):
            name = next(n for n, num in seccomp.syscall_table().items() if num == number)
            return seccomp.Outcome("errno", errno.ENOSYS if name == "futex_waitv" else errno.EPERM)

    if seccomp.syscall_table() is None:
        pytest.skip("no system call table for this machine")
    result = Result(CHECKER.by_id["linux.seccomp.defaultAction"])
    seen = seccomp.probe(result, Caller(), seccomp.syscall_table(), "linux.seccomp.defaultAction", "futex_waitv",
                         (), "SCMP_ACT_ERRNO", None)
    assert seen is None and result.failures == [] and "ENOSYS stub" in result.notes[0]
    assert seccomp.probe(result, Caller(), seccomp.syscall_table(), "linux.seccomp.defaultAction", "create_module",
                         (), "SCMP_ACT_ERRNO", None) == "create_module() fails with EPERM"
    assert seccomp.answered_by_enosys_stub("create_module", seccomp.Outcome("errno", errno.ENOSYS), "errno", errno.EPERM) is False
