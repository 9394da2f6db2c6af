"""hugetlb and net_cls/net_prio (cgroup v1) in real runc containers.

This host does not mount those controllers; spec-fixtures/host-cgroups-v1/
prepare.sh mounts them in a private mount namespace for the run only.
"""

import os
import time

import pytest

from conftest import FIXTURES, case_names, case_passed, requires_root, run_suite

pytestmark = requires_root
CASES = os.path.join(FIXTURES, "host-cgroups-v1")
PREPARE = os.path.join(CASES, "prepare.sh")
NAMES = case_names(CASES)
# runc 1.1.5 implements runtime-spec 1.0.2-dev; the reservation limit needs 1.1 (a SKIP saying so).
KNOWN_SKIPS = ("cgroups-v1-hugetlb-reservation",)


def v1_hierarchies():
    with open("/proc/cgroups") as handle:
        return {f[0]: int(f[1]) for f in (line.split() for line in handle if not line.startswith("#"))}


@pytest.fixture(scope="module")
def before():
    return v1_hierarchies()


@pytest.fixture(scope="module")
def report(checker_binary, before, tmp_path_factory):
    return run_suite(CASES, tmp_path_factory.mktemp("cgroups-v1"), "-j", "1", prefix=[PREPARE, "run"])


@pytest.mark.parametrize("name", NAMES)
def test_case_passes_against_runc(report, name):
    case_passed(report, name, KNOWN_SKIPS)


def test_hierarchies_it_mounted_are_gone(report, before):
    deadline = time.monotonic() + 10
    while True:
        now = v1_hierarchies()
        left = [c for c in ("hugetlb", "net_cls", "net_prio") if before.get(c) == 0 and now.get(c) != 0]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == [], f"v1 hierarchies left behind: {left}"
