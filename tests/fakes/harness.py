"""Running the driver against the fake runtime (tests/fakes/fake-runtime), and
finding out what it left behind.

Everything lives under the test's own tmp_path: the fake's state (--root), the
driver's record directory (--state-dir), the cases. Nothing here touches the
shared /run/runtimetest or any container the test did not make.
"""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT

FAKES = os.path.join(ROOT, "tests", "fakes")
FAKE_RUNTIME = os.path.join(FAKES, "fake-runtime")
FAKE_CHECKER = os.path.join(FAKES, "fake-checker")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


class Fake:
    def __init__(self, tmp_path):
        self.root = tmp_path / "fake-root"
        self.state = tmp_path / "records"
        self.cases = tmp_path / "cases"
        self.report = tmp_path / "report.json"
        self.cases.mkdir()

    def case(self, name, config=None, **files):
        """Write a case: NAME.json plus files given as suffix=text (args as a list)."""
        (self.cases / f"{name}.json").write_text(json.dumps(config or {}))
        for suffix, text in files.items():
            if isinstance(text, list):
                text = "".join(f"{line}\n" for line in text)
            (self.cases / f"{name}.{suffix}").write_text(text)

    def argv(self, *extra, command_timeout=2):
        return [sys.executable, "-m", "runtimetest", "suite", "--runtime", FAKE_RUNTIME,
                f"--runtime-arg=--root={self.root}", "--checker", FAKE_CHECKER,
                "--state-dir", str(self.state), "--command-timeout", str(command_timeout),
                "--json", str(self.report), *extra, str(self.cases)]

    def env(self, faults=()):
        env = dict(os.environ)
        env["FAKE_RUNTIME_FAULTS"] = ",".join(faults)
        return env

    def run(self, *extra, faults=(), command_timeout=2, timeout=120):
        return subprocess.run(self.argv(*extra, command_timeout=command_timeout), cwd=ROOT, env=self.env(faults),
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *extra, faults=(), command_timeout=2):
        return subprocess.Popen(self.argv(*extra, command_timeout=command_timeout), cwd=ROOT,
                                env=self.env(faults), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start_sleeper(self, *extra, prefix=()):
        """Start the driver (under `prefix`, e.g. unshare) on one case that sleeps; return once its
        container runs."""
        self.case("sleeps", args=["/runtimetest", "--sleep", "600"], timeout="300")
        driver = subprocess.Popen([*prefix, *self.argv(*extra)], cwd=ROOT, env=self.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(self.running_containers()) == 1)
        except AssertionError:
            stop(driver)
            raise
        return driver

    def clean(self):
        return subprocess.run([sys.executable, "-m", "runtimetest", "clean", "--state-dir", str(self.state),
                               "--runtime", FAKE_RUNTIME],
                              cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120)

    def results(self):
        data = json.loads(self.report.read_text())
        return {case["name"]: case for case in data["cases"]}, data

    def _lines(self, name):
        path = self.root / name
        return path.read_text().split() if path.exists() else []

    def containers(self):
        directory = self.root / "containers"
        return sorted(os.listdir(directory)) if directory.exists() else []

    def running_containers(self):
        found = []
        for cid in self.containers():
            try:
                state = json.loads((self.root / "containers" / cid / "state.json").read_text())
            except (OSError, ValueError):
                continue
            if state.get("status") == "running" and alive(state["pid"]):
                found.append(cid)
        return found

    def leftovers(self, wait=5.0):
        """What is left: containers in the fake's list, live processes it made,
        bundles, driver records. Processes get `wait` seconds to be reaped."""
        deadline = time.monotonic() + wait
        while True:
            processes = [int(p) for p in self._lines("pids") if alive(int(p))]
            if not processes or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        bundles = [b for b in self._lines("bundles") if os.path.exists(b)]
        records = sorted(os.listdir(self.state)) if self.state.exists() else []
        return {"containers": self.containers(), "processes": processes, "bundles": bundles, "records": records}


NOTHING = {"containers": [], "processes": [], "bundles": [], "records": []}


def read_until(process, predicate, timeout=60):
    """Lines of the driver's stdout up to the first one `predicate` accepts."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if predicate(lines[-1]):
            return lines
    raise AssertionError(f"never saw the line; got {lines}")


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition never held")


def stop(process, sig=signal.SIGKILL):
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(30)
