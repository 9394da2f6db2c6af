"""`runtimetest bench`: what the checker costs per container, and where it goes.

Bundles with the same base config, each running one program in the container:

  floor        a static no-op (`busybox true`): what any container pays
  interpreter  hello world frozen by the checker's own recipe: starting the
               static interpreter and importing from its archive
  imports      the checker with --version: it imports every check module
  checker      the checker on its default spec: every check, TAP and stderr
  peer         (with --peer) another checker, run as runtime-tools' harness
               runs its runtimetest: `--path=/`, the config at /config.json

They run alternately, several times each, in one go, so that machine noise
hits all alike; the report gives medians, the ratio of the checker to the
floor, and the differences between neighbours as the breakdown. Nothing is
unpacked at start (the binary imports from itself), so that step costs 0.

Wall time is from `create` to the container process's exit. Peak RSS is the
largest resident set of the container's processes (wait4 on the container
process, which the driver reaps as subreaper); cgroup peak is what the
container's memory cgroup shows.
"""

import json
import os
import shutil
import statistics
import tempfile
import time

from runtimetest.driver import cgroups
from runtimetest.driver.bundle import base_config, write_bundle
from runtimetest.driver.runtimes import RuntimeFault

FLOOR_PROGRAMS = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox():
    for path in FLOOR_PROGRAMS:
        if os.path.isfile(path):
            return path
    raise RuntimeFault("no static busybox for the floor (Debian: busybox-static)")


def run_once(runtime, bundle, cid, work, config, any_exit=False):
    log = os.path.join(work, "runtime.log")
    pid_file = os.path.join(work, f"{cid}.pid")
    watch = None
    with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as out:
        started = time.monotonic()
        created = runtime.create(cid, bundle.path, pid_file, stdin, out, out, log, config)
        try:
            if not created.ok:
                raise RuntimeFault(created.describe())
            runtime.children.adopted()
            with open(pid_file) as handle:
                pid = int(handle.read())
            if not runtime.start(cid, log).ok:
                raise RuntimeFault(f"`start {cid}` failed")
            watch = runtime.watch(cid, pid, started, log)
            exit = watch.wait(60)
            wall = time.monotonic() - started
            if exit is None or (exit.code != 0 and not any_exit):
                raise RuntimeFault(f"{cid}: {exit.describe() if exit else 'did not exit in 60s'}")
            rss = exit.peak_rss_kib / 1024 if exit.peak_rss_kib is not None else None
            return wall, rss, cgroups.peak_memory(config["linux"]["cgroupsPath"])
        finally:
            runtime.delete(cid, log, force=True)
            if watch is not None:
                watch.close()
            runtime.forget(cid)


# Where the recipe's hello world is built, next to the checker.
HELLO_NAME = "runtimetest-hello"
TARGETS = {"wall": 2.0, "rss_mib": 12.0}


def programs(checker, hello, peer, peer_config):
    """(label, args, extra files) of each bundle, in the breakdown's order."""
    busybox = find_busybox()
    rows = [("floor", ["/busybox", "true"], [(busybox, "/busybox")])]
    if hello is not None:
        rows.append(("interpreter", ["/hello"], [(hello, "/hello")]))
    rows.append(("imports", ["/runtimetest", "--version"], []))
    rows.append(("checker", ["/runtimetest"], []))
    if peer is not None:
        rows.append(("peer", ["/peer", "--path=/"], [(peer, "/peer"), (peer_config, "/config.json")]))
    return rows


def measure(runtime, checker, runs, out, hello=None, peer=None):
    work = tempfile.mkdtemp(prefix="runtimetest-bench-")
    bundles = {}
    try:
        # The peer reads the config it runs under, as its harness gives it.
        peer_config = os.path.join(work, "peer-config.json")
        for label, args, extra in programs(checker, hello, peer, peer_config):
            config = base_config()
            config["process"]["args"] = args
            config["linux"]["cgroupsPath"] = f"/runtimetest/bench-{label}-{os.getpid()}"
            if label == "peer":
                with open(peer_config, "w") as handle:
                    json.dump(config, handle)
            bundles[label] = (write_bundle(config, config, checker, extra_files=extra), config)
        samples = {label: [] for label in bundles}
        for run in range(runs):
            for label, (bundle, config) in bundles.items():
                cid = f"rtt-bench-{label}-{os.getpid()}-{run}"
                # The peer's verdicts are its own (it exits 1 on a failed check): only its cost counts.
                samples[label].append(run_once(runtime, bundle, cid, work, config, any_exit=label == "peer"))
        report(samples, runs, runtime, out)
    finally:
        for bundle, _ in bundles.values():
            bundle.remove()
        shutil.rmtree(work, ignore_errors=True)


def medians(values):
    walls = [wall for wall, _, _ in values]
    rss = [peak for _, peak, _ in values if peak is not None] or [float("nan")]
    memory = [m for _, _, m in values if m is not None]
    return statistics.median(walls), statistics.median(rss), statistics.median(memory) if memory else None


BREAKDOWN = (("interpreter", "interpreter start and its archive"),
             ("imports", "imports of the check modules"),
             ("checker", "checks, TAP and stderr"))


def report(samples, runs, runtime, out):
    typical = {label: medians(values) for label, values in samples.items()}
    out.write(f"runtimetest bench: {runs} runs each with {runtime.name}, alternating\n")
    out.write(f"{'':12} {'wall (median)':>14} {'peak RSS':>10} {'cgroup peak':>12}\n")
    for label, (wall, rss, memory) in typical.items():
        memory_text = f"{memory / 2**20:8.1f} MiB" if memory is not None else "         n/a"
        out.write(f"{label:12} {wall * 1000:11.1f} ms {rss:6.1f} MiB {memory_text}\n")
    out.write("breakdown (difference from the row before):\n")
    out.write(f"  {'unpacking':12} {0:9.1f} ms  nothing is unpacked: the binary imports from itself\n")
    previous = "floor"
    for label, what in BREAKDOWN:
        if label in typical:
            out.write(f"  {label:12} {(typical[label][0] - typical[previous][0]) * 1000:9.1f} ms  {what}\n")
            previous = label
    floor_wall = typical["floor"][0]
    wall, rss, _ = typical["checker"]
    if "interpreter" in typical:
        out.write(f"checker / interpreter (this stack's floor): wall x{wall / typical['interpreter'][0]:.2f}\n")
    if "peer" in typical:
        out.write(f"peer / floor: wall x{typical['peer'][0] / floor_wall:.2f}, "
                  f"peak RSS {typical['peer'][1]:.1f} MiB\n")
    out.write(f"checker / floor: wall x{wall / floor_wall:.2f} (target <= {TARGETS['wall']:g}), "
              f"peak RSS {rss:.1f} MiB (target <= {TARGETS['rss_mib']:g} MiB)\n")
