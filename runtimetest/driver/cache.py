"""--cache DIR: a case whose result is known for the same content is not run again.

The key of a case is a SHA-256 over everything its verdict depends on: the
runtime binary (and how it is run: adapter, extra flags), the checker binary,
the driver's own code, the case's files, the departures file of the runtime,
the host facts (the runtime's namespaces, no_new_privs, cgroup layout), the
kernel release and the timeouts. Only verdicts are kept (PASS, FAIL, DEPARTS),
never an ERROR or a TIMEOUT, which say more about that moment than about the
content. Without --cache nothing is cached.
"""

import hashlib
import json
import os
import tempfile

from runtimetest.driver import hostfacts
from runtimetest.driver.cases.load import BrokenCase, split_name
from runtimetest.driver.children import Exit
from runtimetest.driver.runner import DEPARTS, FAIL, PASS, CaseResult

DRIVER_DIR = os.path.dirname(os.path.abspath(__file__))
KEPT = (PASS, FAIL, DEPARTS)
FORMAT = 1  # bumped when what an entry holds changes
FIELDS = ("status", "reason", "details", "notes", "outside", "timings", "peak_memory", "peak_rss_kib",
          "container_id", "terminal", "commands", "stale_departure", "exit_compared", "streams_compared")


class CacheError(Exception):
    pass


def file_digest(path, hasher=None):
    hasher = hasher or hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def driver_digest():
    """The driver's own code (its outside checks and comparisons decide verdicts too)."""
    hasher = hashlib.sha256()
    for directory, names, files in sorted(os.walk(DRIVER_DIR)):
        names.sort()
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                hasher.update(os.path.relpath(os.path.join(directory, name), DRIVER_DIR).encode())
                file_digest(os.path.join(directory, name), hasher)
    return hasher.hexdigest()


def host_facts(runtime):
    facts = {}
    for gather in (hostfacts.namespace_facts, hostfacts.privilege_facts, hostfacts.cgroup_facts):
        facts.update(gather())
    facts.update(runtime.host_facts())
    return facts


def context(runtime, checker, departures_path, timeouts):
    """What every case's key shares, as one digest."""
    parts = {
        "format": FORMAT,
        "runtime": file_digest(runtime.program),
        "runtime_use": runtime.describe(),
        "checker": file_digest(checker),
        "driver": driver_digest(),
        "departures": file_digest(departures_path) if departures_path and os.path.isfile(departures_path) else None,
        "host": host_facts(runtime),
        "kernel": os.uname().release,
        "timeouts": list(timeouts),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def case_key(case, shared):
    """The digest of a case's files (all NAME.* the case is made of) with the shared context."""
    hasher = hashlib.sha256(shared.encode())
    for entry in sorted(os.listdir(case.directory)):
        if split_name(entry)[0] == case.name:
            hasher.update(entry.encode() + b"\0")
            file_digest(os.path.join(case.directory, entry), hasher)
    return hasher.hexdigest()


class Cache:
    def __init__(self, directory, shared, check_departures=()):
        self.directory = directory
        self.shared = shared
        self.records = {record.label(): record for record in check_departures}
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as error:
            raise CacheError(f"--cache {directory}: {error.strerror}") from None

    def _path(self, key):
        return os.path.join(self.directory, f"{key}.json")

    def get(self, case):
        """The cached result of `case`, or None."""
        key = case_key(case, self.shared)
        try:
            with open(self._path(key)) as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("name") != case.name or entry.get("status") not in KEPT:
            return None
        return self._result(case, entry)

    def put(self, case, result):
        if result.status not in KEPT:
            return
        entry = {field: getattr(result, field) for field in FIELDS}
        entry.update(name=case.name, stdout=_text(result.stdout), stderr=_text(result.stderr),
                     exit=result.exit.status if result.exit is not None else None,
                     departed=[[record.label(), line] for record, line in result.departed])
        handle = tempfile.NamedTemporaryFile("w", dir=self.directory, suffix=".tmp", delete=False)
        with handle:
            json.dump(entry, handle)
        os.replace(handle.name, self._path(case_key(case, self.shared)))

    def _result(self, case, entry):
        result = CaseResult(case)
        for field in FIELDS:
            if field in entry:
                setattr(result, field, entry[field])
        result.stdout, result.stderr = _bytes(entry.get("stdout")), _bytes(entry.get("stderr"))
        result.exit = Exit(entry["exit"], None) if isinstance(entry.get("exit"), int) else None
        result.departed = [(self.records[label], line) for label, line in entry.get("departed", [])
                           if label in self.records]
        result.cached = True
        return result


class CachingRunner:
    """A CaseRunner that answers from the cache where it can, and fills it."""

    def __init__(self, runner, cache):
        self.runner = runner
        self.cache = cache

    def __getattr__(self, name):
        return getattr(self.runner, name)

    def run(self, case):
        if isinstance(case, BrokenCase):
            return self.runner.run(case)
        known = self.cache.get(case)
        if known is not None:
            return known
        result = self.runner.run(case)
        try:
            self.cache.put(case, result)
        except OSError as error:
            result.notes.append(f"not cached: {error}")
        return result


def summary_lines(results, directory):
    cached = sorted(r.name for r in results if r.cached)
    if not cached:
        return []
    return [f"{len(cached)} case(s) cached: not run again, their results as known for the same content "
            f"({directory})"]


def _text(data):
    return data.decode("utf-8", "surrogateescape")


def _bytes(text):
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else b""
