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

`version` is a glob on the version the runtime prints first in `--version`;
`stderr` replaces NAME.err for that runtime version, and `exit` (a status or a
signal name) and `stdout`, if given, NAME.exit and NAME.out. A case that fails exactly as recorded is reported as a known
departure: listed with its reason, counted with the skipped, not failed. A case
that fails any other way still fails, so a departure never hides a new fault;
one that passes although a departure is recorded passes, with a note that the
record can go.
"""

import fnmatch
import json
import os
import re

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
                "required": ["version", "case", "why", "stderr"],
                "additionalProperties": False,
                "properties": {
                    "version": {"type": "string", "minLength": 1},
                    "case": {"type": "string", "minLength": 1},
                    "why": {"type": "string", "minLength": 1},
                    "stderr": {"type": "array", "items": {"type": "string"}},
                    "exit": {"type": ["integer", "string"]},
                    "stdout": {"type": "string"},
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

    def __init__(self, case, why, stderr, source, exit=None, stdout=None):
        self.case = case
        self.why = why
        self.stderr = stderr
        self.source = source
        self.exit = exit  # (code, None) or (None, signal number)
        self.stdout = stdout  # bytes


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
    for entry in data["entries"]:
        for number, line in enumerate(entry["stderr"]):
            if line.startswith("re:"):
                try:
                    re.compile(line[3:])
                except re.error as error:
                    raise DepartureError(f"{path}: {entry['case']}: stderr[{number}]: "
                                         f"bad regular expression: {error}") from None
    return data["entries"]


def load(directory, runtime_name, version):
    """{case name: Departure} recorded for this runtime at this version ({} when none)."""
    path = path_for(directory, runtime_name)
    if not os.path.exists(path):
        return {}
    found = {}
    for entry in read(path, runtime_name):
        if version is None or not fnmatch.fnmatchcase(version, entry["version"]):
            continue
        exit = None
        if "exit" in entry:
            try:
                exit = parse_exit(entry["exit"], f"{path}: {entry['case']}: exit")
            except CaseError as error:
                raise DepartureError(str(error)) from None
        stdout = entry["stdout"].encode() if "stdout" in entry else None
        found[entry["case"]] = Departure(entry["case"], entry["why"], entry["stderr"], path, exit, stdout)
    return found


def _validate(path, data):
    problem = first_error(data, SCHEMA, "departures")
    if problem:
        raise DepartureError(f"{path}: {problem}")
