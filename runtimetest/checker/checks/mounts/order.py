"""mounts.order: the mounts were made in the listed order, as the mount tree shows."""

from runtimetest.checker.checks.mounts.declared import MOUNTS, declared_mounts, within
from runtimetest.core.registry import MUST, check
from runtimetest.linux.mountinfo import ancestors


@check("mounts.order", MUST, MOUNTS, needs="mounts")
def mounts_are_made_in_order(spec, result):
    """The mounts were made in the listed order: a later one at or under an earlier one's destination is mounted on it.

    Only the mount tree shows order (each mount's parent in mountinfo): the
    order of mountinfo's lines is the kernel's list, not the order of mounting,
    and mounts in unrelated places leave no trace of which came first.
    """
    declared, entries = declared_mounts(spec)
    found = [m for m in declared if m.entry is not None]
    for position, before in enumerate(found):
        for after in found[position + 1:]:
            if within(after.destination, before.destination):
                if before.entry not in ancestors(entries, after.entry):
                    result.fail(f"{after.field}.destination",
                                f"{after.destination} mounted on {before.field} ({before.destination})",
                                "mounted beneath it or beside it", why="parent ids in /proc/self/mountinfo")
            elif within(before.destination, after.destination) \
                    and after.entry in ancestors(entries, before.entry):
                result.fail(f"{before.field}.destination",
                            f"{before.destination} mounted before {after.field} ({after.destination})",
                            f"mounted on {after.field}", why="parent ids in /proc/self/mountinfo")
