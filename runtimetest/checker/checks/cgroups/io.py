"""linux.resources.blockIO: weight and throttles (config-linux.md "Block IO")."""

from runtimetest.checker.checks.cgroups.common import UNLIMITED, resource_check

BLOCK_IO = "config-linux.md#block-io"
THROTTLES = {
    "throttleReadBpsDevice": ("blkio.throttle.read_bps_device", "rbps"),
    "throttleWriteBpsDevice": ("blkio.throttle.write_bps_device", "wbps"),
    "throttleReadIOPSDevice": ("blkio.throttle.read_iops_device", "riops"),
    "throttleWriteIOPSDevice": ("blkio.throttle.write_iops_device", "wiops"),
}


def default_weight(text):
    """The "default N" line of io.weight / io.bfq.weight, or a bare number."""
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "default":
            return int(fields[1])
        if len(fields) == 1 and fields[0].isdigit():
            return int(fields[0])
    return None


@resource_check("linux.resources.blockIO.weight", BLOCK_IO, "blkio")
def blkio_weight_is_applied(spec, result, group):
    """The cgroup's I/O weight (blkio.[bfq.]weight; v2 io.bfq.weight or io.weight) is blockIO.weight."""
    weight = spec.int("linux.resources.blockIO.weight")
    if group.version == 1:
        name = "blkio.weight" if group.has("blkio.weight") else "blkio.bfq.weight"
        accepted = [weight]
    elif group.has("io.bfq.weight"):
        name, accepted = "io.bfq.weight", [weight]
    else:
        # v2's io.weight has another range: runtimes convert 10..1000 to 1..10000.
        name, accepted = "io.weight", sorted({weight, 1 + (weight - 10) * 9999 // 990})
    text = group.read(name)
    found = default_weight(text)
    if found not in accepted:
        result.fail("linux.resources.blockIO.weight", weight, found,
                    why=f"{name}" if text is not None else f"{name} is absent from the container's cgroup")


def io_max(text):
    """cgroup v2 io.max as {"MAJ:MIN": {"rbps": n|-1, ...}}."""
    limits = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if fields:
            limits[fields[0]] = {k: (-1 if v == UNLIMITED else int(v))
                                 for k, _, v in (f.partition("=") for f in fields[1:])}
    return limits


def device_rates(text):
    """A v1 blkio.throttle.* file as {"MAJ:MIN": rate}."""
    return {f[0]: int(f[1]) for f in (line.split() for line in (text or "").splitlines()) if len(f) == 2}


def declare_throttle(key, v1_name, v2_key):
    field = f"linux.resources.blockIO.{key}"

    def throttle_is_applied(spec, result, group):
        if group.version == 1:
            rates = device_rates(group.read(v1_name))
            where = v1_name
        else:
            rates = {dev: limits.get(v2_key) for dev, limits in io_max(group.read("io.max")).items()}
            where = f"io.max {v2_key}"
        for index, entry in enumerate(spec.items(field)):
            device = f"{entry.int('major')}:{entry.int('minor')}"
            rate = entry.int("rate")
            if rates.get(device) != rate:
                result.fail(f"{field}[{index}]", {device: rate}, {device: rates.get(device)}, why=where)

    throttle_is_applied.__doc__ = f"Each {key} rate is the device's limit in {v1_name} (v2: io.max {v2_key})."
    resource_check(field, BLOCK_IO, "blkio")(throttle_is_applied)


for _key, (_v1, _v2) in THROTTLES.items():
    declare_throttle(_key, _v1, _v2)
