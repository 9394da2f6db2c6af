import contextlib
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


def case_names(directory):
    """The names of the cases in a case tree, as the driver finds them (every NAME.json,
    NAME.spec.json aside; departures/ and host-*/ below the top left out)."""
    from runtimetest.driver.cases.load import case_directories

    return sorted({f.split(".")[0] for place in case_directories(directory)
                   for f in os.listdir(place) if f.endswith(".json")})


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


def run_suite(cases_dir, tmp_path, *args, runtime="runc", prefix=()):
    """Run the driver on a case directory (under `prefix`, e.g. a prepare.sh) and return its JSON report.

    The report's cases are keyed by name under "by_name"; "console" holds the
    completed process.
    """
    report = tmp_path / f"report-{os.path.basename(cases_dir)}-{runtime}.json"
    argv = [*prefix, sys.executable, "-m", "runtimetest", "suite", "--runtime", runtime,
            "--json", str(report), *args, cases_dir]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report.exists(), result.stdout + result.stderr
    data = json.loads(report.read_text())
    data["by_name"] = {case["name"]: case for case in data["cases"]}
    data["console"] = result
    return data


@contextlib.contextmanager
def prepared_host(cases_dir):
    """The host prepared by cases_dir/prepare.sh (`up`), undone afterwards (`down`), even on failure."""
    prepare = os.path.join(cases_dir, "prepare.sh")
    subprocess.run([prepare, "up"], check=True, timeout=60)
    try:
        yield
    finally:
        subprocess.run([prepare, "down"], check=True, timeout=60)


def case_passed(report, name, known_skips=()):
    """Assert one case of a run_suite report passed, or failed exactly as a recorded departure
    (whose record must not be outdated), or is a SKIP named in `known_skips` (what this runtime
    on this host is known to skip; it must say why, and is reported to pytest as a skip). Any
    other SKIP fails: a fault that skipped everything must not look green."""
    case = report["by_name"][name]
    if case["status"] == "skip":
        assert case["reason"], "a skip must say why"
        assert name in known_skips, f"{name}: an unexpected SKIP: {case['reason']}"
        pytest.skip(case["reason"])
    if case["status"] == "departure":
        assert case["reason"].startswith("known departure: "), case["reason"]
        return
    assert not any("the record can go" in note for note in case["notes"]), case["notes"]
    assert case["status"] == "pass", "\n".join(case["details"] or [case["reason"]])


def names_with_status(report, status):
    """The names of a report's cases with one status, sorted (for a failure message that lists them)."""
    return sorted(case["name"] for case in report["cases"] if case["status"] == status)


def case_directory(name):
    """The directory below spec-fixtures/ that holds the case NAME (its area)."""
    for directory, _, files in sorted(os.walk(FIXTURES)):
        if f"{name}.json" in files:
            return directory
    raise LookupError(f"no case {name} below {FIXTURES}")
