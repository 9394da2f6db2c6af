"""The checker's vocabulary: a check, its level, its verdict.

A check is a small function declared with a stable id, an RFC 2119 level and the
runtime-spec section it enforces:

    @check("process.cwd", MUST, "config.md#process", needs="process.cwd")
    def cwd_is_applied(spec, result):
        expected = spec.str("process.cwd")
        found = container.cwd()
        if found != expected:
            result.fail("process.cwd", expected, found)

It passes when it returns having reported nothing, fails once per `result.fail`
call, and skips with a reason through `result.skip(...)` when this environment
cannot decide. `needs` names the spec fields whose presence makes the check apply
(any of them); a check without `needs` always applies. `requires` names the
conditions this environment must meet for the check to be decided (Condition:
a name and a function giving the reason it is not met, or None); the first one
not met makes the check a SKIP with that reason before its body runs.
"""

from runtimetest.core.spec import show

MUST, SHOULD, MAY = "MUST", "SHOULD", "MAY"
LEVELS = (MUST, SHOULD, MAY)
LEVEL_RANK = {MUST: 3, SHOULD: 2, MAY: 1}

SPEC_BASE_URL = "https://github.com/opencontainers/runtime-spec/blob/main/"



class Skip(Exception):
    """Raised by `result.skip`: the check cannot be decided here, for this reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Condition:
    """Something a check needs of the environment: `unmet(spec)` gives the reason it is missing, or None."""

    def __init__(self, name, unmet):
        self.name = name
        self.unmet = unmet

    def require(self, spec, result):
        """SKIP the running check when the condition is not met (for a body that must look first)."""
        reason = self.unmet(spec)
        if reason:
            result.skip(reason)

    def __repr__(self):
        return f"<condition {self.name}>"


class Check:
    def __init__(self, id, level, section, func, needs, requires=()):
        self.id = id
        self.level = level
        self.section = section
        self.func = func
        self.needs = needs
        self.requires = tuple(requires)
        doc = (func.__doc__ or "").strip().splitlines()
        self.title = doc[0] if doc else func.__name__.replace("_", " ")

    @property
    def url(self):
        return SPEC_BASE_URL + self.section

    def applies_to(self, spec):
        if self.needs is None:
            return True
        if callable(self.needs):
            return bool(self.needs(spec))
        return any(spec.has(field) for field in self.needs)

    def unmet(self, spec):
        """The reason of the first condition in `requires` this environment does not meet, or None."""
        for condition in self.requires:
            reason = condition.unmet(spec)
            if reason:
                return reason
        return None


class Registry:
    """An ordered set of checks with unique ids (the checker's; the driver keeps its own)."""

    def __init__(self):
        self.checks = []
        self.by_id = {}

    def declare(self, id, level, section, func, needs=None, requires=()):
        if level not in LEVELS:
            raise ValueError(f"{id}: level must be one of {LEVELS}")
        if id in self.by_id:
            raise ValueError(f"check id {id!r} declared twice")
        declared = Check(id, level, section, func, needs, requires)
        self.checks.append(declared)
        self.by_id[id] = declared
        return declared


CHECKER = Registry()
CHECKS = CHECKER.checks


def check(id, level, section, needs=None, requires=()):
    """Declare a check (see the module docstring)."""
    if isinstance(needs, str):
        needs = (needs,)

    def register(func):
        CHECKER.declare(id, level, section, func, needs, requires)
        return func

    return register


class Result:
    """What one check found: failure messages, or a skip reason."""

    def __init__(self, check):
        self.check = check
        self.failures = []
        self.failure_parts = []  # per failure: what it was made of (field, expected, found, why), for TAP's YAML
        self.notes = []
        self.skip_reason = None

    def fail(self, field, expected=None, found=None, why=None):
        """Record that `field` was not applied: what the spec says vs what the process sees."""
        message = field
        if expected is not None or found is not None:
            message += f": expected {show(expected)}, found {show(found)}"
        if why:
            message += f" ({why})" if expected is not None or found is not None else f": {why}"
        self.failures.append(message)
        parts = {"field": field}
        if expected is not None or found is not None:
            parts.update(expected=show(expected), found=show(found))
        if why:
            parts["why"] = why
        self.failure_parts.append(parts)

    def problem(self, message, field=None):
        """Record a failure that is not an expected/found comparison (of `field`, when one is to blame)."""
        self.failures.append(message)
        self.failure_parts.append({"field": field} if field else {})

    def note(self, text):
        """Something a reader of the TAP stream should know, that is not a failure."""
        self.notes.append(text)

    def skip(self, reason):
        raise Skip(reason)

    @property
    def status(self):
        if self.failures:
            return "fail"
        if self.skip_reason is not None:
            return "skip"
        return "pass"
