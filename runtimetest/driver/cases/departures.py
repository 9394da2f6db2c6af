"""Known departures: where a runtime is known not to do what the runtime-spec says.

A case directory may hold `departures/<runtime name>.json`, recording for each
runtime version the cases that runtime fails, why, and exactly how:

    {
      "runtime": "runc",
      "entries": [
        {"version": "1.1.*", "case": "hooks-poststart",
         "why": "runc runs poststart hooks inside create (runc#1710)",
         "stderr": ["lines as in NAME.err: literal, or re: regular expressions"],
         "exit": 0}
      ]
    }

`version` is a glob on the version the runtime prints first in `--version`.

A per-case record (`case`) is for what is truly that case's own: its `stderr`
replaces NAME.err for that runtime version, and `exit` (a status or a signal
name) and `stdout`, if given, NAME.exit and NAME.out. A case that fails exactly
as recorded is reported as a known departure: listed with its reason, counted
with the skipped, not failed. A case that fails any other way still fails, so a
departure never hides a new fault; one that passes although a departure is
recorded passes, with a note that the record can go.

A per-check record is for a gap the runtime shows in many cases:

        {"version": "0.0~2022*", "check": "mounts.destination",
         "field": "mounts[*].destination",
         "message": "re:expected \"/dev/mqueue\", found \"not a mount point\".*",
         "why": "runsc drops the mqueue mount", "url": "https://..."}

Its lines are set aside wherever they occur (per_check.py); the rest of each
case is judged as usual, per-case records included.

A per-case record may name instead (or as well) the runtime fault a case ends
in, as `fault`: a glob or `re:` pattern on the first line of the ERROR's
reason. A case that ERRORs so departs; without `stderr`, the record says
nothing of how the case goes when the fault does not come (an intermittent
fault), and a case that then passes passes without a note.
"""

import fnmatch
import json
import os
import re

from runtimetest.driver.cases import per_check
from runtimetest.driver.cases.load import CaseError, parse_exit
from runtimetest.driver.cases.schema import first_error

SCHEMA = {
    "type": "object",
    "required": ["runtime", "entries"],
    "properties": {
        "runtime": {"type": "string", "minLength": 1},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["version", "why"],
                "additionalProperties": False,
                "properties": {
                    "version": {"type": "string", "minLength": 1},
                    "case": {"type": "string", "minLength": 1},
                    "check": {"type": "string", "minLength": 1, "pattern": "^[a-z][A-Za-z0-9_.-]*$"},
                    "field": {"type": "string", "minLength": 1},
                    "message": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "pattern": "^https?://[^\\s]+$"},
                    "why": {"type": "string", "minLength": 1},
                    "stderr": {"type": "array", "items": {"type": "string"}},
                    "exit": {"type": ["integer", "string"]},
                    "stdout": {"type": "string"},
                    "fault": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}
VERSION = re.compile(r"\d+\.\d+\S*")


class DepartureError(Exception):
    """A departures file that cannot be used: names the file and the field."""


class Departure:
    """How a case goes with a runtime that departs from the spec: stderr, and exit and
    stdout where they differ from the case's (None: the case's own)."""

    def __init__(self, case, why, stderr, source, exit=None, stdout=None, fault=None):
        self.case = case
        self.why = why
        self.stderr = stderr
        self.source = source
        self.exit = exit  # (code, None) or (None, signal number)
        self.stdout = stdout  # bytes
        self.fault = per_check.compile_pattern(fault) if fault else None  # on an ERROR's first line
        self.fault_text = fault

    def explains(self, reason):
        """Whether an ERROR with this reason is the runtime fault this record names."""
        first = reason.splitlines()[0] if reason else ""
        return self.fault is not None and self.fault.fullmatch(first) is not None


def runtime_version(runtime):
    """The version a runtime prints first in `--version` ("1.1.5+ds1"), or None."""
    result = runtime.run(["--version"])
    first = result.stdout.splitlines()[0] if result.ok and result.stdout.strip() else ""
    match = VERSION.search(first)
    return match.group(0) if match else None


def path_for(directory, runtime_name):
    return os.path.join(directory, f"{runtime_name}.json")


def read(path, runtime_name):
    """The entries of a departures file, each checked ({"case": Departure-fields...})."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError, RecursionError) as error:
        raise DepartureError(f"{path}: {error}") from None
    _validate(path, data)
    if data["runtime"] != runtime_name:
        raise DepartureError(f"{path}: runtime: should be {runtime_name!r}, found {data['runtime']!r}")
    for number, entry in enumerate(data["entries"]):
        _check_entry(path, number, entry)
    return data["entries"]


def _check_entry(path, number, entry):
    """A record is per case (case, stderr) or per check (check, field): never both, never neither."""
    where = f"{path}: entries[{number}]"
    if ("case" in entry) == ("check" in entry):
        raise DepartureError(f"{where}: needs either \"case\" (a per-case record) or \"check\" "
                             "(a per-check record), not both")
    if "check" in entry:
        for field in ("stderr", "exit", "stdout", "fault"):
            if field in entry:
                raise DepartureError(f"{where}.{field}: not for a per-check record (its lines are "
                                     "the ones it matches; exit and stdout stay the case's)")
        if "field" not in entry:
            raise DepartureError(f"{where}: field: a per-check record needs a pattern on the field")
        for field in ("field", "message"):
            if field in entry:
                try:
                    per_check.compile_pattern(entry[field])
                except per_check.PatternError as error:
                    raise DepartureError(f"{where}.{field}: {error}") from None
        return
    if "stderr" not in entry and "fault" not in entry:
        raise DepartureError(f"{where}: stderr: a per-case record needs the case's stderr, or the fault it ends in")
    if "fault" in entry:
        try:
            per_check.compile_pattern(entry["fault"])
        except per_check.PatternError as error:
            raise DepartureError(f"{where}.fault: {error}") from None
    if "field" in entry or "message" in entry:
        raise DepartureError(f"{where}: field and message are for per-check records (with \"check\")")
    for line_number, line in enumerate(entry.get("stderr", [])):
        if line.startswith("re:"):
            try:
                re.compile(line[3:])
            except re.error as error:
                raise DepartureError(f"{path}: {entry['case']}: stderr[{line_number}]: "
                                     f"bad regular expression: {error}") from None


def load_per_check(directory, runtime_name, version):
    """[CheckDeparture] recorded for this runtime at this version, in file order ([] when none)."""
    path = path_for(directory, runtime_name)
    if not os.path.exists(path):
        return []
    return [per_check.CheckDeparture(entry["check"], entry["field"], entry["why"], path,
                                     message=entry.get("message"), url=entry.get("url"),
                                     version=entry["version"])
            for entry in read(path, runtime_name)
            if "check" in entry and version is not None and fnmatch.fnmatchcase(version, entry["version"])]


def load(directory, runtime_name, version):
    """{case name: Departure} recorded for this runtime at this version ({} when none)."""
    path = path_for(directory, runtime_name)
    if not os.path.exists(path):
        return {}
    found = {}
    for entry in read(path, runtime_name):
        if "case" not in entry:
            continue
        if version is None or not fnmatch.fnmatchcase(version, entry["version"]):
            continue
        exit = None
        if "exit" in entry:
            try:
                exit = parse_exit(entry["exit"], f"{path}: {entry['case']}: exit")
            except CaseError as error:
                raise DepartureError(str(error)) from None
        stdout = entry["stdout"].encode() if "stdout" in entry else None
        found[entry["case"]] = Departure(entry["case"], entry["why"], entry.get("stderr"), path, exit, stdout,
                                         entry.get("fault"))
    return found


def _validate(path, data):
    problem = first_error(data, SCHEMA, "departures")
    if problem:
        raise DepartureError(f"{path}: {problem}")


def default_directory(cases_dir):
    """CASES_DIR/departures; for one area of a tree (spec-fixtures/cgroups), the tree's."""
    own = os.path.join(cases_dir, "departures")
    above = os.path.join(os.path.dirname(os.path.abspath(cases_dir)), "departures")
    return above if not os.path.isdir(own) and os.path.isdir(above) else own
