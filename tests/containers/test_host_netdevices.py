"""linux.netDevices in real runc containers, with host devices made for the run.

spec-fixtures/host-netdevices/prepare.sh creates veth devices rtt-nd0..2 with
addresses; runc 1.1.5 predates netDevices, so createRuntime hooks move them
the way a runtime would (the 1.3 case itself is a SKIP with runc).
"""

import os
import subprocess

import pytest
from pyroute2 import IPRoute

from conftest import FIXTURES, case_names, case_passed, prepared_host, requires_root, run_suite

pytestmark = requires_root
CASES = os.path.join(FIXTURES, "host-netdevices")
PREPARE = os.path.join(CASES, "prepare.sh")
NAMES = case_names(CASES)
# runc 1.1.5 implements runtime-spec 1.0.2-dev; linux.netDevices needs 1.3 (a SKIP saying so).
KNOWN_SKIPS = ("netdevices-move",)


@pytest.fixture(scope="module")
def report(checker_binary, tmp_path_factory):
    with prepared_host(CASES):
        yield run_suite(CASES, tmp_path_factory.mktemp("netdevices"), "-j", "1")


@pytest.mark.parametrize("name", NAMES)
def test_case_passes_against_runc(report, name):
    case_passed(report, name, KNOWN_SKIPS)


def test_no_device_is_left_behind(report):
    subprocess.run([PREPARE, "down"], check=True, timeout=60)
    with IPRoute() as route:
        names = [link.get_attr("IFLA_IFNAME") for link in route.get_links()]
    assert "lo" in names
    assert [name for name in names if name.startswith("rtt-nd")] == []
