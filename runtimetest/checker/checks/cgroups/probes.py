"""Enforcement probes: forking past pids.limit fails with EAGAIN; a child allocating past
the memory limit is refused or killed, and the checker survives.

Both run in forked children, bounded in number, size and time.
"""

import errno
import os
import time

from runtimetest.checker.checks.cgroups.common import as_number, reader
from runtimetest.checker.checks.cgroups.memory import MEMORY
from runtimetest.checker.conditions import CGROUP_MANAGEMENT
from runtimetest.core.facts import time_scale
from runtimetest.core.registry import MUST, check
from runtimetest.linux.cgroupfs import CgroupUnavailable
from runtimetest.linux.proc import meminfo_kib

PIDS_PROBE_MAX = 256  # never start more processes than this
MEMORY_PROBE_MAX = 1 << 30  # never allocate more than this (plus the margin)
MEMORY_PROBE_MARGIN = 32 << 20
# A probe making no progress for PROBE_SECONDS is stalled; none runs longer than
# PROBE_MOST_SECONDS, however slow the machine (an emulated one is ~20x slower).
PROBE_SECONDS = 3
SIGKILL, SIGALRM = 9, 14  # how a probe child ends: at the limit, or at its own alarm
PROBE_MOST_SECONDS = 60
TOO_SLOW = "too slow"


@check("linux.resources.pids.limit.enforced", MUST, "config-linux.md#pids", needs="linux.resources.pids.limit",
       requires=(CGROUP_MANAGEMENT,))
def pids_limit_is_enforced(spec, result):
    """Forking past linux.resources.pids.limit fails with EAGAIN."""
    limit = spec.int("linux.resources.pids.limit")
    if limit <= 0:
        result.skip("no pids limit to probe")
    try:
        group = reader().cgroup("pids")
        current = as_number(group.read("pids.current"))
    except CgroupUnavailable:
        current = None  # the probe still shows whether fork stops, not exactly where
    room = limit - (current or 0)
    if room > PIDS_PROBE_MAX:
        result.skip(f"probing would start {room} processes; only limits up to {PIDS_PROBE_MAX} free are probed")
    seconds = PROBE_MOST_SECONDS * time_scale(spec)
    started, failure = fork_until_refused(limit + 1, seconds)
    if failure == TOO_SLOW:
        result.skip(f"the probe started only {started} processes in {seconds:g}s: too slow to tell")
    if failure is None:
        already = f" with {current} tasks already in the cgroup" if current else ""
        result.fail("linux.resources.pids.limit", limit, f"{started} more processes started",
                    why=f"fork(2) never failed{already}")
    elif failure != errno.EAGAIN:
        result.fail("linux.resources.pids.limit", "fork(2) fails with EAGAIN",
                    errno.errorcode.get(failure, failure), why=f"after {started} processes")
    elif current is not None and started != room:
        result.fail("linux.resources.pids.limit", f"{room} more processes", f"{started}",
                    why=f"fork(2) EAGAIN with {current} tasks in the cgroup before the probe")
    else:
        result.note(f"fork(2) failed with EAGAIN after {started} more processes")


def fork_until_refused(most, seconds=None):
    """Fork children that wait, until fork fails or `most` started; returns (started, why it stopped):
    the errno of the failed fork, TOO_SLOW, or None.

    Every child blocks reading a pipe and exits when it closes; all are reaped
    before returning, and nothing runs longer than `seconds` (PROBE_MOST_SECONDS).
    """
    import signal  # noqa: F401  here, once: children that imported it each would pay in memory

    seconds = PROBE_MOST_SECONDS if seconds is None else seconds
    reader_fd, writer_fd = os.pipe()
    children, failure = [], None
    deadline = time.monotonic() + seconds
    try:
        while len(children) < most:
            if time.monotonic() >= deadline:
                failure = TOO_SLOW
                break
            try:
                pid = os.fork()
            except OSError as error:
                failure = error.errno
                break
            if pid == 0:
                wait_for_close(reader_fd, writer_fd, seconds)
            children.append(pid)
    finally:
        os.close(writer_fd)
        os.close(reader_fd)
        reap(children)
    return len(children), failure


def wait_for_close(reader_fd, writer_fd, seconds):
    """A probe child: block until the checker closes the pipe, then exit at once."""
    try:
        os.close(writer_fd)
        import signal  # imported by the parent before the fork: here a look-up

        signal.alarm(int(seconds) + 10)  # never outlive the probe, whatever happens
        os.read(reader_fd, 1)
    finally:
        os._exit(0)


def reap(children):
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


@check("linux.resources.memory.limit.enforced", MUST, MEMORY, needs="linux.resources.memory.limit",
       requires=(CGROUP_MANAGEMENT,))
def memory_limit_is_enforced(spec, result):
    """A child allocating past linux.resources.memory.limit is refused or killed; the checker survives.

    On cgroup v2, a kill must show in memory.events as the cgroup's own OOM kill.
    """
    limit = spec.int("linux.resources.memory.limit")
    if limit <= 0:
        result.skip("no memory limit to probe")
    if limit > MEMORY_PROBE_MAX:
        result.skip(f"the limit ({limit} bytes) is larger than the probe allocates ({MEMORY_PROBE_MAX})")
    oom_disabled = spec.bool("linux.resources.memory.disableOOMKiller", False)
    swap_room = swap_allowance(spec, limit)
    if swap_room is None:
        result.skip("swap is on and memory+swap is not limited: a child past the limit is swapped, not stopped")
    group = memory_group_to_probe(result)
    kills_before = oom_kills(group)
    target = limit + swap_room + MEMORY_PROBE_MARGIN
    stall = PROBE_SECONDS * time_scale(spec)
    before = limit_hits(group)
    outcome, allocated = allocate_in_child(target, stall, PROBE_MOST_SECONDS * time_scale(spec))
    after = limit_hits(group)
    if outcome.startswith("error"):
        result.skip(f"the probe could not run: {outcome}")
    kills = f"memory.events oom_kill {kills_before} -> {oom_kills(group)}" if kills_before is not None else None
    if outcome == "allocated" or allocated > limit + swap_room:
        result.fail("linux.resources.memory.limit", limit, f"a child allocated {allocated} bytes",
                    why=f"then {outcome}")
    elif outcome == "stalled" and not oom_disabled:
        judge_stall(result, allocated, before, after, stall)
    elif outcome.startswith("killed") and kills is not None and oom_kills(group) == kills_before:
        result.fail("linux.resources.memory.limit", "killed by the cgroup's OOM killer",
                    f"killed at {allocated} bytes", why=f"{kills}: not the cgroup's doing")
    else:
        result.note(f"a child allocating up to {target} bytes was {outcome} after {allocated}"
                    + (f" ({kills})" if kills else ""))


def memory_group_to_probe(result):
    """The container's memory cgroup, or None; SKIPs when an OOM kill would take the checker along."""
    try:
        group = reader().cgroup("memory")
    except CgroupUnavailable:
        return None
    if group.read("memory.oom.group") == "1":
        result.skip("memory.oom.group is set: an OOM kill would take the checker with it")
    return group


def oom_kills(group):
    """The oom_kill count of a v2 cgroup's memory.events, or None where there is none."""
    if group is None or group.version != 2:
        return None
    for line in (group.read("memory.events") or "").splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def limit_hits(group):
    """(counter, value): how often the cgroup met its memory limit, as the kernel counts; None unreadable.

    cgroup v2 counts in memory.events ("max": reclaim at memory.max, "oom_kill"),
    cgroup v1 in memory.failcnt (charges refused at the limit).
    """
    if group is None:
        return None
    if group.version == 2:
        text = group.read("memory.events")
        if text is None:
            return None
        events = dict(line.split(None, 1) for line in text.splitlines() if len(line.split()) == 2)
        return "memory.events max+oom_kill", int(events.get("max", 0)) + int(events.get("oom_kill", 0))
    text = group.read("memory.failcnt")
    return ("memory.failcnt", int(text)) if text and text.isdigit() else None


def judge_stall(result, allocated, before, after, stall):
    """A child still allocating at the alarm: held at the limit (enforced) or just slow, as the counters tell.

    At the limit the kernel reclaims before it OOM-kills: a child whose own
    pages are file-backed (an interpreter unpacked on a disk) is paged in and
    out and can stay below the limit for seconds without being killed.
    """
    stalled = f"the child made no progress for {stall:g}s, at {allocated} bytes"
    if before is None or after is None:
        result.skip(f"{stalled}, and the cgroup's counters (memory.events, memory.failcnt) cannot be "
                    "read to tell whether the limit held it")
    if after[1] > before[1]:
        result.note(f"{stalled}, held at the limit: {after[0]} went from {before[1]} to {after[1]}")
    else:
        result.skip(f"{stalled}, and the cgroup never met its limit ({after[0]} stayed {after[1]}): "
                    "too slow to tell")


def swap_allowance(spec, limit):
    """How far past the limit swap could carry a child: 0 without swap, None when unbounded."""
    try:
        swap = meminfo_kib("SwapTotal") or 0
    except (OSError, ValueError):
        swap = 0
    if swap == 0:
        return 0
    memsw = spec.int("linux.resources.memory.swap")
    if memsw is None or memsw < 0:
        return None
    return max(memsw - limit, 0)


PROBE_CHUNK = 1 << 20
TOO_SLOW_EXIT = 5


def allocate_in_child(target, stall=None, most=None):
    """Fork a child that touches up to `target` bytes; (how it ended, bytes it got).

    It ends refused, killed, allocated, or stalled (no progress for `stall`
    seconds, PROBE_SECONDS: its own alarm ends it), and gives up after `most`
    (PROBE_MOST_SECONDS). It reports each MiB it holds on a pipe, so the
    checker knows how far it got. The checker only waits: at a limit with the
    OOM killer off, anything it allocated would stall it too.
    """
    import signal  # noqa: F401  before the fork: the child's memory is the probe's measure

    stall = PROBE_SECONDS if stall is None else stall
    most = PROBE_MOST_SECONDS if most is None else most
    reader_fd, writer_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:
        os.close(reader_fd)
        os.close(writer_fd)
        return f"error: fork: {error.strerror}", 0
    if pid == 0:
        os.close(reader_fd)
        allocate_and_exit(target, writer_fd, stall, most)
    os.close(writer_fd)
    # Blocking wait: the child ends by itself within its alarms.
    _, status = os.waitpid(pid, 0)
    allocated = drain(reader_fd) * PROBE_CHUNK
    os.close(reader_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == SIGKILL:
            return "killed (SIGKILL)", allocated
        if sig == SIGALRM:
            return "stalled", allocated
        return f"error: child died of signal {sig}", allocated
    code = os.WEXITSTATUS(status)
    if code == TOO_SLOW_EXIT:
        return f"error: too slow to tell: {allocated >> 20} MiB in {most:g}s", allocated
    return {0: "allocated", 3: "refused (MemoryError)"}.get(code, f"error: child exited {code}"), allocated


def drain(fd):
    count = 0
    while True:
        data = os.read(fd, 65536)
        if not data:
            return count
        count += len(data)


def charge_chunk():
    return b"\1" * PROBE_CHUNK  # written, so every page is really charged


def allocate_and_exit(target, progress_fd, stall, most):
    """The memory probe child: first in line for the OOM killer, bounded in time.

    Its alarm is set again before each MiB: SIGALRM (default action: terminate)
    ends it once one MiB takes `stall` seconds, as at a limit with the OOM
    killer off; after `most` seconds it gives up.
    """
    code = 4
    try:
        import signal  # imported by the parent before the fork: here a look-up

        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
        kept, started = [], time.monotonic()
        try:
            code = 0
            while len(kept) * PROBE_CHUNK < target:
                if time.monotonic() - started > most:
                    code = TOO_SLOW_EXIT
                    break
                signal.alarm(max(1, round(stall)))
                kept.append(charge_chunk())
                os.write(progress_fd, b".")
        except MemoryError:
            code = 3
    finally:
        os._exit(code)
