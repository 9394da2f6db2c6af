"""The cgroup v2 code path in real containers, with runc and with crun.

spec-fixtures/host-cgroup2/prepare.sh binds a cgroup of the host's cgroup2
hierarchy at /sys/fs/cgroup in a private mount namespace: both runtimes then
manage cgroups as on a pure v2 host. On this hybrid host no controller is
enabled there, so the cases use the core cgroup2 files and prove that a
missing controller is a failure.
"""

import glob
import os
import shutil

import pytest

from conftest import FIXTURES, case_names, case_passed, requires_root, run_suite

pytestmark = requires_root
CASES = os.path.join(FIXTURES, "host-cgroup2")
PREPARE = os.path.join(CASES, "prepare.sh")
NAMES = case_names(CASES)
# runc 1.1.5 ignores linux.personality (see README): those cases are crun's.
RUNC_NAMES = [n for n in NAMES if n.startswith("cgroups-")]


@pytest.fixture(scope="module")
def runc_report(checker_binary, tmp_path_factory):
    return run_suite(CASES, tmp_path_factory.mktemp("v2-runc"), "-j", "1", "-k", "cgroups-*",
                     prefix=[PREPARE, "run"])


@pytest.fixture(scope="module")
def crun_report(checker_binary, tmp_path_factory):
    if shutil.which("crun") is None:
        pytest.skip("crun is not installed")
    return run_suite(CASES, tmp_path_factory.mktemp("v2-crun"), "-j", "1", runtime="crun",
                     prefix=[PREPARE, "run"])


@pytest.mark.parametrize("name", RUNC_NAMES)
def test_case_passes_against_runc(runc_report, name):
    case_passed(runc_report, name)


@pytest.mark.parametrize("name", NAMES)
def test_case_passes_against_crun(crun_report, name):
    case_passed(crun_report, name)


def test_no_cgroup_is_left_behind(runc_report, crun_report):
    assert glob.glob("/sys/fs/cgroup/rtt-cgroup2-*") + glob.glob("/sys/fs/cgroup/unified/rtt-cgroup2-*") == []
