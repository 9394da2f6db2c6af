"""The enforcement probes' own bounds, on this host (no limit applies here).

In containers, cgroups-pids* and cgroups-memory* show them refused; here they
must stop by themselves, at their bound, and leave no child behind.
"""

import os
import time

from runtimetest.checker.checks.cgroups import probes as cgroups
from runtimetest.linux.cgroupfs import Cgroup


def children_of_this_process():
    mine = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == mine:
                found.append(int(pid))
    return found


def test_fork_probe_stops_at_its_bound_and_reaps_every_child():
    before = children_of_this_process()
    started, failure = cgroups.fork_until_refused(5)
    assert (started, failure) == (5, None)
    assert children_of_this_process() == before


def test_memory_probe_child_reports_what_it_got_and_is_reaped():
    before = children_of_this_process()
    started = time.monotonic()
    outcome, allocated = cgroups.allocate_in_child(8 << 20)
    assert outcome == "allocated" and allocated >= 8 << 20
    assert time.monotonic() - started < cgroups.PROBE_SECONDS
    assert children_of_this_process() == before


def test_memory_probe_refuses_limits_it_will_not_allocate(monkeypatch):
    from runtimetest.checker.main import run_check
    from runtimetest.core.registry import CHECKER
    from runtimetest.core.spec import Spec

    spec = Spec({"linux": {"resources": {"memory": {"limit": 4 << 30}}}})
    result = run_check(CHECKER.by_id["linux.resources.memory.limit.enforced"], spec)
    assert result.status == "skip" and "larger than the probe allocates" in result.skip_reason


MEMORY_EVENTS = "low 0\nhigh 0\nmax {max}\noom 0\noom_kill {kill}\noom_group_kill 0\n"


def stalled_probe(monkeypatch, tmp_path, version, counts):
    """The memory probe with a child that stalls, against a cgroup directory whose counters move as given."""
    from runtimetest.checker.main import run_check
    from runtimetest.core.registry import CHECKER
    from runtimetest.core.spec import Spec

    group = Cgroup(version, str(tmp_path))
    steps = iter(counts)

    def write_counters():
        hits = next(steps, None)
        if hits is None:
            return  # no counters to read
        if version == 2:
            (tmp_path / "memory.events").write_text(MEMORY_EVENTS.format(max=hits, kill=0))
        else:
            (tmp_path / "memory.failcnt").write_text(f"{hits}\n")
    write_counters()

    def stalls(target, stall=None, most=None):
        write_counters()
        return "stalled", 255 << 20
    monkeypatch.setattr(cgroups, "reader", lambda: type("R", (), {"cgroup": lambda self, c: group})())
    monkeypatch.setattr(cgroups, "allocate_in_child", stalls)
    monkeypatch.setattr(cgroups, "swap_allowance", lambda spec, limit: 0)
    spec = Spec({"linux": {"resources": {"memory": {"limit": 256 << 20}}}})
    return run_check(CHECKER.by_id["linux.resources.memory.limit.enforced"], spec)


def test_a_stalled_child_held_at_the_limit_is_enforcement(monkeypatch, tmp_path):
    for version in (1, 2):
        result = stalled_probe(monkeypatch, tmp_path, version, [3, 4120])
        assert result.status == "pass", result.failures
        assert "held at the limit" in result.notes[0]


def test_a_stalled_child_without_evidence_is_a_skip_with_the_reason(monkeypatch, tmp_path):
    result = stalled_probe(monkeypatch, tmp_path, 2, [7, 7])
    assert result.status == "skip" and "never met its limit (memory.events max+oom_kill stayed 7)" in result.skip_reason
    result = stalled_probe(monkeypatch, tmp_path / "gone", 1, [])
    assert result.status == "skip" and "cannot be read" in result.skip_reason


def test_memory_probe_child_without_progress_is_stalled_and_reaped(monkeypatch):
    chunks = []

    def hang_after_one():  # as at a limit with the OOM killer off
        if chunks:
            time.sleep(30)
        chunks.append(1)
        return b"\1" * cgroups.PROBE_CHUNK

    monkeypatch.setattr(cgroups, "charge_chunk", hang_after_one)
    before = children_of_this_process()
    started = time.monotonic()
    assert cgroups.allocate_in_child(8 << 20) == ("stalled", 1 << 20)
    assert time.monotonic() - started < cgroups.PROBE_SECONDS + 2
    assert children_of_this_process() == before


def test_memory_probe_that_progresses_slowly_is_not_stalled_but_bounded(monkeypatch):
    def slow():  # an emulated machine: slow, but never stalled
        time.sleep(0.3)
        return b"\1" * cgroups.PROBE_CHUNK

    monkeypatch.setattr(cgroups, "charge_chunk", slow)
    monkeypatch.setattr(cgroups, "PROBE_MOST_SECONDS", 1)
    outcome, allocated = cgroups.allocate_in_child(64 << 20)
    assert outcome == f"error: too slow to tell: {allocated >> 20} MiB in 1s" and allocated >= 2 << 20
    assert children_of_this_process() == []


def test_fork_probe_out_of_time_is_too_slow_not_unlimited(monkeypatch):
    monkeypatch.setattr(cgroups, "PROBE_MOST_SECONDS", 0)
    assert cgroups.fork_until_refused(5) == (0, cgroups.TOO_SLOW)
