"""linux.devices, the allow-list reading, masked and read-only paths, sysctl: with fakes on this host."""

import errno
import os
import stat

from runtimetest.checker.main import run_check
from runtimetest.checker.checks import devices, paths, sysctl
from runtimetest.core.registry import CHECKS
from runtimetest.core.spec import Spec

BY_ID = {c.id: c for c in CHECKS}


def run(check_id, data):
    return run_check(BY_ID[check_id], Spec(data))


def rules(*entries):
    return [devices.Rule(view) for view in Spec({"d": list(entries)}).items("d")]


DENY_ALL = {"allow": False, "access": "rwm"}


def test_verdicts_where_both_readings_agree():
    listed = rules(DENY_ALL, {"allow": True, "type": "c", "major": 42, "minor": 0, "access": "rw"},
                   {"allow": True, "type": "c", "major": 42, "minor": 1, "access": "r"},
                   {"allow": True, "type": "b", "major": 7, "access": "r"})
    verdict = devices.expected_verdict
    assert verdict(listed, "c", 42, 0, "w") is True
    assert verdict(listed, "c", 42, 1, "r") is True and verdict(listed, "c", 42, 1, "w") is False
    assert verdict(listed, "b", 7, 3, "r") is True and verdict(listed, "b", 7, 3, "w") is False
    assert verdict(listed, "c", 250, 0, "r") is False


def test_a_hole_punched_in_a_wildcard_is_left_undecided():
    # Last match says denied; cgroup v1 keeps the c 42:* exception: the readings disagree.
    listed = rules(DENY_ALL, {"allow": True, "type": "c", "major": 42, "access": "rw"},
                   {"allow": False, "type": "c", "major": 42, "minor": 1, "access": "w"})
    assert devices.expected_verdict(listed, "c", 42, 1, "w") is None
    assert devices.expected_verdict(listed, "c", 42, 1, "r") is True


def test_without_a_wildcard_entry_nothing_is_decided():
    listed = rules({"allow": True, "type": "c", "major": 42, "access": "rw"})
    assert devices.expected_verdict(listed, "c", 42, 0, "r") is None


def test_an_exact_entry_removes_access_from_its_exception():
    listed = rules(DENY_ALL, {"allow": True, "type": "c", "major": 42, "minor": 0, "access": "rw"},
                   {"allow": False, "type": "c", "major": 42, "minor": 0, "access": "w"})
    assert devices.expected_verdict(listed, "c", 42, 0, "w") is False
    assert devices.expected_verdict(listed, "c", 42, 0, "r") is True


def test_open_verdict_reads_the_controllers_answer(monkeypatch):
    def raising(number):
        def fake_open(path, flags):
            raise OSError(number, os.strerror(number))
        return fake_open

    for number, verdict in ((errno.EPERM, False), (errno.EACCES, None), (errno.ENXIO, True)):
        monkeypatch.setattr(devices.os, "open", raising(number))
        assert devices.open_verdict("/dev/x", "r") is verdict


def test_registered_majors_and_safety(monkeypatch, tmp_path):
    fake = tmp_path / "devices"
    fake.write_text("Character devices:\n  1 mem\n 10 misc\n249 watchdog\n\nBlock devices:\n  7 loop\n254 virtblk\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: real_open(fake if p == "/proc/devices" else p, *a, **k))
    registered = devices.registered_majors()
    assert registered == {"c": {1, 10, 249}, "b": {7, 254}}
    assert devices.safe_to_open("c", 42, 0, registered)
    assert devices.safe_to_open("c", 10, 229, registered) and devices.safe_to_open("b", 7, 3, registered)
    assert not devices.safe_to_open("c", 249, 0, registered)  # a watchdog arms on open
    assert not devices.safe_to_open("b", 254, 0, registered)
    assert devices.unregistered_major("c", registered, set()) == 240


def test_linux_devices_against_nodes_on_this_host(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    os.chmod(fifo, 0o640)
    info = os.stat("/dev/null")
    good = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": stat.S_IMODE(info.st_mode),
             "uid": info.st_uid, "gid": info.st_gid},
            {"path": str(fifo), "type": "p", "fileMode": 0o640}]
    assert run("linux.devices", {"linux": {"devices": good}}).failures == []
    bad = [{"path": "/dev/null", "type": "b", "major": 1, "minor": 3},
           {"path": "/dev/null", "type": "u", "major": 1, "minor": 4, "fileMode": 0o600},
           {"path": str(tmp_path / "none"), "type": "c", "major": 1, "minor": 3},
           {"path": "/dev/null", "type": "x"}]
    assert run("linux.devices", {"linux": {"devices": bad}}).failures == [
        'linux.devices[0].type: expected "b", found "c" (/dev/null)',
        "linux.devices[1].minor: expected 4, found 3 (/dev/null)",
        f'linux.devices[1].fileMode: expected "0600", found "{oct(stat.S_IMODE(info.st_mode))[2:]:0>4}" (/dev/null)',
        f'linux.devices[2].path: expected "{tmp_path / "none"}", found "missing"',
        "linux.devices[3].type: should be one of c, b, u, p, found 'x'",
    ]


def test_masked_paths(tmp_path):
    empty_dir, full_dir, empty_file, full_file = (tmp_path / n for n in ("ed", "fd", "ef", "ff"))
    empty_dir.mkdir()
    full_dir.mkdir()
    (full_dir / "x").write_text("x")
    empty_file.write_text("")
    full_file.write_text("secret")
    listed = [str(empty_dir), str(full_dir), str(empty_file), str(full_file), str(tmp_path / "absent"), "rel"]
    result = run("linux.maskedPaths", {"linux": {"maskedPaths": listed}})
    assert result.failures == [
        f'linux.maskedPaths[1]: expected "{full_dir} unreadable", found "a directory listing 1 entries"',
        f'linux.maskedPaths[3]: expected "{full_file} unreadable", found "readable content"',
        "linux.maskedPaths[5]: spec field should be an absolute path, found 'rel'",
    ]


def test_readonly_paths_on_a_writable_filesystem_fail_and_leave_nothing(tmp_path):
    directory, regular = tmp_path / "d", tmp_path / "f"
    directory.mkdir()
    regular.write_text("keep")
    result = run("linux.readonlyPaths", {"linux": {"readonlyPaths": [str(directory), str(regular), "/dev/null",
                                                                     str(tmp_path / "absent")]}})
    assert result.failures == [
        f'linux.readonlyPaths[0]: expected "EROFS on write", found "writable" ({directory})',
        f'linux.readonlyPaths[1]: expected "EROFS on write", found "writable" ({regular})',
        'linux.readonlyPaths[2]: expected "/dev/null on a read-only mount", found "read-write mount"',
    ]
    assert os.listdir(directory) == [] and regular.read_text() == "keep"
    assert result.notes == [f"{tmp_path / 'absent'} does not exist here: nothing to make read-only"]


def test_readonly_paths_refused_by_permissions_on_a_readonly_mount_pass(monkeypatch, tmp_path):
    regular = tmp_path / "f"
    regular.write_text("")

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(paths.os, "statvfs", lambda path: ReadOnly())
    monkeypatch.setattr(paths, "write_error", lambda path, info: errno.EACCES)
    assert run("linux.readonlyPaths", {"linux": {"readonlyPaths": [str(regular)]}}).failures == []


def test_a_device_without_driver_is_judged_by_its_mount_not_by_a_read(tmp_path):
    node = tmp_path / "no-driver"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(42, 0))  # 42: no driver serves it
    try:
        os.close(os.open(node, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        assert error.errno in (errno.ENXIO, errno.ENODEV)
    result = run("linux.readonlyPaths", {"linux": {"readonlyPaths": [str(node)]}})
    # This mount is read-write: that, and only that, fails.
    assert result.failures == [f'linux.readonlyPaths[0]: expected "{node} on a read-only mount", found "read-write mount"']
    assert "driver is absent" in result.notes[0]


def test_sysctl_values_are_compared_as_words(monkeypatch, tmp_path):
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "ip_local_port_range").write_text("32768\t60999\n")
    (tmp_path / "kernel").mkdir()
    (tmp_path / "kernel" / "shm_rmid_forced").write_text("1\n")
    monkeypatch.setattr(sysctl, "PROC_SYS", str(tmp_path))
    ok = {"net.ipv4.ip_local_port_range": "32768 60999", "kernel/shm_rmid_forced": "1"}
    assert run("linux.sysctl", {"linux": {"sysctl": ok}}).failures == []
    bad = {"net.ipv4.ip_local_port_range": "1 2", "kernel.nope": "1", "kernel.shm_rmid_forced": 1}
    assert run("linux.sysctl", {"linux": {"sysctl": bad}}).failures == [
        f'linux.sysctl[net.ipv4.ip_local_port_range]: expected "1 2", found "32768 60999" '
        f"({tmp_path}/net/ipv4/ip_local_port_range)",
        f'linux.sysctl[kernel.nope]: expected "1", found "no such sysctl" ({tmp_path}/kernel/nope)',
        "linux.sysctl[kernel.shm_rmid_forced]: spec field should be a string, found 1",
    ]
