"""The static checker: statically linked, self-contained, built by one reproducible recipe."""

import os
import re
import subprocess

from conftest import ROOT, runtimetest


def test_the_checker_is_statically_linked(checker_binary):
    headers = subprocess.run(["readelf", "-l", checker_binary], capture_output=True, text=True, check=True)
    assert "INTERP" not in headers.stdout and "interpreter" not in headers.stdout
    dynamic = subprocess.run(["readelf", "-d", checker_binary], capture_output=True, text=True)
    assert "NEEDED" not in dynamic.stdout


def test_the_checker_runs_on_its_own_and_says_what_it_checks(checker_binary):
    listed = subprocess.run([checker_binary, "--list"], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/nonexistent"})
    assert listed.returncode == 0 and listed.stderr == ""
    assert listed.stdout == runtimetest("--list").stdout, "the binary is stale: rebuild it with make static"


def test_the_dockerfile_and_the_makefile_build_by_one_recipe():
    with open(os.path.join(ROOT, "Dockerfile.static")) as handle:
        dockerfile = handle.read()
    with open(os.path.join(ROOT, "Makefile")) as handle:
        makefile = handle.read()
    for shared in ("build/build-packages.txt", "build/requirements.txt"):
        assert shared in dockerfile and shared in makefile, shared
    assert re.search(r"build/freeze\.sh \S+ ", dockerfile) and "build/freeze.sh $(PY)" in makefile
    assert "FROM debian:bookworm" in dockerfile


def test_two_builds_at_once_succeed_and_agree(tmp_path):
    """The recipe keeps no state outside its own work directory: two runs at once both
    succeed, and the same sources give the same bytes."""
    python = os.path.join(ROOT, ".venv", "bin", "python")
    outputs = [tmp_path / f"hello-{n}" for n in (1, 2)]
    builds = [subprocess.Popen([os.path.join(ROOT, "build", "freeze.sh"), python, str(out), "runtimetest.checker.hello"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for out in outputs]
    for build in builds:
        log = build.communicate(timeout=600)[0]
        assert build.returncode == 0, log
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert subprocess.run([str(outputs[0])], capture_output=True, text=True).stdout == "hello\n"


def test_the_binary_imports_only_from_itself(checker_binary, tmp_path):
    """No interpreter, library or module is looked for outside the binary: PYTHON* variables
    and a hostile sys.path entry in the working directory change nothing."""
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "__init__.py").write_text("raise SystemExit('imported from the working directory')")
    run = subprocess.run([checker_binary, "--version"], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path), "PYTHONHOME": str(tmp_path), "PYTHONSTARTUP": "/x"})
    assert run.returncode == 0 and run.stderr == "" and run.stdout.startswith("runtimetest ")
