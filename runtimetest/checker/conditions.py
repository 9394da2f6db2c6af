"""Conditions checks declare with `@check(..., requires=...)`: what this environment must offer."""

from runtimetest.core import facts
from runtimetest.core.registry import Condition


def _cgroups_unmanaged(spec):
    state = facts.cgroups_unmanaged(spec)
    return f"the runtime was run without cgroup management: {state}" if state else None


# The driver says (facts.CGROUP_LIMITS) when the runtime is run without cgroup
# management, e.g. crun on a hybrid host: no cgroup setting can have been applied.
CGROUP_MANAGEMENT = Condition("cgroup management", _cgroups_unmanaged)
