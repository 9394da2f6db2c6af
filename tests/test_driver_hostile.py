"""The driver's output under hostile names and runtime messages, and the runtime's
own messages kept out of the container's stderr (issue 11). With the fake runtime,
and with runc where it is the real runtime's behaviour that matters."""

import os
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import requires_root, run_suite
from fakes.harness import NOTHING, Fake

pytestmark = requires_root

HOSTILE_NAMES = ["esc\x1b[31mred", "new\nline", "bell\x07and\ttab", "caf\u00e9"]


@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    yield made
    made.clean()


def no_control_bytes(text):
    return not any(ord(ch) < 0x20 and ch not in "\n\t" for ch in text)


def test_names_with_newlines_and_escapes_are_escaped_on_the_terminal_and_in_junit(fake, tmp_path):
    for name in HOSTILE_NAMES:
        fake.case(name, args=["/runtimetest", "--exit", "3"])
    junit = tmp_path / "report.xml"
    run = fake.run("--junit", str(junit))
    assert no_control_bytes(run.stdout) and "\\x1b[31mred" in run.stdout and "new\\nline" in run.stdout
    assert "caf\u00e9" in run.stdout  # printable text stays as it is
    assert run.stdout.splitlines()[-1] == "0 passed, 4 failed, 0 skipped"
    names = {case.get("name") for case in ElementTree.parse(junit).iter("testcase")}
    assert names == {"esc\\x1b[31mred", "new\nline", "bell\\x07and\ttab", "caf\u00e9"}
    listed = fake.run("--list")
    assert no_control_bytes(listed.stdout) and listed.stdout.splitlines()[-1] == "4 case(s)"
    assert fake.leftovers() == NOTHING


def test_a_broken_case_file_with_a_newline_in_its_name_is_one_line(fake):
    (fake.cases / "odd\nname.json").write_text("{")
    listed = fake.run("--list")
    [line, count] = listed.stdout.splitlines()
    assert line.startswith("odd\\nname  ERROR ") and "odd\\nname.json: not JSON" in line and count == "1 case(s)"


def test_an_escape_in_a_runtime_message_leaves_the_junit_parseable(fake, tmp_path):
    fake.case("fails-to-create")
    junit = tmp_path / "report.xml"
    run = fake.run("--junit", str(junit), faults=["escape-message"])
    assert no_control_bytes(run.stdout) and "\\x1b[31mred\\x1b[0m" in run.stdout
    [error] = ElementTree.parse(junit).iter("error")
    assert "\\x1b[31mred\\x1b[0m \\x07 \\x00 failure" in error.text and error.get("message")
    assert fake.leftovers() == NOTHING


def test_what_a_runtime_init_prints_after_a_failed_create_is_not_the_containers(fake):
    fake.case("create-fails", lifecycle=["create fail"])
    fake.run(faults=["late-init-message"])
    results, _ = fake.results()
    case = results["create-fails"]
    assert case["stderr"] == "" and not any("stderr" in detail for detail in case["details"]), case
    assert fake.leftovers() == NOTHING


def test_a_program_the_runtime_could_not_execute_is_a_runtime_fault(fake):
    fake.case("too-long", args=["/runtimetest", "x" * 200_000])
    fake.run()
    results, _ = fake.results()
    case = results["too-long"]
    assert case["status"] == "error", case
    assert case["reason"].startswith("runtime fault: the runtime did not execute process.args (exit 127): "
                                     "fake-runtime: exec /runtimetest: "), case["reason"]
    assert fake.leftovers() == NOTHING


def test_runc_saying_it_could_not_execute_the_program_is_a_runtime_fault(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "too-long.json").write_text("{}")
    (cases / "too-long.args").write_text("/runtimetest\n" + "x" * 200_000 + "\n")
    report = run_suite(str(cases), tmp_path, "--state-dir", str(tmp_path / "state"))
    case = report["by_name"]["too-long"]
    assert case["status"] == "error", case
    assert case["reason"] == ("runtime fault: the runtime did not execute process.args (exit 1): "
                              "exec /runtimetest: argument list too long")
    assert os.listdir(tmp_path / "state") == []
