"""CI plumbing of `runtimetest suite`: --shard K/N, `runtimetest merge`,
--rerun-failed, --list --format json and a --list whose reader goes away,
and what the reports say about the runtime, the host and runtimetest."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import FIXTURES, ROOT, case_names, requires_root, runtimetest
from fakes.harness import FAKE_RUNTIME, Fake
from runtimetest import __version__
from runtimetest.driver import about, selection
from runtimetest.driver.cases import load
from runtimetest.driver.cases.load import Case

# --- shards -------------------------------------------------------------------------------


def test_every_case_lands_in_exactly_one_shard():
    names = case_names(FIXTURES)
    for count in (1, 2, 3, 7):
        shards = [selection.in_shard([Case(n, FIXTURES) for n in names], (k, count)) for k in range(1, count + 1)]
        assert sorted(case.name for shard in shards for case in shard) == names
        if count > 1:
            assert all(shard for shard in shards), "a split of the fixtures should leave no shard empty"


def test_a_cases_shard_does_not_depend_on_the_process_or_its_hash_seed():
    code = "from runtimetest.driver.selection import shard_of; print([shard_of(n, 5) for n in ('a', 'uts-hostname', 'x' * 99)])"
    seen = set()
    for seed in ("0", "1", "12345"):
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": ROOT}, check=True)
        seen.add(run.stdout)
    assert seen == {f"{[selection.shard_of(n, 5) for n in ('a', 'uts-hostname', 'x' * 99)]}\n"}


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "/"])
def test_a_shard_that_is_not_k_of_n_is_a_usage_error(text):
    run = runtimetest("suite", "--list", f"--shard={text}")
    assert run.returncode == 2 and f"--shard {text}: should be K/N with 1 <= K <= N" in run.stderr


def test_list_of_a_shard_lists_its_cases_only():
    listed = []
    for k in (1, 2):
        run = runtimetest("suite", "--list", "--format", "json", "--shard", f"{k}/2")
        listed.append([case["name"] for case in json.loads(run.stdout)["cases"]])
    assert sorted(listed[0] + listed[1]) == case_names(FIXTURES) and not set(listed[0]) & set(listed[1])


# --- --list ------------------------------------------------------------------------------

def test_list_as_json_gives_name_description_path_and_area():
    run = runtimetest("suite", "--list", "--format", "json", "-k", "uts-hostname")
    assert run.returncode == 0, run.stderr
    (case,) = json.loads(run.stdout)["cases"]
    assert case == {"name": "uts-hostname", "description": "the hostname the process sees",
                    "path": os.path.join(FIXTURES, "namespaces", "uts-hostname.json"), "area": "namespaces",
                    "lifecycle": False}


def test_list_as_json_names_a_broken_case_with_its_error(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "bad.json").write_text("{")
    run = runtimetest("suite", "--list", "--format", "json", str(tmp_path / "cases"))
    (case,) = json.loads(run.stdout)["cases"]
    assert case["name"] == "bad" and "bad.json" in case["error"]


def test_area_is_the_subdirectory_when_the_case_is_in_one():
    assert load.area_of(Case("ro-root", "/cases/mounts"), "/cases") == "mounts"
    assert load.area_of(Case("uts-hostname", "/cases"), "/cases") == "uts"


@pytest.mark.parametrize("args", [["--list"], ["--list", "--format", "json"], ["--list-checks"]])
def test_a_reader_that_closed_the_pipe_gets_no_traceback(args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write meets EPIPE
    try:
        run = subprocess.run([sys.executable, "-m", "runtimetest", "suite", *args], cwd=ROOT, stdout=write_end,
                             stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert run.stderr == "" and run.returncode == 0, run.stderr


def test_list_piped_into_head_gives_one_line_and_no_traceback(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    for number in range(3000):  # more than a pipe holds, so the list is still being written when head exits
        (cases / f"case-{number:04}-with-a-long-name-to-fill-the-pipe.json").write_text("{}")
    run = subprocess.run(f"{sys.executable} -m runtimetest suite --list {cases} | head -1", shell=True, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.stdout.startswith("case-0000-with") and run.stdout.count("\n") == 1
    assert run.stderr == "", run.stderr


# --- shard runs, merge, rerun (fake runtime) ------------------------------------------------

def comparable(report):
    """A report's verdicts and lines, without what differs between runs (timings, ids, commands)."""
    keys = ("name", "description", "status", "reason", "details", "exit_code", "exit_signal", "stdout", "stderr",
            "outside_failures")
    return {"cases": [{key: case[key] for key in keys} for case in report["cases"]],
            "totals": report["totals"], "summary": report["summary"], "not_run": report["not_run"]}


@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    for number in range(4):
        made.case(f"passes-{number}", out="TAP version 13\n1..0\n")
        made.case(f"fails-{number}", args=["/runtimetest", "--exit", "3"])
    (made.cases / "broken.json").write_text("{")
    yield made
    made.clean()


def run_into(fake, report, *extra):
    fake.report = report
    run = fake.run(*extra)
    assert report.exists(), run.stdout + run.stderr
    return run, json.loads(report.read_text())


@requires_root
def test_shards_merged_equal_the_unsharded_run(fake, tmp_path):
    _, whole = run_into(fake, tmp_path / "whole.json", "-j", "2")
    assert whole["summary"] == "4 passed, 5 failed, 0 skipped"
    shards = [tmp_path / f"shard-{k}.json" for k in (1, 2)]
    for k, path in enumerate(shards, 1):
        _, part = run_into(fake, path, "--shard", f"{k}/2")
        assert part["selection"]["shard"] == [k, 2] and 0 < len(part["cases"]) < 9
    merged = tmp_path / "merged.json"
    run = runtimetest("merge", str(merged), *map(str, shards))
    assert run.returncode == 0 and run.stdout.endswith("9 case(s) from 2 report(s): 4 passed, 5 failed, 0 skipped\n")
    data = json.loads(merged.read_text())
    assert comparable(data) == comparable(whole)
    assert data["runtime"] == whole["runtime"] and [s["report"] for s in data["shards"]] == list(map(str, shards))
    assert set(data["run"]["phases"]) == {"create", "start", "run", "cleanup"}


@requires_root
def test_merge_refuses_a_missing_shard_and_a_case_twice(fake, tmp_path):
    _, whole = run_into(fake, tmp_path / "whole.json")
    _, part = run_into(fake, tmp_path / "shard-1.json", "--shard", "1/3")
    missing = runtimetest("merge", str(tmp_path / "out.json"), str(tmp_path / "shard-1.json"))
    assert missing.returncode == 2 and "selection.shard: no report of shard 2/3, 3/3" in missing.stderr
    twice = runtimetest("merge", str(tmp_path / "out.json"), str(tmp_path / "whole.json"), str(tmp_path / "whole.json"))
    assert twice.returncode == 2 and f"{tmp_path / 'whole.json'}: cases: 'broken' is also in" in twice.stderr
    assert not (tmp_path / "out.json").exists()


def test_merge_names_the_file_and_field_of_a_report_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cases": [{"name": "x", "status": "maybe"}]}))
    run = runtimetest("merge", str(tmp_path / "out.json"), str(bad))
    assert run.returncode == 2 and f"{bad}: cases[0].status: expected one of pass, fail" in run.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"runtime": {"name": "crun", "version": "1.8"}, "cases": []}))
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"runtime": {"name": "runc", "version": "1.1.5"}, "cases": []}))
    run = runtimetest("merge", str(tmp_path / "out.json"), str(mine), str(other))
    assert run.returncode == 2 and f"{other}: runtime: ('crun', '1.8') is not" in run.stderr


@requires_root
def test_rerun_failed_runs_only_the_cases_that_failed(fake, tmp_path):
    _, first = run_into(fake, tmp_path / "first.json")
    run, again = run_into(fake, tmp_path / "again.json", "--rerun-failed", str(tmp_path / "first.json"))
    failed = sorted(case["name"] for case in first["cases"] if case["status"] in ("fail", "error", "timeout"))
    assert sorted(case["name"] for case in again["cases"]) == failed == ["broken"] + [f"fails-{n}" for n in range(4)]
    assert again["selection"]["rerun_failed"] == str(tmp_path / "first.json")


def test_rerun_failed_with_nothing_failed_runs_nothing(tmp_path):
    report = tmp_path / "green.json"
    report.write_text(json.dumps({"cases": [{"name": "uts-hostname", "status": "pass"}]}))
    run = runtimetest("suite", "--rerun-failed", str(report))
    assert run.returncode == 0 and "no case failed in" in run.stdout and "nothing to run again" in run.stdout


def test_rerun_failed_names_a_report_it_cannot_read(tmp_path):
    report = tmp_path / "odd.json"
    report.write_text(json.dumps({"cases": [{"name": 3}]}))
    run = runtimetest("suite", "--rerun-failed", str(report))
    assert run.returncode == 2 and f"--rerun-failed {report}: cases[0].name: expected str" in run.stderr


# --- what a report says about the run --------------------------------------------------------

@requires_root
def test_reports_name_the_runtime_the_host_and_runtimetest(fake, tmp_path):
    junit = tmp_path / "junit.xml"
    _, data = run_into(fake, tmp_path / "report.json", "-k", "passes-0", "--junit", str(junit))
    runtime = data["runtime"]
    assert (runtime["name"], runtime["program"]) == ("oci", FAKE_RUNTIME)  # no adapter of its own
    assert runtime["version_output"] == "fake-runtime version 0\nspec: 1.0.2" and runtime["spec_version"] == "1.0.2"
    host = data["host"]
    assert host["kernel"] == os.uname().release and host["cgroup_mode"] in ("v1", "hybrid", "v2")
    assert host["distro"] == about.read_os_release().get("PRETTY_NAME")
    assert data["runtimetest"] == {"version": __version__}
    properties = {p.get("name"): p.get("value") for p in ElementTree.parse(junit).getroot().iter("property")}
    assert properties["runtime"] == FAKE_RUNTIME and properties["host-kernel"] == os.uname().release
    assert properties["runtimetest-version"] == __version__ and properties["host-cgroup-mode"] == host["cgroup_mode"]


def test_os_release_values_are_unquoted(tmp_path):
    path = tmp_path / "os-release"
    path.write_text('# a comment\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID=\'12\'\n'
                    'NAME="say \\"hi\\""\n')
    assert about.read_os_release([str(path)]) == {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian",
                                                   "VERSION_ID": "12", "NAME": 'say "hi"'}
    facts = about.host_facts(os_release=[str(path)])
    assert (facts["distro"], facts["distro_id"], facts["distro_version"]) == ("Debian GNU/Linux 12 (bookworm)",
                                                                             "debian", "12")
    assert about.host_facts(os_release=[str(tmp_path / "none")])["distro"] is None


@requires_root
def test_a_shard_holding_none_of_the_cases_still_writes_its_report(tmp_path):
    fake = Fake(tmp_path)
    fake.case("only", out="TAP version 13\n1..0\n")
    empty = next(k for k in (1, 2) if selection.shard_of("only", 2) != k)
    try:
        listed = fake.run("--list", "--shard", f"{empty}/2")
        assert listed.stdout == "0 case(s)\n" and listed.returncode == 0
        run, data = run_into(fake, tmp_path / "empty.json", "--shard", f"{empty}/2")
        assert run.returncode == 0 and data["cases"] == [] and data["summary"] == "0 passed, 0 failed, 0 skipped"
        run_into(fake, tmp_path / "full.json", "--shard", f"{3 - empty}/2")
        merged = runtimetest("merge", str(tmp_path / "all.json"), str(tmp_path / "empty.json"),
                             str(tmp_path / "full.json"))
        assert merged.returncode == 0 and merged.stdout.endswith("1 case(s) from 2 report(s): 1 passed, 0 failed, 0 skipped\n")
    finally:
        fake.clean()
