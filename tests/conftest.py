import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKER = os.path.join(ROOT, "build", "runtimetest")
FIXTURES = os.path.join(ROOT, "spec-fixtures")
sys.path.insert(0, ROOT)


def runtimetest(*args, **kwargs):
    """Run the host `runtimetest` command (driver or checker) from this checkout."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 600)
    return subprocess.run([sys.executable, "-m", "runtimetest", *args], cwd=ROOT, **kwargs)


def run_checker(spec, *args, tmp_path):
    """Run the checker from source on this host against a spec (a dict or raw text)."""
    path = tmp_path / "spec.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return runtimetest("--spec", str(path), *args)


@pytest.fixture(scope="session")
def checker_binary():
    if not os.path.isfile(CHECKER):
        pytest.fail(f"{CHECKER} is missing: `make test` builds it (make static)")
    return CHECKER


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")
