"""`runtimetest bench`: what the checker costs per container, against a floor.

Two bundles with the same base config: one runs the checker on its default
spec, the other a static no-op (`busybox true`), the floor any container pays.
They run alternately, several times each, in one go, so that machine noise hits
both alike; the report gives medians and the ratio of the two.

Wall time is from `create` to the container process's exit. Peak RSS is the
largest resident set of the container's processes (wait4 on the container
process, which the driver reaps as subreaper); peak memory is what the
container's memory cgroup shows, page cache of what it unpacked included.
"""

import os
import shutil
import statistics
import tempfile
import time

from . import cgroups
from .bundle import base_config, write_bundle
from .runtime import RuntimeFault

FLOOR_PROGRAMS = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox():
    for path in FLOOR_PROGRAMS:
        if os.path.isfile(path):
            return path
    raise RuntimeFault("no static busybox for the floor (Debian: busybox-static)")


def run_once(runtime, bundle, cid, work, config):
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
            if exit is None or exit.code != 0:
                raise RuntimeFault(f"{cid}: {exit.describe() if exit else 'did not exit in 60s'}")
            rss = exit.peak_rss_kib / 1024 if exit.peak_rss_kib is not None else None
            return wall, rss, cgroups.peak_memory(config["linux"]["cgroupsPath"])
        finally:
            runtime.delete(cid, log, force=True)
            if watch is not None:
                watch.close()
            runtime.forget(cid)


def measure(runtime, checker, runs, out):
    work = tempfile.mkdtemp(prefix="runtimetest-bench-")
    bundles = {}
    try:
        busybox = find_busybox()
        for label, args in (("floor (busybox true)", ["/busybox", "true"]),
                            ("checker", ["/runtimetest"])):
            config = base_config()
            config["process"]["args"] = args
            config["linux"]["cgroupsPath"] = f"/runtimetest/bench-{label.split()[0]}-{os.getpid()}"
            extra = [(busybox, "/busybox")] if args[0] == "/busybox" else []
            bundles[label] = (write_bundle(config, config, checker, extra_files=extra), config)
        samples = {label: [] for label in bundles}
        for run in range(runs):
            for label, (bundle, config) in bundles.items():
                cid = f"rtt-bench-{label.split()[0]}-{os.getpid()}-{run}"
                samples[label].append(run_once(runtime, bundle, cid, work, config))
        report(samples, runs, runtime, out)
    finally:
        for bundle, _ in bundles.values():
            bundle.remove()
        shutil.rmtree(work, ignore_errors=True)


def report(samples, runs, runtime, out):
    floor_label, checker_label = list(samples)
    medians = {}
    for label, values in samples.items():
        walls = [wall for wall, _, _ in values]
        rss = [peak for _, peak, _ in values if peak is not None] or [float("nan")]
        memory = [m for _, _, m in values if m is not None]
        medians[label] = (statistics.median(walls), statistics.median(rss),
                          statistics.median(memory) if memory else None)
    out.write(f"runtimetest bench: {runs} runs each with {runtime.name}, alternating\n")
    out.write(f"{'':22} {'wall (median)':>14} {'peak RSS':>10} {'cgroup peak':>12}\n")
    for label, (wall, rss, memory) in medians.items():
        memory_text = f"{memory / 2**20:9.1f} MB" if memory is not None else "        n/a"
        out.write(f"{label:22} {wall * 1000:11.1f} ms {rss:7.1f} MB {memory_text}\n")
    floor_wall, floor_rss, _ = medians[floor_label]
    wall, rss, _ = medians[checker_label]
    out.write(f"checker / floor: wall x{wall / floor_wall:.2f} (target <= 6), "
              f"peak RSS {rss:.1f} MB (target <= 25 MB)\n")
