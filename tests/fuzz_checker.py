"""Fuzzing the static checker inside real containers (issue 11).

    python tests/fuzz_checker.py [-n N] [--seed S] [-j CONTAINERS] [--keep DIR]

Specs are the base config with one to three of its fields (or new fields below
them) replaced by hostile values: deep nesting, huge and odd numbers, wrong
types, paths that escape (.., /dev/zero, /dev/ptmx), huge arrays and strings,
NUL and control bytes, lone surrogates. They are judged inside containers made
with runc from the base config (with CAP_MKNOD, so the device probes run) by
the static checker's --each-spec mode: the checker once per spec, in a child of
its own, bounded in time, its exit status, stdout and stderr written to a
bind-mounted directory. Each spec must give exit status 0, TAP on stdout and no
traceback, within the bound. The specs are split over CONTAINERS containers run
at once.
"""

import argparse
import copy
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from runtimetest.driver.bundle import base_config  # noqa: E402
from runtimetest.driver.cgroups import remove_empty  # noqa: E402

CHECKER = os.path.join(ROOT, "build", "runtimetest")
CGROUP_PARENT = "/runtimetest-fuzz"
PER_SPEC_TIMEOUT = 20  # seconds one checker run may take inside the container
# A value set inside one element of a huge array lands in every element (they are one
# object): such a spec can reach hundreds of MB. Larger ones are drawn again.
MAX_SPEC = 8 << 20

# A raw JSON text stands in for a value json.dumps cannot write (too deep, too big a number).
RAW = "\u0000raw:"
ESCAPING_PATHS = ["../../../dev/zero", "../../../dev/ptmx", "/dev/zero", "/dev/ptmx", "/dev/full",
                  "/dev/urandom", "/proc/self/mem", "/proc/kmsg", "net/../../../../dev/zero", "..", ".", "/",
                  "/proc/self/fd/0", "/dev/stdin", "/sys/kernel/debug", "\u0000", "a\u0000b", "//x", "~"]
HOSTILE_STRINGS = ESCAPING_PATHS + ["", " ", "\n", "\x1b[31m", "\ud800", "\udcff", "é" * 3, "%s%n", "{}", "null",
                                    "x" * 100_000, "MUST", "CAP_" * 10, "RLIMIT_NOFILE", "SIGKILL"]
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -2**63 - 1, 10**30, -10**30, 1e308, -0.0,
                   0.5, float("inf"), float("-inf"), float("nan"), RAW + "1" + "0" * 5000, RAW + "1e999999"]
# Fields worth aiming at: where the checks read paths, loop over entries or probe.
TARGETS = ["linux.sysctl", "linux.maskedPaths", "linux.readonlyPaths", "linux.devices", "linux.resources.devices",
           "linux.resources.memory", "linux.resources.pids", "linux.resources.cpu", "linux.resources.unified",
           "linux.resources.blockIO", "linux.resources.hugepageLimits", "linux.resources.network",
           "linux.namespaces", "linux.uidMappings", "linux.gidMappings", "linux.seccomp", "linux.timeOffsets",
           "linux.netDevices", "linux.personality", "linux.cgroupsPath", "linux.rootfsPropagation",
           "linux.mountLabel", "process.rlimits", "process.capabilities", "process.user", "process.env",
           "process.args", "process.cwd", "process.scheduler", "process.ioPriority", "process.execCPUAffinity",
           "process.oomScoreAdj", "process.consoleSize", "process.terminal", "process.apparmorProfile",
           "process.selinuxLabel", "mounts", "hooks", "annotations", "hostname", "domainname", "root", "ociVersion"]
ANNOTATION_KEYS = ["org.runtimetest.preserve-fds", "org.runtimetest.cgroup-limits", "org.runtimetest.host.ns.pid",
                   "org.runtimetest.host.nspath.network", "org.runtimetest.host.cgroup.mode",
                   "org.runtimetest.host.cgroup.root.memory", "org.runtimetest.mounts.0.source-file",
                   "org.runtimetest.host.netdev.eth0.addresses"]


def deep(rng):
    depth = rng.choice([100, 995, 1000, 5000, 100_000])
    opening = rng.choice(["[", '{"a":'])
    closing = "]" if opening == "[" else "}"
    return RAW + opening * depth + "1" + closing * depth


def huge_array(rng):
    item = rng.choice([0, "/proc/kcore", "../../../dev/zero", {"allow": True, "access": "rwm"},
                       {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rw"}, [], {}])
    return [item] * rng.choice([1000, 10_000, 30_000])


def hostile_value(rng):
    kind = rng.random()
    if kind < 0.30:
        return rng.choice(HOSTILE_STRINGS)
    if kind < 0.55:
        return rng.choice(HOSTILE_NUMBERS)
    if kind < 0.65:
        return rng.choice([None, True, False, [], {}, [None], {"": None}, [[[]]]])
    if kind < 0.72:
        return deep(rng)
    if kind < 0.77:
        return huge_array(rng)
    if kind < 0.90:
        return {rng.choice(HOSTILE_STRINGS + ANNOTATION_KEYS)[:200]: hostile_value(rng) for _ in range(rng.randint(1, 3))}
    return [hostile_value(rng) for _ in range(rng.randint(1, 4))]


def paths_of(node, prefix=()):
    """Every (path) to a value in the config: keys of objects and indexes of arrays."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths_of(value, prefix + (key,))
    elif isinstance(node, list) and len(node) <= 50:  # not into huge arrays: their elements are one object
        for index, value in enumerate(node):
            yield from paths_of(value, prefix + (index,))


def set_at(config, path, value):
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def aimed_path(config, rng):
    """A path below a target field, made where it is missing."""
    node, path = config, ()
    for part in rng.choice(TARGETS).split("."):
        if not isinstance(node, dict):
            return path or None
        node = node.setdefault(part, {}) if rng.random() < 0.5 else node.get(part)
        path += (part,)
        if node is None:
            break
    if isinstance(node, dict) and node and rng.random() < 0.7:
        path += (rng.choice(list(node)),)
    elif isinstance(node, dict) and rng.random() < 0.5:
        path += (rng.choice(HOSTILE_STRINGS + ANNOTATION_KEYS + ["limit", "path", "type", "0"])[:100],)
    elif isinstance(node, list) and 0 < len(node) <= 50:
        path += (rng.randrange(len(node)),)
    return path


def mutate(base, rng):
    """One hostile spec, as JSON text, of at most MAX_SPEC bytes."""
    while True:
        text = _mutate(base, rng)
        if len(text) <= MAX_SPEC:
            return text


def _mutate(base, rng):
    config = copy.deepcopy(base)
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.6:
            path = aimed_path(config, rng)
        else:
            path = rng.choice(list(paths_of(config)))
        value = hostile_value(rng)
        if not path:
            if rng.random() < 0.05:
                return _text(value)  # the whole spec is the hostile value
            continue
        try:
            set_at(config, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    return _text(config)


def _text(value):
    """JSON text, with RAW stand-ins put in as they are (NaN and Infinity as Python writes them)."""
    text = _dumps(value)
    if json.dumps(RAW)[1:-1] not in text:
        return text
    raws, seen = [], {}

    def stand_in(node):
        if isinstance(node, str) and node.startswith(RAW):
            raws.append(node[len(RAW):])
            return f"\u0001{len(raws) - 1}\u0001"
        if isinstance(node, list) and len(node) > 50 and node.count(node[0]) == len(node):
            return [stand_in(node[0])] * len(node)  # a huge array of one value: walk it once
        if isinstance(node, (dict, list)):
            if id(node) not in seen:
                seen[id(node)] = ({k: stand_in(v) for k, v in node.items()} if isinstance(node, dict)
                                  else [stand_in(v) for v in node])
            return seen[id(node)]
        return node

    text = _dumps(stand_in(value))
    return re.sub(r'"\\u0001([0-9]+)\\u0001"', lambda match: raws[int(match.group(1))], text)


def _dumps(value):
    return json.dumps(value)  # ASCII: NUL, control bytes and lone surrogates as \u escapes


def generate(count, seed, directory):
    rng = random.Random(seed)
    base = base_config()
    names = []
    for number in range(count):
        name = f"{number:06d}.json"
        with open(os.path.join(directory, name), "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(mutate(base, rng))
        names.append(name)
    return names


def container_config(specs, results, part):
    """The base config running the checker's --each-spec mode on one part of the specs (with CAP_MKNOD)."""
    config = base_config()
    config["process"]["args"] = ["/runtimetest", "--each-spec", f"/specs/list-{part}", f"/results/{part}",
                                 "--timeout", str(PER_SPEC_TIMEOUT)]
    for name in ("bounding", "effective", "permitted"):
        config["process"]["capabilities"][name].append("CAP_MKNOD")
    config["mounts"] += [
        {"destination": "/specs", "type": "bind", "source": specs, "options": ["rbind", "ro"]},
        {"destination": "/results", "type": "bind", "source": results, "options": ["rbind", "rw"]},
    ]
    config["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/{uuid.uuid4().hex[:12]}"
    return config


def make_bundle(work, specs, results, part):
    bundle = tempfile.mkdtemp(prefix="bundle-", dir=work)
    rootfs = os.path.join(bundle, "rootfs")
    for directory in ("specs", "results", "proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(rootfs, directory))
    shutil.copyfile(CHECKER, os.path.join(rootfs, "runtimetest"))
    os.chmod(os.path.join(rootfs, "runtimetest"), 0o755)
    with open(os.path.join(bundle, "config.json"), "w") as handle:
        json.dump(container_config(specs, results, part), handle)
    return bundle


def run_containers(specs, results, names, jobs, work, budget):
    """Run the specs split over `jobs` containers at once; True when every one finished."""
    parts = [names[index::jobs] for index in range(jobs)]
    for index, part in enumerate(parts):
        with open(os.path.join(specs, f"list-{index}"), "w") as handle:
            handle.write("".join(f"/specs/{name}\n" for name in part))
        os.makedirs(os.path.join(results, str(index)))
        os.chmod(os.path.join(results, str(index)), 0o777)  # written from inside the container
    state = os.path.join(work, "runc-state")
    started = []
    try:
        for index in range(jobs):
            cid = f"rtt-fuzz-{uuid.uuid4().hex[:10]}"
            bundle = make_bundle(work, specs, results, index)
            process = subprocess.Popen(["runc", "--root", state, "run", "--bundle", bundle, cid],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started.append((cid, process))
        deadline = time.monotonic() + budget
        for cid, process in started:
            process.wait(timeout=max(1, deadline - time.monotonic()))
        return True
    except subprocess.TimeoutExpired:
        return False
    finally:
        for cid, process in started:
            subprocess.run(["runc", "--root", state, "delete", "--force", cid], capture_output=True, timeout=60)
            if process.poll() is None:
                process.kill()
                process.wait(30)
        remove_empty(CGROUP_PARENT)  # runc removed each container's own


def judge(specs, results, names, jobs):
    """Counts and examples of what went wrong."""
    statuses = {}
    for index in range(jobs):
        try:
            with open(os.path.join(results, str(index), "status")) as handle:
                for line in handle:
                    name, code, seconds = line.split()
                    statuses[name] = (int(code), float(seconds), os.path.join(results, str(index), name))
        except FileNotFoundError:
            pass
    found = {"specs": len(names), "judged": len(statuses), "tracebacks": [], "nonzero": [], "hangs": [],
             "no_tap": [], "not_run": sorted(set(names) - set(statuses))}
    found["slowest"] = [f"{name} {seconds:.1f}s" for name, (_, seconds, _) in
                        sorted(statuses.items(), key=lambda item: -item[1][1])[:3]]
    for name, (code, _, prefix) in sorted(statuses.items()):
        if code == 137:  # killed at the timeout
            found["hangs"].append(name)
        elif code != 0:
            found["nonzero"].append(f"{name}: exit {code}")
        with open(prefix + ".err", "rb") as handle:
            if b"Traceback" in handle.read():
                found["tracebacks"].append(name)
        with open(prefix + ".out", "rb") as handle:
            if not handle.read(16).startswith(b"TAP version 13"):
                found["no_tap"].append(name)
    return found


def fuzz(count, seed, jobs=2, keep=None, budget=1800):
    """Generate, run and judge; returns (findings, seconds)."""
    work = keep or tempfile.mkdtemp(prefix="runtimetest-fuzz-")
    specs, results = os.path.join(work, "specs"), os.path.join(work, "results")
    os.makedirs(specs, exist_ok=True)
    os.makedirs(results, exist_ok=True)
    try:
        names = generate(count, seed, specs)
        started = time.monotonic()
        finished = run_containers(specs, results, names, jobs, work, budget)
        found = judge(specs, results, names, jobs)
        found["finished"] = finished
        return found, time.monotonic() - started
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def problems(found):
    return {key: found[key] for key in ("tracebacks", "nonzero", "hangs", "no_tap", "not_run") if found[key]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="specs (default 2000)")
    parser.add_argument("--seed", type=int, default=11, help="the generator's seed (default 11)")
    parser.add_argument("-j", type=int, default=2, help="containers at once (default 2)")
    parser.add_argument("--keep", metavar="DIR", help="keep the specs and results here")
    options = parser.parse_args(argv)
    found, seconds = fuzz(options.n, options.seed, options.j, options.keep, budget=max(1800, options.n))
    print(f"fuzz: {found['judged']} of {found['specs']} specs judged in {seconds:.1f}s "
          f"(seed {options.seed}, {options.j} containers): {len(found['tracebacks'])} tracebacks, "
          f"{len(found['nonzero'])} non-zero exits, {len(found['hangs'])} hangs, {len(found['no_tap'])} without TAP; "
          f"slowest: {', '.join(found['slowest'])}")
    for key, values in problems(found).items():
        print(f"  {key}: {', '.join(values[:20])}{' ...' if len(values) > 20 else ''}")
    return 1 if problems(found) or not found["finished"] else 0


if __name__ == "__main__":
    sys.exit(main())
