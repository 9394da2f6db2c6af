"""hostname and domainname: the names the UTS namespace shows (config.md "Hostname", "Domainname")."""

from ..registry import MUST, check


def compare_name(spec, result, field):
    """The kernel's /proc/sys/kernel/<field> must be the spec's value."""
    expected = spec.str(field)
    with open(f"/proc/sys/kernel/{field}") as handle:
        found = handle.read().rstrip("\n")
    if found != expected:
        result.fail(field, expected, found)


@check("hostname", MUST, "config.md#hostname", needs="hostname")
def hostname_is_applied(spec, result):
    """The hostname the process sees is the spec's hostname."""
    compare_name(spec, result, "hostname")


@check("domainname", MUST, "config.md#domainname", needs="domainname")
def domainname_is_applied(spec, result):
    """The NIS domain name the process sees is the spec's domainname."""
    compare_name(spec, result, "domainname")
