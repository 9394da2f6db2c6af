"""linux.resources.hugepageLimits (config-linux.md "Huge page limits")."""

from runtimetest.checker.checks.cgroups.common import bytes_match, compare_file, resource_check
from runtimetest.core.spec import major_minor

HUGE_UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def huge_page_bytes(size):
    """"2MB" -> 2097152 (the spec's sizes use base 1024)."""
    for unit, factor in HUGE_UNITS.items():
        if size.endswith(unit) and size[:-len(unit)].isdigit():
            return int(size[:-len(unit)]) * factor
    return None


@resource_check("linux.resources.hugepageLimits", "config-linux.md#huge-page-limits", "hugetlb")
def hugepage_limits_are_applied(spec, result, group):
    """Each hugepageLimits entry is its page size's hugetlb limit: usage (1.0), else reservation where kept."""
    # Runtime-spec 1.0 limits usage; 1.1 made it the reservation limit where the kernel has one.
    reservations = (major_minor(spec.str("ociVersion")) or (1, 0)) >= (1, 1)
    for index, entry in enumerate(spec.items("linux.resources.hugepageLimits")):
        size, limit = entry.str("pageSize"), entry.int("limit")
        granule = huge_page_bytes(size or "")
        if granule is None:
            result.problem(f"linux.resources.hugepageLimits[{index}].pageSize: {size!r} is not like 2MB")
            continue
        suffix = "max" if group.version == 2 else "limit_in_bytes"
        name = f"hugetlb.{size}.rsvd.{suffix}"
        if not reservations or not group.has(name):
            name = f"hugetlb.{size}.{suffix}"
        if not group.has(name):
            result.fail(f"linux.resources.hugepageLimits[{index}]", {size: limit}, None,
                        why=f"this kernel has no {size} huge pages (no {name})")
            continue
        compare_file(result, f"linux.resources.hugepageLimits[{index}].limit", group, name, limit,
                     lambda e, f, g=granule: bytes_match(e, f, g))
