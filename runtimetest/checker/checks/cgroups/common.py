"""What the linux.resources checks share: the container's cgroups, and comparing control files."""

import os

from runtimetest.checker.conditions import CGROUP_MANAGEMENT
from runtimetest.core.registry import MUST, check
from runtimetest.linux.cgroupfs import CgroupReader, CgroupUnavailable

UNLIMITED = "max"
# The kernel shows "no limit" as the largest page-aligned 63-bit count.
UNLIMITED_FROM = 2**62

_reader = None


def reader():
    """The container's cgroups, read once (unit tests set _reader to a fake tree)."""
    global _reader
    if _reader is None:
        _reader = CgroupReader()
    return _reader


def page_size():
    return os.sysconf("SC_PAGE_SIZE")


def as_number(text):
    """A control file's number; "max" and the kernel's largest counts read as UNLIMITED."""
    if text is None:
        return None
    if text == UNLIMITED:
        return UNLIMITED
    value = int(text)
    return UNLIMITED if value >= UNLIMITED_FROM else value


def bytes_match(expected, found, granule=None):
    """A byte limit as the kernel keeps it: rounded down to a page (or huge page)."""
    if expected is None:
        return True
    if expected < 0:
        return found == UNLIMITED
    if found == UNLIMITED or found is None:
        return False
    granule = granule or page_size()
    return found in (expected, expected // granule * granule)


def shown(value):
    return -1 if value == UNLIMITED else value


def compare_file(result, field, group, name, expected, match=None):
    """Fail `field` unless control file `name` holds `expected` (by `match`, default ==)."""
    text = group.read(name)
    if text is None:
        result.fail(field, expected, None, why=f"{name} is absent from the container's cgroup")
        return
    found = as_number(text) if text.lstrip("-").isdigit() or text == UNLIMITED else text
    ok = match(expected, found) if match else found == expected
    if not ok:
        result.fail(field, expected, shown(found), why=name)



def resource_check(field, section, controller):
    """Declare the linux.resources check of `field` (its id; it applies when the spec has it),
    whose body gets (spec, result, cgroup): the container's cgroup for `controller`."""
    def register(body):
        def run(spec, result):
            try:
                group = reader().cgroup(controller)
            except CgroupUnavailable as error:
                if not error.decidable:
                    result.skip(str(error))
                # Asked for, and the container's cgroups have no such controller: not applied.
                result.fail(field, spec.raw(field), None, why=str(error))
                return
            body(spec, result, group)

        run.__doc__ = body.__doc__
        run.__name__ = body.__name__
        check(field, MUST, section, needs=field, requires=(CGROUP_MANAGEMENT,))(run)
        return body

    return register
