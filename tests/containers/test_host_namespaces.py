"""Namespaces joined by path (linux.namespaces[].path), in real runc containers.

spec-fixtures/host-namespaces/prepare.sh creates the namespaces at
/run/rtt-ns/<ns> for the run and removes them after, whatever happens.
"""

import os
import subprocess

import pytest

from conftest import FIXTURES, case_names, case_passed, prepared_host, requires_root, run_suite

pytestmark = requires_root
CASES = os.path.join(FIXTURES, "host-namespaces")
PREPARE = os.path.join(CASES, "prepare.sh")
NAMES = case_names(CASES)


@pytest.fixture(scope="module")
def report(checker_binary, tmp_path_factory):
    with prepared_host(CASES):
        # -j 1: a joined mount namespace serves one container.
        yield run_suite(CASES, tmp_path_factory.mktemp("ns-paths"), "-j", "1")


@pytest.mark.parametrize("name", NAMES)
def test_case_passes_against_runc(report, name):
    case_passed(report, name)


def test_every_namespace_type_runc_knows_is_joined_by_path_somewhere():
    import json

    joined = set()
    for name in NAMES:
        with open(os.path.join(CASES, name + ".json")) as handle:
            config = json.load(handle)
        joined |= {ns["type"] for ns in config.get("linux", {}).get("namespaces", []) + config.get("linux", {}).get("namespaces+", [])
                   if "path" in ns}
    # time: runc 1.1.5 has no time namespaces at all (see README).
    assert joined == {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"}


def test_prepare_leaves_nothing_behind(report):
    subprocess.run([PREPARE, "down"], check=True, timeout=60)
    assert not os.path.exists("/run/rtt-ns")
    sleeping = subprocess.run(["pgrep", "-f", "^(unshare .*)?sleep 3600$"], capture_output=True, text=True)
    assert sleeping.stdout.strip() == "", "a namespace holder is still running"
