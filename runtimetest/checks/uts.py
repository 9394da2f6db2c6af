"""hostname and domainname: the names the UTS namespace shows (config.md "Hostname", "Domainname")."""

from ..registry import MUST, check


def kernel_name(kind):
    with open(f"/proc/sys/kernel/{kind}") as handle:
        return handle.read().rstrip("\n")


@check("hostname", MUST, "config.md#hostname", needs="hostname")
def hostname_is_applied(spec, result):
    """The hostname the process sees is the spec's hostname."""
    expected = spec.str("hostname")
    found = kernel_name("hostname")
    if found != expected:
        result.fail("hostname", expected, found)


@check("domainname", MUST, "config.md#domainname", needs="domainname")
def domainname_is_applied(spec, result):
    """The NIS domain name the process sees is the spec's domainname."""
    expected = spec.str("domainname")
    found = kernel_name("domainname")
    if found != expected:
        result.fail("domainname", expected, found)
