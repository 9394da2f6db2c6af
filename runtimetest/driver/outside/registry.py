"""Checks the driver makes from outside the container: lifecycle operations and hooks.

Some promises cannot be seen from inside: what `state` answers, whether `kill`
delivers, whether a hook ran at its point with the state on its stdin. The
driver observes them and judges them with checks of the same vocabulary as the
checker's (a stable id, an RFC 2119 level, the runtime-spec section, a docstring
saying what is verified) and reports each failure as one line of the same
format. A case compares those lines, after the container's own stderr, with its
NAME.err, so a negative case names the check and the line as it does for the
checker's checks.

They are kept in a list of their own (`runtimetest suite --list-checks`), apart
from the checker's, which the static binary holds. This module imports none of
the checks: a module declaring them imports it, never the other way round.
"""

from runtimetest.core.registry import Registry, Result, Skip
from runtimetest.core.report import failure_line

OUTSIDE = Registry()
OUTSIDE_CHECKS = OUTSIDE.checks


def outside_check(id, level, section):
    """Declare a check the driver makes from outside: func(seen, result)."""
    def register(func):
        OUTSIDE.declare(id, level, section, func)
        return func

    return register


def get(check_id):
    return OUTSIDE.by_id[check_id]


class Findings:
    """What the outside checks found for one case: failure lines, notes, skips."""

    def __init__(self):
        self.lines = []
        self.notes = []
        self.skips = []
        self.ran = []  # check ids that ran, in order

    def run(self, check_id, seen):
        """Run one outside check on what was seen; its failures become lines."""
        check = OUTSIDE.by_id[check_id]
        result = Result(check)
        try:
            check.func(seen, result)
        except Skip as skip:
            result.skip_reason = skip.reason
        except Exception as error:  # a bug in a check is that check's failure, not a crash
            result.problem(f"check raised {type(error).__name__}: {error}")
        self.ran.append(check_id)
        self.lines.extend(failure_line(check, message) for message in result.failures)
        self.notes.extend(f"{check_id}: {note}" for note in result.notes)
        if result.skip_reason is not None:
            self.skips.append(f"{check_id}: {result.skip_reason}")
        return result


def list_checks(out):
    """Every outside check registered: id, level, reference, what it verifies (as the checker's --list).

    The checks register when their modules (outside/lifecycle.py, outside/hooks.py)
    are imported; the driver's runner imports both.
    """
    for check in OUTSIDE_CHECKS:
        out.write(f"{check.id}\t{check.level}\t{check.url}\t{check.title}\n")
