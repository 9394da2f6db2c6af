"""Hostile case directories (issue 11): every entry named like a case file is used
or an ERROR naming it; nothing blocks, recurses without bound or is followed out
of the directory silently; one broken case stops no other."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, requires_root
from runtimetest.driver.cases.load import BrokenCase, Case, discover

DEEP = "[" * 1000 + "]" * 1000


def write(directory, name, text):
    (directory / name).write_text(text)


def loaded(directory):
    return {case.name: case for case in discover(str(directory))}


def assert_error(cases, name, message):
    case = cases[name]
    assert isinstance(case, BrokenCase), name
    assert message in case.reason, case.reason


@pytest.mark.parametrize("filename", ["deep.json", "deep.spec.json"])
def test_deep_json_is_an_error_of_that_case_only(tmp_path, filename):
    write(tmp_path, "deep.json", "{}")
    write(tmp_path, filename, DEEP)
    write(tmp_path, "good.json", "{}")
    cases = loaded(tmp_path)
    assert_error(cases, "deep", f"{filename}: arrays and objects nested more than 100 deep")
    assert isinstance(cases["good"], Case)


def test_json_deep_enough_to_parse_is_refused_before_anything_recurses(tmp_path):
    write(tmp_path, "deep.json", '{"a":' * 900 + "1" + "}" * 900)
    assert_error(loaded(tmp_path), "deep", "deep.json: arrays and objects nested more than 100 deep")


def test_deep_json_still_lets_the_cases_be_listed(tmp_path):
    write(tmp_path, "deep.json", DEEP)
    write(tmp_path, "good.json", "{}")
    run = subprocess.run([sys.executable, "-m", "runtimetest", "suite", "--list", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "deep  ERROR " in run.stdout and run.stdout.splitlines()[-1] == "2 case(s)"


def test_symlinks_that_lead_nowhere_or_out_are_errors(tmp_path):
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    (tmp_path / "outside.json").write_text("{}")
    os.symlink("missing.json", cases_dir / "dangling.json")
    os.symlink("loop.json", cases_dir / "loop.json")
    os.symlink("../outside.json", cases_dir / "escapes.json")
    os.symlink("/etc/hostname", cases_dir / "absolute.json")
    write(cases_dir, "inside.json", "{}")
    write(cases_dir, "linked.json", "{}")
    os.symlink("inside.json", cases_dir / "linked.spec.json")
    cases = loaded(cases_dir)
    assert_error(cases, "dangling", "dangling.json: a symlink that leads nowhere (dangling, or a loop)")
    assert_error(cases, "loop", "loop.json: a symlink that leads nowhere (dangling, or a loop)")
    assert_error(cases, "escapes", "escapes.json: a symlink out of the case directory (to ../outside.json)")
    assert_error(cases, "absolute", "absolute.json: a symlink out of the case directory (to /etc/hostname)")
    assert isinstance(cases["linked"], Case) and cases["linked"].spec_override == {}


@pytest.mark.parametrize("filename, kind", [
    ("odd.json", "a directory"), ("odd.err", "a directory"), ("odd.spec.json", "a directory"),
    ("odd.json", "a FIFO"), ("odd.in", "a FIFO"), ("odd.err", "a FIFO"), ("odd.out", "a FIFO"),
])
def test_directories_and_fifos_named_like_case_files_are_errors(tmp_path, filename, kind):
    if filename != "odd.json":
        write(tmp_path, "odd.json", "{}")
    path = tmp_path / filename
    path.mkdir() if kind == "a directory" else os.mkfifo(path)
    write(tmp_path, "good.json", "{}")
    cases = loaded(tmp_path)  # a FIFO opened for reading would block here
    assert_error(cases, "odd", f"{filename}: {kind}")
    assert "not a regular file" in cases["odd"].reason and isinstance(cases["good"], Case)


@requires_root
def test_a_device_named_like_a_case_file_is_an_error(tmp_path):
    write(tmp_path, "dev.json", "{}")
    os.symlink("/dev/zero", tmp_path / "dev.in")  # a symlink out: never read
    os.mknod(tmp_path / "zero.json", 0o600 | 0o020000, os.makedev(1, 5))
    cases = loaded(tmp_path)
    assert_error(cases, "dev", "dev.in: a symlink out of the case directory (to /dev/zero)")
    assert_error(cases, "zero", "zero.json: a device, not a regular file")


@pytest.mark.parametrize("text", ["inf", "1e309", "1e-300", "-1", "0", "nan", "NaN", "-inf", "1e9", ""])
def test_a_timeout_out_of_range_is_an_error_naming_file_and_value(tmp_path, text):
    write(tmp_path, "t.json", "{}")
    write(tmp_path, "t.timeout", text)
    assert_error(loaded(tmp_path), "t", f"t.timeout: timeout should be a number of seconds from 0.01 to 604800, "
                                        f"found {text!r}")


@pytest.mark.parametrize("text", ["99999999999999999999999", "256", "-1", "1_0", "٣", "1.5", "0x10"])
def test_an_exit_status_out_of_range_is_an_error_naming_file_and_value(tmp_path, text):
    write(tmp_path, "e.json", "{}")
    write(tmp_path, "e.exit", text)
    assert_error(loaded(tmp_path), "e", f"e.exit: exit status should be an integer from 0 to 255 or a signal name, "
                                        f"found {text!r}")


def test_values_in_range_still_load(tmp_path):
    write(tmp_path, "ok.json", "{}")
    write(tmp_path, "ok.timeout", "0.5\n")
    write(tmp_path, "ok.exit", "255\n")
    case = loaded(tmp_path)["ok"]
    assert (case.timeout, case.expected_exit) == (0.5, 255)


@pytest.mark.parametrize("flag", ["--timeout", "--command-timeout"])
def test_an_infinite_timeout_on_the_command_line_is_refused(tmp_path, flag):
    write(tmp_path, "a.json", "{}")
    run = subprocess.run([sys.executable, "-m", "runtimetest", "suite", flag, "inf", "--state-dir",
                          str(tmp_path / "state"), str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and f"{flag} should be from 0.01 to 604800 seconds, found inf" in run.stderr
