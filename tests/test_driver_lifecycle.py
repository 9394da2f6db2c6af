"""NAME.lifecycle: the steps a case asks the driver to perform, and their errors."""

import pytest

from runtimetest.driver.cases import BrokenCase, discover
from runtimetest.driver.lifecycle import Step, StepError, parse_steps


def test_steps_parse_with_their_expectations_and_comments():
    steps = parse_steps("# comment\ncreate\nstate created   # trailing\n\nkill SIGTERM fail\n"
                        "start unknown\nexpect awaiting signals\nwait\ndelete\n")
    assert steps == [
        Step("create", None, False, False, 2), Step("state", "created", False, False, 3),
        Step("kill", "SIGTERM", True, False, 5), Step("start", None, True, True, 6),
        Step("expect", "awaiting signals", False, False, 7), Step("wait", None, False, False, 8),
        Step("delete", None, False, False, 9)]


@pytest.mark.parametrize("text, message", [
    ("", "no steps"),
    ("launch\n", "line 1: unknown step 'launch'"),
    ("create\nstate\n", "line 2: `state` needs the expected status"),
    ("kill\n", "line 1: `kill` needs a signal"),
    ("kill SIGNOPE\n", "line 1: `kill SIGNOPE`: no such signal"),
    ("create unknown\n", "line 1: `create` cannot be aimed at an unknown id"),
    ("wait 3\n", "line 1: `wait` takes nothing"),
    ("expect\n", "line 1: `expect` needs the line to wait for"),
    ("start now\n", "line 1: `start` takes no 'now'"),
])
def test_a_bad_step_is_named_by_its_line(text, message):
    with pytest.raises(StepError) as error:
        parse_steps(text)
    assert str(error.value).startswith(message)


def test_a_bad_lifecycle_file_is_a_broken_case_naming_the_file(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "c.lifecycle").write_text("create\nexplode\n")
    (tmp_path / "d.json").write_text("{}")
    (tmp_path / "d.exit").write_text("SIGNOTHING\n")
    (tmp_path / "e.json").write_text("{}")
    (tmp_path / "e.exit").write_text("SIGKILL\n")
    cases = {case.name: case for case in discover(str(tmp_path))}
    assert isinstance(cases["c"], BrokenCase)
    assert cases["c"].reason == f"{tmp_path}/c.lifecycle: line 2: unknown step 'explode' " \
                                "(one of create, start, state, kill, wait, expect, delete)"
    assert isinstance(cases["d"], BrokenCase) and "d.exit: no such signal 'SIGNOTHING'" in cases["d"].reason
    assert (cases["e"].expected_exit, cases["e"].expected_signal) == (None, 9)
