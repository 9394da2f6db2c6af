"""The layers' import rules: the driver never loads the checker's modules, the checker lists its checks in
order, the outside-check registry imports no check, and the static checker holds no host-side library."""

import importlib.util
import os
import subprocess
import sys

from conftest import ROOT

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


HYBRID_MOUNTINFO = """\
30 1 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
33 30 0:29 /c\\0401 /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
"""
HYBRID_MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs ro,nosuid,mode=755 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nsdelegate 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,xattr,release_agent=/x,name=systemd 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,seclabel,cpu,cpuacct 0 0
"""


def test_both_mount_tables_give_the_same_cgroup_hierarchies_and_layout():
    from runtimetest.linux import cgroupfs
    from runtimetest.linux.mountinfo import parse_mountinfo, parse_mounts

    expected = {"": "/sys/fs/cgroup/unified", "name=systemd": "/sys/fs/cgroup/systemd",
                "cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
    for entries in (parse_mountinfo(HYBRID_MOUNTINFO), parse_mounts(HYBRID_MOUNTS)):
        assert cgroupfs.hierarchies(entries) == expected
        assert cgroupfs.layout(entries) == cgroupfs.HYBRID
    assert parse_mountinfo(HYBRID_MOUNTINFO)[3].root == "/c 1"
    assert cgroupfs.layout(parse_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")) == cgroupfs.V2
    assert cgroupfs.layout(parse_mounts("proc /proc proc rw 0 0\n")) is None


def test_proc_readers():
    from runtimetest.linux import proc

    assert proc.parse_cmdline(b"sh\0-c\0\0") == ["sh", "-c", ""] and proc.parse_cmdline(b"") == []
    import time

    argv = [sys.executable, "-c", "import time; time.sleep(30)", "an arg"]
    child = subprocess.Popen(argv)
    try:
        deadline = time.monotonic() + 10
        while proc.cmdline(child.pid) != argv and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd
        assert proc.cmdline(child.pid) == argv
    finally:
        child.kill()
        child.wait()
    assert proc.cmdline("no-such-pid") is None
    assert proc.parse_status("Name:\tx\nUmask:\t0022\nbroken\n") == {"Name": "x", "Umask": "0022"}
    assert proc.parse_cpu_list("0-2, 5,7-8") == [0, 1, 2, 5, 7, 8]
    assert proc.format_cpu_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"


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
