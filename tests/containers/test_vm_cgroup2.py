"""Every case on a pure cgroup v2 host, with runc and with crun: one boot of the VM (tests/vm/).

The guest runs tests/vm/conformance.sh (spec-fixtures/ and
spec-fixtures/host-cgroup2-pure/ as one run) for each runtime, each writing a
JSON report into the checkout, which the guest shares. This host is hybrid:
only there do the cgroup v2 controllers, crun's own cgroup manager and the
v2-only cases meet a real kernel. RUNTIMETEST_SKIP_VM=1 skips it (saying so).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, ROOT, case_names, case_passed, requires_root

pytestmark = requires_root
PURE = os.path.join(FIXTURES, "host-cgroup2-pure")
RUNTIMES = ("runc", "crun")
NAMES = case_names(FIXTURES) + case_names(PURE)
VERSION_SKIP = re.compile(r"\S+ implements runtime-spec \S+; this case needs \S+")
# Besides a version, what an adapter says it cannot give on this guest (measured: crun 1.8.1 applies
# an empty SELinux label and fails where the module is off, as Debian's kernel has it).
ADAPTER_SKIPS = {("crun", "lsm-empty-labels"): re.compile(r"crun applies an empty process\.selinuxLabel .*")}
VM = os.path.join(ROOT, "tests", "vm", "vm.py")
# The guest's command ends with this status, so the test sees it come back.
GUEST_EXIT = 7
VM_SECONDS = 75 * 60


def guest_command(reports):
    runs = [f"tests/vm/conformance.sh --runtime {runtime} -j 2 --json {reports}/{runtime}.json "
            f"> {reports}/{runtime}.log 2>&1" for runtime in RUNTIMES]
    return "; ".join(["echo guest controllers: $(cat /sys/fs/cgroup/cgroup.controllers)", *runs,
                      f"exit {GUEST_EXIT}"])


def our_qemus():
    """qemu processes booted for this checkout (their kernel command line names it)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"qemu-system-x86_64") and any(f"rtt.project={ROOT}".encode() in a for a in argv):
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def guest(checker_binary):
    if os.environ.get("RUNTIMETEST_SKIP_VM"):
        pytest.skip("RUNTIMETEST_SKIP_VM is set: the pure cgroup v2 host (a qemu VM) is not booted")
    reports = os.path.join(ROOT, "build", "vm", "reports", f"pytest-{os.getpid()}")
    shutil.rmtree(reports, ignore_errors=True)
    os.makedirs(reports)
    started = time.monotonic()
    console = subprocess.run([sys.executable, VM, "--timeout", str(VM_SECONDS - 60), "--", "sh", "-c",
                              guest_command(os.path.relpath(reports, ROOT))],
                             cwd=ROOT, capture_output=True, text=True, timeout=VM_SECONDS)
    seconds = time.monotonic() - started
    sys.stderr.write(f"\n[pure cgroup v2 VM: {seconds:.0f}s wall]\n{console.stderr}")
    loaded = {}
    for runtime in RUNTIMES:
        path = os.path.join(reports, f"{runtime}.json")
        assert os.path.exists(path), f"no {runtime} report from the guest:\n{console.stdout}\n{console.stderr}"
        with open(path) as handle:
            loaded[runtime] = json.load(handle)
        with open(os.path.join(reports, f"{runtime}.log")) as handle:
            loaded[runtime]["log"] = handle.read()
        loaded[runtime]["by_name"] = {case["name"]: case for case in loaded[runtime]["cases"]}
    return {"console": console, "reports": loaded}


def test_the_guest_is_pure_cgroup_v2_and_its_exit_status_comes_back(guest):
    console = guest["console"]
    assert console.returncode == GUEST_EXIT, console.stderr
    line = next(line for line in console.stdout.splitlines() if line.startswith("guest controllers:"))
    assert {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"} <= set(line.split()[2:])
    assert "under TCG" in console.stderr or "under KVM" in console.stderr


def test_no_qemu_is_left_behind(guest):
    assert our_qemus() == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_run_ends_with_the_summary_line(guest, runtime):
    report = guest["reports"][runtime]
    totals = report["totals"]
    failed = totals["fail"] + totals["error"] + totals["timeout"]
    skipped = totals["skip"] + totals["departure"]
    assert report["log"].splitlines()[-1] == f"{totals['pass']} passed, {failed} failed, {skipped} skipped"


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", NAMES)
def test_case_passes_on_pure_cgroup2(guest, runtime, name):
    report = guest["reports"][runtime]
    case = report["by_name"][name]
    # Only a runtime-spec version a runtime does not implement, or what its adapter names above,
    # may skip a case; any other SKIP fails.
    if case["status"] == "skip":
        allowed = ADAPTER_SKIPS.get((runtime, name), VERSION_SKIP)
        assert allowed.fullmatch(case["reason"]), f"{name}: an unexpected SKIP: {case['reason']}"
    case_passed(report, name, known_skips=(name,) if case["status"] == "skip" else ())
