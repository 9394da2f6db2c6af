"""`make wheel`: the installed package runs the suite anywhere, with the checker and cases it carries.

A fresh venv of Debian's Python gets the wheel (its dependencies from the
package index, as any `pip install` does), and runs from an empty directory.
"""

import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile

import pytest

from conftest import CHECKER, FIXTURES, ROOT, requires_root

PLATFORM_TAG = "py3-none-manylinux_2_17_x86_64"
PT_INTERP = 3


@pytest.fixture(scope="module")
def wheel(checker_binary):
    # -o: the checker is the one the tests already use; make must not rebuild it here.
    result = subprocess.run(["make", "-o", "build/runtimetest", "wheel", f"PY={sys.executable}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = glob.glob(os.path.join(ROOT, "dist", "runtimetest-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed, or a skip when the index cannot give its dependencies."""
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("no /usr/bin/python3 (Debian's python3) to make a fresh venv with")
    home = tmp_path_factory.mktemp("venv")
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(home)], check=True, timeout=120)
    pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    alone = subprocess.run(pip + ["--no-deps", wheel], capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, f"pip refused the wheel itself: {alone.stderr}"
    deps = subprocess.run(pip + [wheel], capture_output=True, text=True, timeout=600)
    if deps.returncode != 0:
        pytest.skip(f"pip could not install the wheel's dependencies (is the package index reachable?): "
                    f"{deps.stderr.strip()[-300:]}")
    return home


@pytest.fixture
def empty_dir(tmp_path):
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def installed(venv, *args, cwd, timeout=120):
    return subprocess.run([str(venv / "bin" / "runtimetest"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_without_checker_override())


def _without_checker_override():
    env = dict(os.environ)
    env.pop("RUNTIMETEST_CHECKER", None)
    env.pop("PYTHONPATH", None)  # the installed package, not this checkout
    return env


def has_interpreter(path):
    """Whether an ELF executable asks for a dynamic loader (a PT_INTERP program header)."""
    with open(path, "rb") as handle:
        header = handle.read(64)
        assert header[:4] == b"\x7fELF" and header[4] == 2, f"{path}: not a 64-bit ELF file"
        phoff, = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        for index in range(phnum):
            handle.seek(phoff + index * phentsize)
            if struct.unpack("<I", handle.read(4))[0] == PT_INTERP:
                return True
    return False


def case_files(directory):
    return {os.path.relpath(os.path.join(top, name), directory)
            for top, dirs, names in os.walk(directory) for name in names if "__pycache__" not in top}


def test_wheel_is_tagged_for_x86_64_linux_and_carries_the_checker_and_every_case(wheel):
    assert os.path.basename(wheel).endswith(f"-{PLATFORM_TAG}.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        checker = archive.getinfo("runtimetest/bundled/runtimetest")
        assert checker.file_size == os.path.getsize(CHECKER)
        assert (checker.external_attr >> 16) & 0o111, "the bundled checker must be executable"
    prefix = "runtimetest/bundled/spec-fixtures/"
    bundled = {n[len(prefix):] for n in names if n.startswith(prefix)}
    expected = case_files(FIXTURES)
    assert any("/" in name for name in expected), "spec-fixtures/ has subdirectories (host-*/, departures/)"
    assert bundled == expected


def test_building_leaves_no_build_lib_nor_egg_info_in_the_project(tmp_path):
    """setuptools' default build/lib and *.egg-info would land in the project: they go elsewhere."""
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split("\n")
    copy = tmp_path / "project"
    for name in filter(None, tracked):
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(copy / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), copy / name)
    before = case_files(copy)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                             "--wheel-dir", str(tmp_path / "out"), str(copy)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert glob.glob(str(tmp_path / "out" / "runtimetest-*.whl"))
    assert case_files(copy) == before


def test_checker_path_from_elsewhere_is_the_bundled_static_binary(venv, empty_dir):
    result = installed(venv, "checker-path", cwd=empty_dir)
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert path.startswith(str(venv)) and path.endswith("runtimetest/bundled/runtimetest")
    assert os.access(path, os.X_OK)
    assert not has_interpreter(path), f"{path} is dynamically linked"
    with open(path, "rb") as bundled, open(CHECKER, "rb") as built:
        assert bundled.read() == built.read()


def test_checker_path_in_a_checkout_is_the_checkouts_own():
    result = subprocess.run([sys.executable, "-m", "runtimetest", "checker-path"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=_without_checker_override())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == CHECKER


@requires_root
def test_installed_suite_runs_the_bundled_cases_with_the_bundled_checker(venv, empty_dir, tmp_path):
    report = tmp_path / "report.json"
    result = installed(venv, "suite", "--runtime", "runc", "-k", "process-*", "-j", "2",
                       "--state-dir", str(tmp_path / "state"), "--json", str(report),
                       cwd=empty_dir, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["cases_dir"].startswith(str(venv)), data["cases_dir"]
    expected = {name[:-len(".json")] for _, _, names in os.walk(FIXTURES) for name in names
                if name.startswith("process-") and name.endswith(".json") and not name.endswith(".spec.json")}
    assert {case["name"] for case in data["cases"]} == expected
    assert all(case["status"] == "pass" for case in data["cases"]), data["totals"]
