"""`runtimetest clean` and the state directory against hostile state (issue 11):
as root, with records owned by someone else, symlinks planted, a 0777
directory, a --keep-logs directory holding the user's files, a zombie driver,
a record from another pid namespace. Each of these misbehaved before."""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, requires_root
from fakes.harness import FAKE_RUNTIME, NOTHING, Fake, stop, wait_for
from runtimetest.driver import record

pytestmark = requires_root
NOBODY = 65534


@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    yield made
    made.clean()


def clean(state, *extra):
    return subprocess.run([sys.executable, "-m", "runtimetest", "clean", "--state-dir", str(state), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def planted_record(state, name, data, owner=None):
    state.mkdir(mode=0o700, exist_ok=True)
    path = state / name
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    if owner is not None:
        os.chown(path, owner, owner)
    return path


def evil_program(tmp_path):
    """A 'runtime' that proves it ran by leaving a file."""
    proof = tmp_path / "the-record-program-ran"
    program = tmp_path / "evil"
    program.write_text(f"#!/bin/sh\ntouch {proof}\n")
    program.chmod(0o755)
    return str(program), proof


def victim_dir(tmp_path):
    victim = tmp_path / "users-files"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    return victim


def dead_driver_record(tmp_path, program, victim, adapter="oci"):
    return {"pid": None, "start": None, "runtime": {"adapter": adapter, "program": program, "extra_args": []},
            "work": str(victim), "containers": {"rtt-x-1": {"bundle": str(victim), "work": str(victim / "w")}}}


def test_an_existing_state_dir_writable_by_others_is_refused(fake):
    fake.state.mkdir()
    os.chmod(fake.state, 0o777)
    fake.case("passes")
    run = fake.run()
    assert run.returncode == 2 and "writable by others (mode 0777): refusing to use it" in run.stderr
    cleaned = clean(fake.state)
    assert cleaned.returncode == 2 and "writable by others (mode 0777)" in cleaned.stderr


def test_a_state_dir_of_another_user_is_refused(fake):
    fake.state.mkdir(mode=0o700)
    os.chown(fake.state, NOBODY, NOBODY)
    fake.case("passes")
    run = fake.run()
    assert run.returncode == 2 and f"owned by uid {NOBODY}, not by you (uid 0)" in run.stderr


def test_a_state_dir_that_is_a_symlink_is_refused(fake, tmp_path):
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    os.symlink(tmp_path / "elsewhere", fake.state)
    fake.case("passes")
    run = fake.run()
    assert run.returncode == 2 and "a symlink: refusing to use it" in run.stderr


def test_a_record_owned_by_another_user_is_neither_run_nor_trusted(tmp_path):
    program, proof = evil_program(tmp_path)
    victim = victim_dir(tmp_path)
    state = tmp_path / "state"
    path = planted_record(state, "driver-1.json", dead_driver_record(tmp_path, program, victim), owner=NOBODY)
    cleaned = clean(state, "--runtime", FAKE_RUNTIME)
    assert f"left {path}: owned by uid {NOBODY}, not by you (uid 0): not a record to trust" in cleaned.stdout
    assert not proof.exists() and (victim / "precious").exists() and path.exists()


def test_clean_never_runs_the_program_a_record_names(tmp_path):
    program, proof = evil_program(tmp_path)
    victim = victim_dir(tmp_path)
    state = tmp_path / "state"
    planted_record(state, "driver-1.json", dead_driver_record(tmp_path, program, victim))
    planted_record(state, "driver-2.json", dead_driver_record(tmp_path, program, victim, adapter="runc"))
    cleaned = clean(state)
    assert not proof.exists(), cleaned.stdout
    assert f"a record made with {program!r} (no adapter of its own): pass --runtime" in cleaned.stdout
    # The runc record is cleaned with runc from PATH: the container is unknown to it, so it is gone.
    assert "removed container rtt-x-1" in cleaned.stdout
    assert f"not removing bundle {victim}: it holds no marker of this driver's" in cleaned.stdout
    assert (victim / "precious").exists()


def test_a_symlink_planted_where_a_record_is_written_is_replaced_not_followed(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "root-owned-file"
    victim.write_text("untouched")
    for name in (f"driver-{os.getpid()}.json.tmp", f"driver-{os.getpid()}.json"):
        os.symlink(victim, state / name)
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    live = record.Record(str(state), {"adapter": "runc", "program": "runc", "extra_args": []}, str(work))
    live.close()
    assert victim.read_text() == "untouched"


def test_a_planted_symlink_record_is_not_trusted(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = planted_record(tmp_path / "other", "record.json", dead_driver_record(tmp_path, "x", tmp_path))
    os.symlink(target, state / "driver-9.json")
    cleaned = clean(state)
    assert f"left {state / 'driver-9.json'}: a symlink: not a record to trust" in cleaned.stdout


def test_clean_keeps_the_users_keep_logs_directory(fake, tmp_path):
    logs = victim_dir(tmp_path)
    stop(fake.start_sleeper("--keep-logs", str(logs)), signal.SIGKILL)
    cleaned = fake.clean()
    assert "1 container(s) removed" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert (logs / "precious").read_text() == "keep me"
    assert [name for name in os.listdir(logs) if name.startswith("sleeps-")], "the case's logs were asked to be kept"
    assert fake.leftovers() == NOTHING


def test_a_zombie_driver_counts_as_dead(fake):
    driver = fake.start_sleeper()
    try:
        os.kill(driver.pid, signal.SIGKILL)
        wait_for(lambda: open(f"/proc/{driver.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z")
        cleaned = fake.clean()  # the driver is a zombie: not reaped yet
        assert "1 container(s) removed" in cleaned.stdout, cleaned.stdout
    finally:
        stop(driver)
    assert fake.leftovers() == NOTHING


def test_a_record_from_another_pid_namespace_is_left_and_said_so(tmp_path):
    victim = victim_dir(tmp_path)
    state = tmp_path / "state"
    data = dead_driver_record(tmp_path, "runc", victim, adapter="runc")
    data.update(pid=7, start=1, pidns=1)  # pid 7 of a namespace that is not ours
    path = planted_record(state, "driver-7.json", data)
    cleaned = clean(state)
    assert (f"left {path}: its driver (pid 7) ran in another pid namespace (pid:[1]): whether it still runs "
            "cannot be told from here") in cleaned.stdout
    assert path.exists() and (victim / "precious").exists()


def children_of(parent):
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
        except (OSError, IndexError):
            pass
    return found


def test_a_driver_in_another_pid_namespace_keeps_its_containers(fake, tmp_path):
    driver = fake.start_sleeper(prefix=["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
    try:
        cleaned = fake.clean()
        assert "ran in another pid namespace" in cleaned.stdout and "0 container(s) removed" in cleaned.stdout
        assert len(fake.running_containers()) == 1
    finally:
        for pid in children_of(driver.pid):  # the driver (unshare itself ignores SIGTERM)
            os.kill(pid, signal.SIGTERM)
        driver.communicate(timeout=60)
    left = fake.leftovers(wait=0)  # (the fake noted pids of the other namespace: not comparable here)
    assert (left["containers"], left["bundles"], left["records"]) == ([], [], [])
