"""linux.netDevices: host network devices moved into the container
(config-linux.md "Network Devices").

Each device must be in the container's network namespace under its new name
(`name`, else the host's), keeping its permanent addresses. The addresses it
had on the host cannot be seen from inside: the driver passes them as
org.runtimetest.host.netdev.<name>.addresses, read before the runtime moved
the device. The container's devices are read by rtnetlink (runtimetest.linux.netlink).
"""

from runtimetest.core import facts
from runtimetest.core.registry import MUST, check
from runtimetest.core.spec import SpecFieldError, show



def declared_devices(spec):
    """(host name, name in the container, field) for each linux.netDevices entry."""
    declared = []
    for host_name, entry in sorted(spec.dict("linux.netDevices").items()):
        field = f"linux.netDevices[{host_name}]"
        if not isinstance(entry, dict):
            raise SpecFieldError(field, "dict", entry)
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecFieldError(f"{field}.name", "str", name)
        declared.append((host_name, name or host_name, field))
    return declared


@check("linux.netDevices", MUST, "config-linux.md#network-devices", needs="linux.netDevices")
def net_devices_are_moved(spec, result):
    """Each netDevices device is in the container's network namespace, under its name, with its addresses."""
    from runtimetest.linux import netlink  # socket and struct: paid only when a spec has netDevices

    declared = declared_devices(spec)
    try:
        present = netlink.devices()
    except OSError as error:
        result.skip(f"rtnetlink cannot be asked here: {error}")
    for host_name, name, field in declared:
        if name not in present:
            result.fail(field, name, None, why=f"no such device in the container; it has {show(sorted(present))}")
            continue
        told = spec.annotation(facts.netdev_addresses(host_name))
        if told is None or told.startswith("absent:"):
            why = told or f"no {facts.netdev_addresses(host_name)} annotation"
            result.note(f"{host_name}: its host addresses are not known ({why}); presence checked only")
            continue
        missing = sorted(set(told.split()) - present[name])
        if missing:
            result.fail(f"{field}.addresses", sorted(told.split()), sorted(present[name]),
                        why=f"the permanent addresses {host_name} had on the host")
