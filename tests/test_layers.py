"""The layers' import rules: the driver never loads the checker's modules, the checker lists its checks in order."""

import subprocess
import sys

IMPORT_EVERY_DRIVER_MODULE = """
import importlib, pkgutil, sys
import runtimetest.driver, runtimetest.driver.cli
for module in pkgutil.walk_packages(runtimetest.driver.__path__, "runtimetest.driver."):
    importlib.import_module(module.name)
from runtimetest.driver import hostfacts
hostfacts.annotate({"root": {"path": "/"}, "mounts": [{"destination": "/x", "source": "/", "type": "bind"}]}, {}, "/")
print("\\n".join(sorted(name for name in sys.modules if name.startswith("runtimetest."))))
"""


def test_the_driver_imports_nothing_of_the_checker():
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_DRIVER_MODULE], capture_output=True, text=True,
                          check=True)
    loaded = done.stdout.split()
    assert "runtimetest.driver.hostfacts" in loaded and "runtimetest.driver.outside.lifecycle" in loaded
    assert [name for name in loaded if name.startswith("runtimetest.checker")] == []


def test_checks_register_in_the_order_of_the_checks_package():
    """TAP numbers follow registration: the cgroup checks come after the namespaces, before the devices."""
    from runtimetest.core.registry import CHECKS
    import runtimetest.checker.checks  # noqa: F401  importing registers every check

    ids = [c.id for c in CHECKS]
    assert ids.index("root.readonly") < ids.index("linux.namespaces.pid") < ids.index("linux.cgroupsPath") \
        < ids.index("linux.resources.memory.limit.enforced") < ids.index("linux.devices")
    assert ids.index("default.symlinks") < ids.index("root.readonly")


def test_a_declared_condition_not_met_skips_the_check_before_its_body():
    from runtimetest.checker.main import run_check
    from runtimetest.core.registry import MUST, Check, Condition
    from runtimetest.core.spec import Spec

    ran = []
    needs_x = Condition("x", lambda spec: None if spec.annotation("x") else "no x here")
    declared = Check("demo.x", MUST, "config.md#demo", lambda spec, result: ran.append(1), None, (needs_x,))
    skipped = run_check(declared, Spec({}))
    assert (skipped.status, skipped.skip_reason, ran) == ("skip", "no x here", [])
    assert run_check(declared, Spec({"annotations": {"x": "1"}})).status == "pass" and ran == [1]


def test_cgroup_checks_skip_when_the_driver_says_cgroups_were_not_managed():
    from runtimetest.checker.main import run_check
    from runtimetest.core import facts
    from runtimetest.core.registry import CHECKER
    from runtimetest.core.spec import Spec
    import runtimetest.checker.checks  # noqa: F401

    data = {"linux": {"cgroupsPath": "/x", "resources": {"pids": {"limit": 10}}},
            "annotations": {facts.CGROUP_LIMITS: facts.cgroups_not_applied("crun on a hybrid host")}}
    for check_id in ("linux.cgroupsPath", "linux.resources.pids.limit", "linux.resources.pids.limit.enforced"):
        result = run_check(CHECKER.by_id[check_id], Spec(data))
        assert result.status == "skip", check_id
        assert result.skip_reason == ("the runtime was run without cgroup management: "
                                      "not applied: crun on a hybrid host")
