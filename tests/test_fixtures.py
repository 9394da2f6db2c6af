"""The whole case directory against runc, in real containers: every case must pass.

Positive cases prove a runtime can satisfy each check; negative cases (a
NAME.spec.json telling the checker something the runtime was not asked for)
prove each check fails, with the expected line, for the right reason.

Except where runc itself departs from the runtime-spec: those cases must fail,
with exactly the lines naming the departure (so a fixed runc, or a check that
stopped seeing it, makes this test fail too).
"""

import json
import os
import subprocess

import pytest

from conftest import FIXTURES, requires_root, runtimetest

pytestmark = requires_root
CASE_NAMES = sorted({f.split(".")[0] for f in os.listdir(FIXTURES) if f.endswith(".json")})

# Where runc 1.1 does not do what the runtime-spec says: case -> the beginnings of
# the driver's failure lines it must give, in order.
POSTSTART_IN_CREATE = [  # runc runs poststart hooks inside `create` (runc#1710, fixed by runc#5186)
    'hooks.state: hooks.poststart[0] stdin.status: expected ["running", "stopped"], found "created"',
    'hooks.when: hooks.poststart[0]: expected "during start", found "during create"',
    'hooks.when: hooks.poststart[0]: expected "after process.args is executed", found "before"',
]
RUNC_1_1_DEPARTURES = {
    "hooks-poststart": POSTSTART_IN_CREATE,
    # ... and a failing one makes `create` fail, where runtime-spec < 1.3 says log and go on.
    "hooks-poststart-fails": POSTSTART_IN_CREATE + [
        'hooks.called: hooks.poststart[1]: expected "called", found "not called"',
        'hooks.when: hooks.poststop[0]: expected "during delete", found "during create"',
        'hooks.failure: create: expected "success", found "an error"',
    ],
    # A failing poststop hook stops the remaining ones (runc#1765).
    "hooks-poststop-fails": ['hooks.called: hooks.poststop[1]: expected "called", found "not called"'],
    # `runc start` exits 0 when a startContainer hook failed (runc init prints the error and exits).
    "hooks-startcontainer-fails": ['hooks.failure: start: expected "an error", found "success"'],
    # `runc delete` without --force kills and deletes a created container.
    "lifecycle-delete-created": [
        'lifecycle.delete: delete: expected "an error", found "success" (step 3 `delete fail`',
        'lifecycle.state: state: expected "success", found "`runc state rtt-lifecycle-delete-created-',
    ],
}


def runc_departures():
    version = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout
    return RUNC_1_1_DEPARTURES if version.startswith("runc version 1.1.") else {}


@pytest.fixture(scope="module")
def runc_report(checker_binary, tmp_path_factory):
    report = tmp_path_factory.mktemp("report") / "runc.json"
    result = runtimetest("suite", "--runtime", "runc", "-j", "2", "--json", str(report), FIXTURES)
    assert report.exists(), result.stdout + result.stderr
    data = json.loads(report.read_text())
    data["console"] = result
    return data


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_passes_against_runc(runc_report, name):
    cases = {case["name"]: case for case in runc_report["cases"]}
    case = cases[name]
    if case["status"] == "skip":
        assert case["reason"], "a skip must say why"
        pytest.skip(case["reason"])
    departure = runc_departures().get(name)
    if departure is not None:
        found = case["outside_failures"]
        assert case["status"] == "fail" and len(found) == len(departure), found
        assert all(line.startswith(start) for line, start in zip(found, departure)), found
        return
    assert case["status"] == "pass", "\n".join(case["details"] or [case["reason"]])


def test_suite_output_ends_with_the_summary_line(runc_report):
    console = runc_report["console"]
    totals = runc_report["totals"]
    failed = totals["fail"] + totals["error"] + totals["timeout"]
    assert console.stdout.splitlines()[-1] == f"{totals['pass']} passed, {failed} failed, {totals['skip']} skipped"
    assert console.returncode == (1 if failed else 0)
    assert failed == len(runc_departures())


def test_nothing_is_left_behind(runc_report):
    ids = {case["container_id"] for case in runc_report["cases"] if case["container_id"]}
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True)
    assert ids and ids.isdisjoint(listed.stdout.split())
    assert not any(os.path.exists(f"/sys/fs/cgroup/pids/runtimetest/{cid}") for cid in ids)
