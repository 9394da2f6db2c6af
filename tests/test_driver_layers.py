"""Which module may import which: the outside-check registry imports no check, and
the static checker's module list holds no host-side library."""

import importlib.util
import os
import subprocess
import sys

from conftest import ROOT


def modules_after_import(module):
    """The runtimetest modules a fresh interpreter holds after importing `module`."""
    code = f"import sys, {module}; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('runtimetest'))))"
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": ROOT}).stdout
    return shown.split()


def test_the_outside_registry_imports_none_of_the_checks_it_lists():
    loaded = modules_after_import("runtimetest.driver.outside.registry")
    assert "runtimetest.driver.outside.registry" in loaded
    assert "runtimetest.driver.outside.hooks" not in loaded
    assert "runtimetest.driver.outside.lifecycle" not in loaded


def test_the_driver_registers_every_outside_check_it_lists():
    listed = subprocess.run([sys.executable, "-m", "runtimetest", "suite", "--list-checks"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    families = {line.split("\t")[0].split(".")[0] for line in listed}
    assert families == {"hooks", "lifecycle"}


def checker_modules():
    """What build/collect.py would put in the static checker (the modules runtimetest.checker.main reaches)."""
    spec = importlib.util.spec_from_file_location("collect", os.path.join(ROOT, "build", "collect.py"))
    collect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collect)
    return set(collect.find_modules("runtimetest.checker.main"))


def test_the_checker_binary_holds_no_pyroute2_nor_the_driver():
    modules = checker_modules()
    assert "runtimetest.checker.checks.netdevices" in modules
    assert "runtimetest.linux.netlink" in modules
    host_side = sorted(m for m in modules if m.split(".")[0] == "pyroute2" or m.startswith("runtimetest.driver"))
    assert host_side == []
