"""--keep-logs: a failing case's kept directory holds what it takes to run it again, and repro.sh does."""

import os
import shutil
import subprocess

from conftest import case_directory, requires_root, runtimetest

NEGATIVE = "process-args-negative"


def failing_case(tmp_path):
    """The negative case without its NAME.err: the failure lines it gives make it fail."""
    cases = tmp_path / "cases"
    cases.mkdir()
    for suffix in (".json", ".spec.json", ".desc"):
        shutil.copy(os.path.join(case_directory(NEGATIVE), NEGATIVE + suffix), cases / (NEGATIVE + suffix))
    with open(os.path.join(case_directory(NEGATIVE), NEGATIVE + ".err")) as handle:
        return cases, handle.read()


def kept_directory(logs):
    (name,) = [entry for entry in os.listdir(logs) if entry.startswith(NEGATIVE)]
    return logs / name


@requires_root
def test_repro_sh_run_on_its_own_gives_the_failing_case_stderr(checker_binary, tmp_path):
    cases, expected_lines = failing_case(tmp_path)
    logs = tmp_path / "logs"
    run = runtimetest("suite", "--runtime", "runc", "--state-dir", str(tmp_path / "records"),
                      "--keep-logs", str(logs), str(cases))
    assert run.returncode == 1 and "FAIL" in run.stdout, run.stdout
    kept = kept_directory(logs)
    assert {"config.json", "spec.json", "bundle.txt", "repro.sh", "stderr"} <= set(os.listdir(kept))
    assert (kept / "stderr").read_text() == expected_lines
    # The large checker binary is not copied, its source is named.
    assert not (kept / "bundle" / "rootfs" / "runtimetest").exists()
    assert f"a copy of {checker_binary}" in (kept / "bundle.txt").read_text()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = set(os.listdir("/tmp"))
    replay = subprocess.run(["sh", str(kept / "repro.sh"), str(tmp_path / "again")], cwd=elsewhere,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == expected_lines
    assert (tmp_path / "again" / "stderr").read_text() == expected_lines
    assert not [name for name in set(os.listdir("/tmp")) - before if name.startswith("runtimetest-repro-")]
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, timeout=30).stdout.split()
    assert not [cid for cid in listed if cid.startswith("rtt-repro-")]


def test_the_commands_are_the_runtime_own_with_the_run_paths_made_the_script_own():
    from runtimetest.driver import repro

    placed = ["/bin/sh", "-c", "script", "place", "/sys/fs/cgroup/x/cgroup.procs", "--",
              "/usr/sbin/runc", "--root", "/run/r", "create", "--bundle", "/tmp/b-1", "rtt-a-1"]
    assert repro._without_placement(placed) == placed[6:]
    assert repro._shell_word("/tmp/b-1", "/tmp/b-1", "/w", "rtt-a-1") == '"$bundle"'
    assert repro._shell_word("/w/runtime.log", "/tmp/b-1", "/w", "rtt-a-1") == '"$out"/runtime.log'
    assert repro._shell_word("rtt-a-1-unknown", "/tmp/b-1", "/w", "rtt-a-1") == '"$id"-unknown'
    assert repro._shell_word("it's", "/tmp/b-1", "/w", "rtt-a-1") == "'it'\"'\"'s'"
