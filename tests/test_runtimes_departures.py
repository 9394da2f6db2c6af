"""The recorded departures (spec-fixtures/departures/<runtime>.json) are well formed and name real cases."""

import os
import re

import pytest

from conftest import FIXTURES
from runtimetest.driver.cases import departures

DEPARTURES = os.path.join(FIXTURES, "departures")
FILES = sorted(name for name in os.listdir(DEPARTURES) if name.endswith(".json"))
CASES = {name.split(".")[0] for name in os.listdir(FIXTURES) if name.endswith(".json")}
FAILURE_LINE = re.compile(r"[a-z][A-Za-z0-9_.-]*: .* \[(MUST|SHOULD|MAY) [^\s\]]+\]")


def test_every_runtime_with_an_adapter_has_its_file():
    assert {"runc.json", "crun.json", "runsc.json"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_a_departures_file_is_well_formed(name):
    runtime = name[:-len(".json")]
    entries = departures.read(os.path.join(DEPARTURES, name), runtime)  # the driver's own checks
    seen = set()
    for entry in entries:
        if "check" in entry:
            _check_per_check_entry(name, entry, seen)
            continue
        where = f"{name}: {entry['case']}"
        assert entry["case"] in CASES, f"{where}: no such case"
        assert (entry["version"], entry["case"]) not in seen, f"{where}: recorded twice"
        seen.add((entry["version"], entry["case"]))
        assert "\n" not in entry["why"], f"{where}: why is one line"
        for line in entry.get("stderr", []):
            # Literal lines are failure lines, or what a runtime itself printed on the container's stderr.
            assert line.startswith("re:") or FAILURE_LINE.fullmatch(line) or \
                not line.startswith(("hooks.", "lifecycle.")), where
        departures.load(DEPARTURES, runtime, entry["version"].replace("*", "0"))  # exit and stdout parse


def _check_per_check_entry(name, entry, seen):
    where = f"{name}: {entry['check']} {entry['field']} {entry.get('message', '')}"
    key = (entry["version"], entry["check"], entry["field"], entry.get("message"))
    assert key not in seen, f"{where}: recorded twice"
    seen.add(key)
    assert "\n" not in entry["why"], f"{where}: why is one line"


@pytest.mark.parametrize("name", FILES)
def test_a_per_case_record_leaves_out_what_a_per_check_one_covers(name):
    """A line a per-check record matches is set aside before per-case records are compared: it has no place in one."""
    runtime = name[:-len(".json")]
    entries = departures.read(os.path.join(DEPARTURES, name), runtime)
    for entry in entries:
        if "case" not in entry:
            continue
        records = departures.load_per_check(DEPARTURES, runtime, entry["version"].replace("*", "0"))
        for line in entry.get("stderr", []):
            covered = [record.label() for record in records if record.matches(line)]
            assert not covered, f"{name}: {entry['case']}: {line!r} is covered by {covered}"
