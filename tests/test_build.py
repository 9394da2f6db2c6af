"""The static checker: statically linked, self-contained, built by one recipe."""

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
