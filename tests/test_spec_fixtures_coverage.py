"""Every check has a negative case in spec-fixtures/ (or below) whose expected stderr names it.

Together with tests/containers/test_suite_runc.py (which runs those cases against runc and needs
their expected lines to appear), this proves that removing any check's logic
makes at least one case fail.
"""

import os

from conftest import FIXTURES, runtimetest


def listed_checks():
    """The checker's checks and the driver's own (lifecycle and hooks, checked from outside)."""
    inside = runtimetest("--list").stdout.splitlines()
    outside = runtimetest("suite", "--list-checks").stdout.splitlines()
    return [line.split("\t")[0] for line in inside + outside]


def expected_failure_lines():
    """Every expected line of every NAME.err, in spec-fixtures/ and the directories
    below it (cases that need the host prepared, each run by its own test)."""
    lines = []
    for directory, _, names in sorted(os.walk(FIXTURES)):
        for name in sorted(names):
            if name.endswith(".err"):
                with open(os.path.join(directory, name)) as handle:
                    lines.extend((name, line) for line in handle.read().splitlines())
    return lines


def names_check(line, check_id):
    text = line[3:] if line.startswith("re:") else line
    escaped = check_id.replace(".", "\\.")
    return text.startswith(check_id + ": ") or text.startswith(escaped + ": ")


def test_every_check_has_a_negative_case():
    lines = expected_failure_lines()
    missing = [c for c in listed_checks() if not any(names_check(line, c) for _, line in lines)]
    assert missing == [], f"checks without a negative case in spec-fixtures/: {missing}"


def test_every_expected_failure_line_names_a_real_check():
    ids = set(listed_checks())
    for name, line in expected_failure_lines():
        text = line[3:] if line.startswith("re:") else line
        check_id = text.split(": ", 1)[0].replace("\\.", ".")
        assert check_id in ids, f"{name}: {line!r} names no check"
