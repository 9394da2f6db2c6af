"""The enforcement probes' own bounds, on this host (no limit applies here).

In containers, cgroups-pids* and cgroups-memory* show them refused; here they
must stop by themselves, at their bound, and leave no child behind.
"""

import os
import time

from runtimetest.checks import cgroups


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
    from runtimetest.checker import run_check
    from runtimetest.registry import CHECKER
    from runtimetest.spec import Spec

    spec = Spec({"linux": {"resources": {"memory": {"limit": 4 << 30}}}})
    result = run_check(CHECKER.by_id["linux.resources.memory.limit.enforced"], spec)
    assert result.status == "skip" and "larger than the probe allocates" in result.skip_reason
