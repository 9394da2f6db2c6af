"""What pyproject.toml cannot say: the wheel carries the static checker and the cases.

`make wheel` builds dist/runtimetest-*.whl with build/runtimetest (the static
checker) and the whole spec-fixtures/ tree (every depth: area directories,
host-*/, departures/) under runtimetest/bundled/, where the driver looks for
them when it is not run from a checkout (runtimetest/driver/paths.py).

Platform tag: the Python code is pure (any Python 3) and the checker is
statically linked, so it needs no glibc (nor any library) of the host; what it
does need is an x86-64 Linux kernel. manylinux_2_17_x86_64 is the oldest
PEP 600 tag that pip on current distributions accepts for x86-64 Linux and
asks nothing the wheel does not meet: `py3-none-manylinux_2_17_x86_64`. A
wheel built without the checker (a checkout where `make static` was not run)
holds pure Python and the cases only, and is tagged `any`.

Build directories: setuptools builds into build/ and writes *.egg-info beside
this file by default; build/ is the project's own (the freeze recipe and the
checker), so each build here uses a temporary directory instead, removed when
the build ends.
"""

import atexit
import os
import shutil
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "build", "runtimetest")
CASES = os.path.join(HERE, "spec-fixtures")
BUNDLED = os.path.join("runtimetest", "bundled")
PLATFORM = "manylinux_2_17_x86_64"


class BuildWithBundle(build_py):
    """The package's Python files, then the checker and the cases beside them."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, BUNDLED)
        shutil.rmtree(target, ignore_errors=True)  # a previous build's cases must not linger
        os.makedirs(target)
        if os.path.isfile(CHECKER):
            shutil.copy2(CHECKER, os.path.join(target, "runtimetest"))
        if os.path.isdir(CASES):
            shutil.copytree(CASES, os.path.join(target, "spec-fixtures"),
                            ignore=shutil.ignore_patterns("__pycache__"))


def _scratch():
    path = tempfile.mkdtemp(prefix="runtimetest-setuptools-")
    atexit.register(shutil.rmtree, path, True)
    return path


scratch = _scratch()
options = {
    "build": {"build_base": os.path.join(scratch, "build")},
    "egg_info": {"egg_base": scratch},
}
if os.path.isfile(CHECKER):
    options["bdist_wheel"] = {"plat_name": PLATFORM}

setup(cmdclass={"build_py": BuildWithBundle}, options=options)
