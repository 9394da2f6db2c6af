"""The checker under hostile specs: nothing a spec holds makes it crash, hang or
read without bound (issue 11). These run the checker from source on this host;
tests/containers/test_fuzz_checker.py runs the static binary inside real containers."""

import json
import os
import random
import time

import pytest

from conftest import run_checker
from runtimetest.core.bounded import ReadLimit, read_bounded
from runtimetest.checker.main import run_check
from runtimetest.checker.checks import devices, paths
from runtimetest.core.registry import CHECKS
from runtimetest.core.spec import Spec

BY_ID = {c.id: c for c in CHECKS}


def failure_lines(run):
    return run.stderr.splitlines()


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000,
                                  "[" * 100000])
def test_deep_nesting_is_one_spec_file_failure(tmp_path, text):
    run = run_checker(text, tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    [line] = failure_lines(run)
    assert line.startswith("spec.file: ") and line.endswith("[MUST config.md#configuration]"), line
    assert run.stdout.startswith("TAP version 13\n") and run.stdout.rstrip().endswith("skipped")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/full"])
def test_an_endless_device_is_read_to_a_bound(device):
    started = time.monotonic()
    with pytest.raises(ReadLimit, match="larger than 4096 bytes"):
        read_bounded(device, limit=4096)
    assert time.monotonic() - started < 1


def test_a_terminal_or_fifo_without_data_is_given_up_in_time(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDWR)  # a writer that never writes: a plain read would block
    try:
        for path in ("/dev/ptmx", str(fifo)):
            started = time.monotonic()
            with pytest.raises(ReadLimit, match="did not end within 0.3s"):
                read_bounded(path, timeout=0.3)
            assert time.monotonic() - started < 2, path
    finally:
        os.close(holder)


def test_a_spec_that_is_a_device_is_one_spec_file_failure(tmp_path):
    started = time.monotonic()
    run = run_checker_at("/dev/zero")
    assert time.monotonic() - started < 10
    assert failure_lines(run) == [
        "spec.file: cannot read /dev/zero: larger than 67108864 bytes [MUST config.md#configuration]"]
    assert run.returncode == 0


def run_checker_at(path):
    from conftest import runtimetest

    return runtimetest("--spec", path, "spec.file", timeout=60)


@pytest.mark.parametrize("key", ["../../../dev/zero", "../../../dev/ptmx", "/dev/full", "net/../../../dev/urandom",
                                 "kernel..hostname", ".kernel", "kernel.", "", "kernel.host\u0000name"])
def test_a_sysctl_key_that_leaves_proc_sys_is_a_failure_naming_it(key):
    started = time.monotonic()
    result = run_check(BY_ID["linux.sysctl"], Spec({"linux": {"sysctl": {key: "1"}}}))
    assert time.monotonic() - started < 1
    [failure] = result.failures
    assert failure == f"linux.sysctl[{json.dumps(key)}]: not a sysctl name: a key is dotted words " \
                      "naming a file under /proc/sys"


def test_dotted_and_slashed_keys_inside_proc_sys_still_read():
    hostname = open("/proc/sys/kernel/hostname").read().strip()
    for key in ("kernel.hostname", "kernel/hostname"):
        result = run_check(BY_ID["linux.sysctl"], Spec({"linux": {"sysctl": {key: hostname}}}))
        assert result.status == "pass", result.failures


def old_exceptions_verdict(rules, kind, major, minor, access):
    """The cgroup v1 reading as first written (a list of exceptions rewritten per entry): the reference."""
    default, exceptions = None, []
    for rule in rules:
        if rule.everything:
            default, exceptions = rule.allow, []
        elif default is None or rule.allow != default:
            exceptions.append((rule, set(rule.access)))
        else:
            exceptions = [(r, acc - set(rule.access)) if r.same_device(rule) else (r, acc)
                          for r, acc in exceptions]
    if default is None:
        return None
    excepted = any(access in acc and r.matches(kind, major, minor) for r, acc in exceptions)
    return (not default) if excepted else default


def random_rule(rng):
    entry = {"allow": rng.random() < 0.5, "type": rng.choice("acb"), "access": "".join(
        sorted(rng.sample("rwm", rng.randint(1, 3))))}
    if entry["type"] != "a" or rng.random() < 0.3:
        entry["major"] = rng.choice([-1, 42, 43])
        entry["minor"] = rng.choice([-1, 0, 1])
    return entry


def test_the_linear_allow_list_reading_gives_the_same_verdicts():
    rng = random.Random(11)
    for _ in range(3000):
        listed = [devices.Rule(v) for v in Spec({"d": [random_rule(rng) for _ in range(rng.randint(1, 8))]}).items("d")]
        for kind, major, minor, access in [(k, ma, mi, a) for k in "cb" for ma in (42, 43) for mi in (0, 1)
                                           for a in "rw"]:
            assert devices.exceptions_verdict(listed, kind, major, minor, access) == \
                old_exceptions_verdict(listed, kind, major, minor, access)


def test_ten_thousand_device_rules_are_judged_in_linear_time(monkeypatch):
    made = []
    monkeypatch.setattr(devices, "registered_majors", lambda path=None: {"c": {1, 5}, "b": set()})
    monkeypatch.setattr(devices, "has_capability", lambda number: True)
    monkeypatch.setattr(devices, "make_probe", lambda *node: made.append(node) or devices.Probe(*node, "/x"))
    monkeypatch.setattr(devices, "open_verdict", lambda path, access: False)
    listed = [{"allow": False, "access": "rwm"}] + [
        {"allow": True, "type": "c", "major": 240 + i % 10, "minor": i, "access": "rw"} for i in range(10000)]
    started = time.monotonic()
    result = run_check(BY_ID["linux.resources.devices"], Spec({"linux": {"resources": {"devices": listed}}}))
    assert time.monotonic() - started < 5  # 10,000 entries took > 100 s before
    assert len(made) == devices.MAX_PROBES
    assert "the list names 10000 devices: nodes are made for the first 63 only" in result.notes
    assert len(result.failures) == 2 * (devices.MAX_PROBES - 1)  # every allowed node was refused


def test_a_huge_allow_list_is_a_skip_saying_why():
    listed = [{"allow": True, "access": "rwm"}] * (devices.MAX_RULES + 1)
    result = run_check(BY_ID["linux.resources.devices"], Spec({"linux": {"resources": {"devices": listed}}}))
    assert result.status == "skip" and f"has {devices.MAX_RULES + 1} entries" in result.skip_reason


def test_a_million_masked_paths_are_judged_in_part_with_a_note():
    listed = ["/nonexistent-masked"] * 1_000_000 + [5]
    started = time.monotonic()
    result = run_check(BY_ID["linux.maskedPaths"], Spec({"linux": {"maskedPaths": listed}}))
    assert time.monotonic() - started < 5  # 2,000,000 took 11 s before
    assert result.notes == [f"linux.maskedPaths has 1000001 entries: only the first {paths.MAX_PATHS} are checked"]


def test_each_spec_mode_judges_every_spec_in_a_child_and_bounds_it(tmp_path):
    from conftest import runtimetest

    (tmp_path / "good.json").write_text("{}")
    (tmp_path / "deep.json").write_text("[" * 1000)
    (tmp_path / "list").write_text(f"{tmp_path / 'good.json'}\n{tmp_path / 'deep.json'}\n/dev/ptmx\n")
    out = tmp_path / "out"
    out.mkdir()
    run = runtimetest("--each-spec", str(tmp_path / "list"), str(out), "--timeout", "1", timeout=60)
    assert run.returncode == 0, run.stderr
    status = {line.split()[0]: int(line.split()[1]) for line in (out / "status").read_text().splitlines()}
    assert status == {"good.json": 0, "deep.json": 0, "ptmx": 137}  # /dev/ptmx: killed at the bound
    assert (out / "good.json.out").read_text().startswith("TAP version 13\n")
    assert (out / "deep.json.err").read_text().startswith("spec.file: ")
