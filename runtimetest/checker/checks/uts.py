"""hostname and domainname: the names the UTS namespace shows (config.md "Hostname", "Domainname").

Read from /proc/sys/kernel/<name>; a kernel without that file (gVisor has no
domainname there) is asked with uname(2), which carries both names.
"""

from runtimetest.core.registry import MUST, check

# struct utsname's fields: nodename is the second, domainname the sixth.
UTS_FIELDS = {"hostname": 1, "domainname": 5}


def uname_field(field):
    from runtimetest.linux.syscalls import uname

    return uname()[UTS_FIELDS[field]]


def kernel_name(field):
    """(the name, where it was read)."""
    try:
        with open(f"/proc/sys/kernel/{field}") as handle:
            return handle.read().rstrip("\n"), None
    except FileNotFoundError:
        return uname_field(field), "uname(2)"


def compare_name(spec, result, field):
    """The kernel's name (hostname or domainname) must be the spec's value."""
    expected = spec.str(field)
    found, source = kernel_name(field)
    if found != expected:
        result.fail(field, expected, found, why=source)


@check("hostname", MUST, "config.md#hostname", needs="hostname")
def hostname_is_applied(spec, result):
    """The hostname the process sees is the spec's hostname."""
    compare_name(spec, result, "hostname")


@check("domainname", MUST, "config.md#domainname", needs="domainname")
def domainname_is_applied(spec, result):
    """The NIS domain name the process sees is the spec's domainname."""
    compare_name(spec, result, "domainname")
