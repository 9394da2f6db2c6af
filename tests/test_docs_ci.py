"""docs/ci.md: every `runtimetest` command its workflow runs exists, with every option it passes."""

import os
import re
import shlex

from conftest import ROOT
from runtimetest.cli import DRIVER_COMMANDS
from runtimetest.driver.cli import parser

DOC = os.path.join(ROOT, "docs", "ci.md")
COMMAND = re.compile(r'runtimetest"?\s+([a-z-]+)\b')


def workflow_commands():
    """Each `runtimetest SUB ...` of the doc's workflow, continuation lines joined, as argv lists."""
    with open(DOC) as handle:
        text = handle.read()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert blocks, "docs/ci.md: no ```yaml block"
    text = "\n".join(blocks).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        match = COMMAND.search(line)
        if match and match.group(1) in DRIVER_COMMANDS:
            command = re.sub(r"\$\{\{[^}]*\}\}", "X", line[match.start(1):].split(">>")[0])
            words = shlex.split(command)
            commands.append(words)
    return commands


def options_of(subcommand):
    subparsers = next(a for a in parser()._actions if a.dest == "command")
    return {flag for action in subparsers.choices[subcommand]._actions for flag in action.option_strings}


def test_the_workflow_runs_the_suite_and_the_report():
    used = {words[0] for words in workflow_commands()}
    assert {"suite", "report", "checker-path"} <= used, used


def test_every_option_in_the_workflow_exists():
    for words in workflow_commands():
        known = options_of(words[0])
        flags = [w.split("=")[0] for w in words[1:] if w.startswith("-")]
        assert flags or words[0] == "checker-path", words
        for flag in flags:
            assert flag in known, f"docs/ci.md: `runtimetest {words[0]}` has no option {flag}"
        try:
            parser().parse_args(words)
        except SystemExit:
            raise AssertionError(f"docs/ci.md: `runtimetest {' '.join(words)}` does not parse") from None
