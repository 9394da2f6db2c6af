#!/usr/bin/env python3
"""Run runtime-tools' validation programs twice, with their runtimetest and with ours.

    tests/peer/runtime_tools.py --runtime-tools DIR [--checker FILE] [--runtime runc]
                                [--work-dir DIR] [--reuse-build] [--timeout SEC] [--only NAME ...]
                                [--expectations FILE] [--json FILE] [--table FILE]

runtime-tools (github.com/opencontainers/runtime-tools) ships about 58
validation programs (validation/NAME/NAME.go). Each one copies `./runtimetest`
into a bundle unpacked from `./rootfs-amd64.tar.gz`, runs it under the runtime
named by $RUNTIME (as `/runtimetest --path=/`, validation/util/test.go) or
drives the runtime's lifecycle itself, and writes TAP on stdout.

This script builds those programs and their runtimetest from a checkout with Go
(the checkout's vendored modules, no network), then runs every program once with
their runtimetest and once with our checker as `runtimetest`, one program at a
time, each bounded by --timeout, against a runtime whose state lives in a
private directory. After every program it kills and deletes any container left
in that directory, unmounts and removes every bundle left under its private
TMPDIR, and removes the empty cgroups runtime-tools' fixed cgroup paths leave.

A program's verdict is read from its stdout the way a TAP consumer should, with
one difference from their harness, which counts an empty stdout as a pass:

    pass     a TAP plan, no `not ok` (a `# TODO` line aside), exit status 0
    skip     a plan and every test skipped (e.g. `1..0 # SKIP`)
    fail     a `not ok`, or a non-zero exit status after a plan
    no-plan  no TAP plan at all (whatever the exit status)
    timeout  killed after --timeout seconds

It writes a Markdown table (program, verdict with theirs, with ours, TAP plans,
the reason for a disagreement) and, with --json, every detail. A disagreement's
reason comes from the expectations file (tests/peer/runtime-tools-expected.txt):

    PROGRAM  THEIR-VERDICT  OUR-VERDICT  CLASS  reason text...

(a verdict `*` stands for any: a program whose outcome races the runtime.)

Exit status: 0 when our checker gives a TAP plan wherever theirs does and every
disagreement is listed in the expectations file; 1 otherwise; 2 when it cannot
run (no checkout, no Go, not root, ...), saying what to do.
"""

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_EXPECTATIONS = os.path.join(ROOT, "tests", "peer", "runtime-tools-expected.txt")
DEFAULT_WORK_DIR = os.path.join(ROOT, ".peer", "runtime-tools")
LOCK_FILE = "/run/lock/runtimetest-peer-runtime-tools.lock" if os.path.isdir("/run/lock") else "/tmp/runtimetest-peer-runtime-tools.lock"
TESTED_GO = (1, 23)
GO_CANDIDATES = ("/usr/lib/go-1.23/bin/go", "go")
VERDICTS = ("pass", "skip", "fail", "no-plan", "timeout")
ANY = "*"  # in the expectations file: any verdict (a program whose outcome races)
# runtime-tools' fixed cgroup paths (cgroups/cgroups.go: AbsCgroupPath and the
# first component of RelCgroupPath, which is relative to the runtime's own cgroup).
ABSOLUTE_CGROUP = "cgrouptest"
RELATIVE_CGROUP_TOP = "testdir"

SETUP_HELP = {
    "checkout": (
        "runtime-tools' source is needed (it is not part of this project):\n"
        "  git clone https://github.com/opencontainers/runtime-tools /path/to/runtime-tools\n"
        "then give its path: --runtime-tools /path/to/runtime-tools, RUNTIME_TOOLS=/path/to/runtime-tools,\n"
        "or make peer-runtime-tools RUNTIME_TOOLS=/path/to/runtime-tools"),
    "go": (
        "Go {need} or newer is needed to build runtime-tools. On Debian 12:\n"
        "  add the suite bookworm-backports to apt's sources, then\n"
        "  apt-get install golang-1.23-go golang-1.23-src   (installs /usr/lib/go-1.23/bin/go)\n"
        "or give another one with --go /path/to/bin/go"),
}


class SetupError(Exception):
    """The run cannot start; the message says what to do."""


class Interrupted(Exception):
    pass


# ---------------------------------------------------------------- TAP verdicts

TOP_TEST = re.compile(r"^(not )?ok\b(.*)$")
ANY_TEST = re.compile(r"^\s*(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")
TODO = re.compile(r"#\s*TODO\b", re.IGNORECASE)
SKIP = re.compile(r"#\s*SKIP\b", re.IGNORECASE)


def judge(stdout, returncode, timed_out):
    """A program's verdict and what it rests on, read from its TAP stdout.

    A program either writes runtimetest's stdout as its own, or runs it several
    times and puts each run's stdout in a YAML (JSON) diagnostic block under its
    own `ok`/`not ok` line; their harness then only asks whether that text holds
    "not ok", so an empty one passes. Each such run must give a plan too.
    """
    lines = stdout.splitlines()
    plan = next((PLAN.match(line) for line in lines if PLAN.match(line)), None)
    tests = [line for line in lines if TOP_TEST.match(line)]
    failed = [line for line in tests if line.startswith("not ok") and not TODO.search(line)]
    embedded = [block["stdout"] for block in diagnostics(lines)
                if isinstance(block, dict) and isinstance(block.get("stdout"), str)]
    embedded_plans = sum(1 for text in embedded if any(PLAN.match(line) for line in text.splitlines()))
    if timed_out:
        verdict = "timeout"
    elif plan is None or embedded_plans < len(embedded):
        verdict = "no-plan"
    elif failed or returncode != 0:
        verdict = "fail"
    elif int(plan.group(1)) == 0 or (tests and all(SKIP.search(line) for line in tests)):
        verdict = "skip"
    else:
        verdict = "pass"
    inner = set()
    for text in [stdout, *embedded]:
        inner.update(_describe(line) for line in text.splitlines()
                     if line.lstrip().startswith("not ok") and not TODO.search(line))
    return {
        "verdict": verdict,
        "plan": plan is not None and embedded_plans == len(embedded),
        "embedded_runs": len(embedded),
        "embedded_plans": embedded_plans,
        "exit": returncode,
        "tests": len(tests),
        "failed": [_describe(line) for line in failed],
        "inner_failures": sorted(inner),
    }


def diagnostics(lines):
    """The YAML diagnostic blocks of a TAP stream, parsed where they are JSON (tap-go writes JSON)."""
    block = None
    for line in lines:
        if block is None:
            if line.strip() == "---":
                block = []
        elif line.strip() == "...":
            with contextlib.suppress(ValueError):
                yield json.loads("\n".join(block))
            block = None
        else:
            block.append(line)


def _describe(line):
    match = ANY_TEST.match(line)
    return (match.group(3) if match else line).strip()


# ---------------------------------------------------------------- expectations

def load_expectations(path):
    """{program: (theirs, ours, class, reason)} from the expectations file."""
    expected = {}
    if not path or not os.path.exists(path):
        return expected
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(None, 4)
            if len(fields) < 5 or not {fields[1], fields[2]} <= {*VERDICTS, ANY}:
                raise SetupError(f"{path}:{number}: expected PROGRAM THEIRS OURS CLASS REASON, "
                                 f"verdicts one of {', '.join(VERDICTS)} or {ANY}: {line!r}")
            if fields[0] in expected:
                raise SetupError(f"{path}:{number}: {fields[0]} is listed twice")
            expected[fields[0]] = tuple(fields[1:])
    return expected


def listed_as(listed, theirs, ours):
    """Whether an expectations entry names these verdicts."""
    return bool(listed) and listed[0] in (theirs, ANY) and listed[1] in (ours, ANY)


def checker_ran(row):
    """Whether any container of the program, on either side, had the runtimetest as its process.
    Where none had, the two runs differ in nothing the program looks at: only timing."""
    return any(row[side].get("checker_runs", 1) for side in ("theirs", "ours"))


NO_CHECKER = ("no container of this program ran a runtimetest (on either side): "
              "the verdicts differ by the program's timing alone")


def unexpected(row, expected):
    """Whether a row's verdicts are a disagreement the expectations file does not list."""
    theirs, ours = row["theirs"]["verdict"], row["ours"]["verdict"]
    if row["theirs"]["plan"] and not row["ours"]["plan"]:
        return True
    return (theirs != ours and checker_ran(row)
            and not listed_as(expected.get(row["program"]), theirs, ours))


def compare(results, expected):
    """Fill each row's agreement, class and reason; return the problems (empty = as expected)."""
    problems = []
    for row in results:
        theirs, ours = row["theirs"], row["ours"]
        if theirs is None or ours is None:
            continue
        listed = expected.get(row["program"])
        row["agree"] = theirs["verdict"] == ours["verdict"]
        row["class"], row["reason"] = "", ""
        if listed_as(listed, theirs["verdict"], ours["verdict"]) and (ANY in listed[:2] or not row["agree"]):
            row["class"], row["reason"] = listed[2], listed[3]
        elif listed and row["agree"]:
            row["note"] = f"listed as {listed[0]}/{listed[1]} ({listed[2]}), now both {theirs['verdict']}"
        elif listed:
            row["class"] = "NEW"
            row["reason"] = f"listed as {listed[0]}/{listed[1]}, now {theirs['verdict']}/{ours['verdict']}"
            problems.append(f"{row['program']}: {row['reason']}")
        elif not row["agree"] and not checker_ran(row):
            row["class"], row["reason"] = "race", NO_CHECKER
        elif not row["agree"]:
            row["class"] = "NEW"
            row["reason"] = "a disagreement not in the expectations file"
            problems.append(f"{row['program']}: theirs {theirs['verdict']}, ours {ours['verdict']}: {row['reason']}")
        if theirs["plan"] and not ours["plan"]:
            problems.append(f"{row['program']}: their runtimetest gives a TAP plan, ours gives none")
    return problems


# ---------------------------------------------------------------- setup and build

def find_checkout(path):
    if not path:
        raise SetupError("no runtime-tools checkout given.\n" + SETUP_HELP["checkout"])
    path = os.path.abspath(path)
    missing = [p for p in ("go.mod", "vendor", "cmd/runtimetest", "validation/util", "rootfs-amd64.tar.gz")
               if not os.path.exists(os.path.join(path, p))]
    if missing:
        raise SetupError(f"{path} is not a runtime-tools checkout (missing: {', '.join(missing)}).\n"
                         + SETUP_HELP["checkout"])
    return path


def go_version_needed(checkout):
    """Go 1.23 (what their build is known to work with here), or newer if their go.mod asks."""
    with open(os.path.join(checkout, "go.mod")) as handle:
        for line in handle:
            match = re.match(r"^go\s+(\d+)\.(\d+)", line)
            if match:
                return max(TESTED_GO, (int(match.group(1)), int(match.group(2))))
    return TESTED_GO


def find_go(explicit, need):
    candidates = [explicit] if explicit else list(GO_CANDIDATES)
    seen = []
    for candidate in candidates:
        go = shutil.which(candidate)
        if not go:
            continue
        try:
            out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60).stdout
        except OSError:
            continue
        match = re.search(r"go(\d+)\.(\d+)", out)
        if match and (int(match.group(1)), int(match.group(2))) >= need:
            return go, out.strip()
        seen.append(f"{go}: {out.strip() or 'no version'}")
    need_text = "%d.%d" % need
    found = ("; found " + ", ".join(seen)) if seen else ""
    raise SetupError(f"no Go {need_text} or newer{found}.\n" + SETUP_HELP["go"].format(need=need_text))


def build(checkout, go, bin_dir, work_dir, log):
    """Build their runtimetest (static, as their Makefile does) and every validation program."""
    env = dict(os.environ, GOFLAGS="-mod=vendor", GOPROXY="off", GOTOOLCHAIN="local",
               GOTELEMETRY="off", GOPATH=os.path.join(work_dir, "gopath"))
    env.setdefault("GOCACHE", os.path.join(work_dir, "gocache"))
    programs_dir = os.path.join(bin_dir, "programs")
    shutil.rmtree(bin_dir, ignore_errors=True)
    os.makedirs(programs_dir)
    steps = [
        [go, "build", "-tags", "netgo osusergo", "-ldflags", "-extldflags -static",
         "-o", os.path.join(bin_dir, "runtimetest"), "./cmd/runtimetest"],
        [go, "build", "-o", programs_dir + os.sep, "./validation/..."],
    ]
    started = time.monotonic()
    for argv in steps:
        log(" ".join(argv))
        done = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise SetupError(f"building runtime-tools failed ({' '.join(argv)}):\n{done.stderr.strip()}")
    seconds = time.monotonic() - started
    sources = sorted(name for name in os.listdir(os.path.join(checkout, "validation"))
                     if name != "util" and os.path.isdir(os.path.join(checkout, "validation", name)))
    built = sorted(os.listdir(programs_dir))
    if built != sources:
        raise SetupError(f"built programs {built} differ from validation/'s directories {sources}")
    return built, seconds


# ---------------------------------------------------------------- one run of one program

class Sandbox:
    """The directory one program runs in: its runtimetest, the rootfs tarball, a runtime
    wrapper keeping the runtime's state private, and a private TMPDIR for its bundles."""

    def __init__(self, base, side, checker, checkout, runtime):
        self.dir = os.path.join(base, side)
        self.state = os.path.join(self.dir, "runtime-state")
        self.tmp = os.path.join(self.dir, "tmp")
        self.runtime = runtime
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.state)
        os.makedirs(self.tmp)
        shutil.copy(checker, os.path.join(self.dir, "runtimetest"))
        os.chmod(os.path.join(self.dir, "runtimetest"), 0o755)
        os.symlink(os.path.join(checkout, "rootfs-amd64.tar.gz"), os.path.join(self.dir, "rootfs-amd64.tar.gz"))
        self.creates = os.path.join(self.dir, "creates.jsonl")
        self.wrapper = os.path.join(self.dir, "runtime")
        with open(self.wrapper, "w") as handle:
            handle.write(WRAPPER.format(python=sys.executable, runtime=runtime, state=self.state, log=self.creates))
        os.chmod(self.wrapper, 0o755)

    def run(self, program, timeout, current):
        with open(self.creates, "w"):
            pass
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": self.dir,
               "RUNTIME": self.wrapper, "TMPDIR": self.tmp, "LANG": "C"}
        started = time.monotonic()
        child = subprocess.Popen([program], cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        current.append(child)
        timed_out = False
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(child)
            stdout, stderr = child.communicate()
        except BaseException:
            _kill_group(child)  # interrupted: the program and whatever it started go first
            child.wait()
            raise
        finally:
            current.remove(child)
        seconds = time.monotonic() - started
        left = self.clean()
        result = judge(stdout.decode(errors="backslashreplace"), child.returncode, timed_out)
        result.update(seconds=round(seconds, 2), left_behind=left, checker_runs=self.checker_runs(),
                      stdout=stdout.decode(errors="backslashreplace"),
                      stderr=stderr.decode(errors="backslashreplace"))
        return result

    def clean(self):
        """Kill and delete every container in the private state, unmount and remove every
        bundle, remove the fixed-path cgroups; return what had been left behind."""
        left = []
        for cid in self.containers():
            left.append(f"container {cid}")
            subprocess.run([self.runtime, "--root", self.state, "kill", cid, "KILL"], capture_output=True, timeout=30)
            subprocess.run([self.runtime, "--root", self.state, "delete", "--force", cid],
                           capture_output=True, timeout=30)
        still = self.containers()
        if still:
            raise RuntimeError(f"cannot delete containers {still} (runtime state {self.state})")
        for mount in mounts_under(self.dir):
            left.append(f"mount {mount}")
            subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30)
        for name in os.listdir(self.tmp):
            left.append(f"bundle {name}")
            shutil.rmtree(os.path.join(self.tmp, name), ignore_errors=True)
        left.extend(f"cgroup {path}" for path in remove_test_cgroups())
        return left

    def checker_runs(self):
        """How many containers the program created with the runtimetest as their process."""
        with open(self.creates) as handle:
            return sum(1 for line in handle if json.loads(line).get("checker"))

    def containers(self):
        done = subprocess.run([self.runtime, "--root", self.state, "list", "-q"],
                              capture_output=True, text=True, timeout=30)
        return done.stdout.split()


# The runtime their programs call ($RUNTIME): the real one with its state kept private.
# It also notes, for every create, whether the container's process is the runtimetest,
# so that a program in which no runtimetest ever ran is known for one.
WRAPPER = """#!{python}
import json, os, sys
args = sys.argv[1:]
if args[:1] == ["create"]:
    bundle = args[args.index("--bundle") + 1] if "--bundle" in args[:-1] else "."
    try:
        with open(os.path.join(bundle, "config.json")) as handle:
            argv = json.load(handle).get("process", {{}}).get("args") or [""]
    except (OSError, ValueError, AttributeError):
        argv = [""]
    with open({log!r}, "a") as handle:
        handle.write(json.dumps({{"checker": os.path.basename(str(argv[0])) == "runtimetest"}}) + "\\n")
os.execv({runtime!r}, [{runtime!r}, "--root", {state!r}, *args])
"""


def _kill_group(child):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def _unescape_mountinfo(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mounts_under(directory):
    """Mount points at or below directory, deepest first."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = _unescape_mountinfo(line.split()[4])
            if point == directory or point.startswith(directory.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def cgroup_mounts():
    """(mount point, the hierarchy's names: {'memory'}, {'cpu', 'cpuacct'}, {'name=systemd'}; empty for v2)."""
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            dash = fields.index("-")
            fstype, superopts = fields[dash + 1], set(fields[dash + 3].split(","))
            if fstype == "cgroup2":
                yield _unescape_mountinfo(fields[4]), set()
            elif fstype == "cgroup":
                yield _unescape_mountinfo(fields[4]), superopts


def own_cgroups():
    """[(the hierarchy's names, path)] of this process, from /proc/self/cgroup."""
    with open("/proc/self/cgroup") as handle:
        return [(set(filter(None, line.split(":", 2)[1].split(","))), line.rstrip("\n").split(":", 2)[2])
                for line in handle]


def test_cgroup_roots():
    """Where runtime-tools' fixed cgroup paths land in every hierarchy: /cgrouptest, and the
    top of the relative path under the runtime's own cgroup, which is ours (the runtime is
    started by the program we start)."""
    own = own_cgroups()
    for mount, names in cgroup_mounts():
        yield os.path.join(mount, ABSOLUTE_CGROUP)
        path = next((p for hierarchy, p in own if hierarchy == names or (names and hierarchy <= names and hierarchy)),
                    None)
        if path is not None:
            yield os.path.join(mount, path.lstrip("/"), RELATIVE_CGROUP_TOP)


def remove_test_cgroups():
    removed = []
    for top in test_cgroup_roots():
        if not os.path.isdir(top):
            continue
        for directory, _, _ in sorted(os.walk(top), key=lambda w: w[0].count("/"), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
                removed.append(directory)
    return removed


# ---------------------------------------------------------------- the report

def markdown(results, info):
    lines = [
        f"runtime-tools {info['runtime_tools']} validation programs against {info['runtime_version']}, "
        f"{info['date']}; checker: {info['checker']}",
        "",
        "| program | theirs | ours | TAP plan theirs/ours | runtimetest containers theirs/ours | class | reason |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results:
        theirs, ours = row["theirs"], row["ours"]
        lines.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            row["program"], _cell(theirs), _cell(ours),
            f"{_yes(theirs)}/{_yes(ours)}", f"{_runs(theirs)}/{_runs(ours)}", row.get("class", ""), _reason(row).replace("|", "\\|")))
    counts = {side: {v: sum(1 for r in results if r[side] and r[side]["verdict"] == v) for v in VERDICTS}
              for side in ("theirs", "ours")}
    lines += ["", "| verdict | " + " | ".join(VERDICTS) + " |", "|---|" + "---|" * len(VERDICTS)]
    for side in ("theirs", "ours"):
        lines.append(f"| {side} | " + " | ".join(str(counts[side][v]) for v in VERDICTS) + " |")
    details = [row for row in results if row["theirs"] and row["ours"] and not row.get("agree", True)]
    if details:
        lines += ["", "Disagreements in detail (failed tests as each runtimetest names them):", ""]
        for row in details:
            lines.append(f"- {row['program']}: theirs {_cell(row['theirs'])}, ours {_cell(row['ours'])}")
            for side in ("theirs", "ours"):
                failed = row[side]["inner_failures"]
                if failed:
                    lines.append(f"  - {side}: " + "; ".join(failed[:8]) + (" ..." if len(failed) > 8 else ""))
    return "\n".join(lines) + "\n"


def _reason(row):
    text = row.get("reason") or row.get("note", "")
    for earlier in row.get("earlier", []):
        text += f" (an earlier run: theirs {earlier.get('theirs')}, ours {earlier.get('ours')})"
    return text.strip()


def _runs(result):
    return "-" if result is None else str(result.get("checker_runs", "?"))


def _cell(result):
    if result is None:
        return "-"
    text = result["verdict"]
    if result["verdict"] in ("no-plan", "fail") and result["exit"] not in (0, None):
        text += f" (exit {result['exit']})"
    return text


def _yes(result):
    if result is None:
        return "-"
    if result["embedded_runs"] and result["embedded_plans"] < result["embedded_runs"]:
        return f"{result['embedded_plans']} of {result['embedded_runs']} runs"
    return "yes" if result["plan"] else "no"


# ---------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime-tools", default=os.environ.get("RUNTIME_TOOLS"),
                        help="a checkout of github.com/opencontainers/runtime-tools (default $RUNTIME_TOOLS)")
    parser.add_argument("--checker", default=os.path.join(ROOT, "build", "runtimetest"),
                        help="our checker binary (default build/runtimetest)")
    parser.add_argument("--runtime", default="runc", help="the OCI runtime (default runc)")
    parser.add_argument("--go", help="the go command (default /usr/lib/go-1.23/bin/go, else go on PATH)")
    parser.add_argument("--work-dir", default=DEFAULT_WORK_DIR,
                        help="builds, Go's cache and the runs (default .peer/runtime-tools)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per program (default 60)")
    parser.add_argument("--reuse-build", action="store_true",
                        help="use the programs an earlier run built in WORK_DIR/bin, if there are any")
    parser.add_argument("--retries", type=int, default=1,
                        help="run a program again when its verdicts differ unexpectedly (default 1)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this program")
    parser.add_argument("--side", choices=("both", "theirs", "ours"), default="both")
    parser.add_argument("--expectations", default=DEFAULT_EXPECTATIONS,
                        help="the disagreements known and explained (default tests/peer/runtime-tools-expected.txt)")
    parser.add_argument("--json", help="write every result here")
    parser.add_argument("--table", help="write the Markdown table here (default WORK_DIR/table.md)")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    current = []

    def interrupt(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    try:
        if os.geteuid() != 0:
            raise SetupError("runtime-tools' programs create containers: run as root")
        checkout = find_checkout(options.runtime_tools)
        checker = os.path.abspath(options.checker)
        if options.side != "theirs" and not os.access(checker, os.X_OK):
            raise SetupError(f"no checker binary at {checker}: build it (make static) or give --checker FILE")
        runtime = shutil.which(options.runtime)
        if not runtime:
            raise SetupError(f"runtime {options.runtime!r} not found on PATH")
        expected = load_expectations(options.expectations)
        go, go_version = find_go(options.go, go_version_needed(checkout))
        work_dir = os.path.abspath(options.work_dir)
        os.makedirs(work_dir, exist_ok=True)
        # Their programs use fixed cgroup paths: one run on a host at a time, whatever its work dir.
        lock = open(LOCK_FILE, "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SetupError(f"another run of runtime-tools' programs holds {LOCK_FILE}: wait for it") from None
        taken = [path for path in test_cgroup_roots() if os.path.exists(path)]
        if taken:
            raise SetupError("runtime-tools' fixed cgroup paths exist already (another run of its programs, "
                             "or one that leaked): " + ", ".join(taken) + "; wait, or rmdir them if empty")
    except SetupError as error:
        print(f"runtime_tools.py: {error}", file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    runtime_version = subprocess.run([runtime, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    described = subprocess.run(["git", "-C", checkout, "describe", "--always", "--tags", "--dirty"],
                               capture_output=True, text=True).stdout.strip() or "(not a git checkout)"
    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runtime": runtime,
            "runtime_version": runtime_version, "runtime_tools": described, "go": go_version,
            "checker": checker, "timeout": options.timeout}
    log(f"runtime-tools {described} ({checkout}), {go_version}, {runtime_version}")
    sandboxes = []
    results = []
    try:
        bin_dir = os.path.join(work_dir, "bin")
        try:
            if options.reuse_build and os.path.isdir(os.path.join(bin_dir, "programs")):
                programs, info["build_seconds"] = sorted(os.listdir(os.path.join(bin_dir, "programs"))), 0.0
                log(f"reusing the programs built earlier in {bin_dir}")
            else:
                programs, info["build_seconds"] = build(checkout, go, bin_dir, work_dir, log)
        except SetupError as error:
            print(f"runtime_tools.py: {error}", file=sys.stderr)
            return 2
        if info["build_seconds"]:
            log(f"built runtimetest and {len(programs)} programs in {info['build_seconds']:.1f} s")
        unknown = sorted(set(options.only) - set(programs))
        if unknown:
            print(f"runtime_tools.py: no program named {', '.join(unknown)}", file=sys.stderr)
            return 2
        programs = [p for p in programs if not options.only or p in options.only]
        sides = {"theirs": os.path.join(bin_dir, "runtimetest"), "ours": checker}
        if options.side != "both":
            sides = {options.side: sides[options.side]}
        runs = os.path.join(work_dir, "runs")
        for side, binary in sides.items():
            sandboxes.append(Sandbox(runs, side, binary, checkout, runtime))
        started = time.monotonic()
        for index, program in enumerate(programs, 1):
            row = {"program": program, "theirs": None, "ours": None}
            for attempt in range(1 + options.retries):
                for side, sandbox in zip(sides, sandboxes):
                    row[side] = sandbox.run(os.path.join(bin_dir, "programs", program), options.timeout, current)
                if len(sides) < 2 or not unexpected(row, expected):
                    break
                # Some of their programs race the runtime (a delete right after a kill, ...):
                # a disagreement counts once it repeats.
                row.setdefault("earlier", []).append({side: row[side]["verdict"] for side in sides})
                log(f"  {program}: theirs {row['theirs']['verdict']}, ours {row['ours']['verdict']}, "
                    "not as expected: again")
            results.append(row)
            log(f"[{index}/{len(programs)}] {program}: " + ", ".join(
                f"{side} {_cell(row[side])} ({row[side]['seconds']} s)" for side in sides if row[side]))
        info["run_seconds"] = round(time.monotonic() - started, 1)
    except Interrupted as stop:
        log(f"stopped by {stop}; cleaning up")
        _clean_all(current, sandboxes)
        return 130
    except Exception:
        _clean_all(current, sandboxes)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    problems = compare(results, expected) if options.side == "both" else []
    table = markdown(results, info)
    table_path = options.table or os.path.join(work_dir, "table.md")
    with open(table_path, "w") as handle:
        handle.write(table)
    if options.json:
        with open(options.json, "w") as handle:
            json.dump({"info": info, "results": results, "problems": problems}, handle, indent=1)
    sys.stdout.write(table)
    log(f"build {info['build_seconds']:.1f} s, run {info['run_seconds']} s; table: {table_path}")
    for problem in problems:
        log(f"UNEXPECTED: {problem}")
    return 1 if problems else 0


def _clean_all(current, sandboxes):
    for child in list(current):
        _kill_group(child)
        child.wait()
    for sandbox in sandboxes:
        with contextlib.suppress(Exception):
            sandbox.clean()


if __name__ == "__main__":
    sys.exit(main())
