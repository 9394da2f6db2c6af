"""What a report says about where its verdicts come from: the runtime (name, path,
version), the host (kernel, cgroup layout, distribution) and runtimetest itself.

Gathered once per run, before the cases, so that every report of the run says the same.
"""

import os

from runtimetest import __version__
from runtimetest.core import facts
from runtimetest.driver import hostfacts
from runtimetest.driver.cases.departures import VERSION

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


def runtime_facts(runtime):
    """The runtime's name, program, extra flags and what its `--version` says."""
    result = runtime.run(["--version"])
    text = result.stdout.strip() if result.ok else ""
    first = text.splitlines()[0] if text else ""
    match = VERSION.search(first)
    return {"name": runtime.name, "program": runtime.program, "extra_args": list(runtime.extra_args),
            "version": match.group(0) if match else None, "version_output": text or None,
            "spec_version": runtime.spec_version()}


def host_facts(os_release=OS_RELEASE, mountinfo="/proc/self/mountinfo"):
    """Kernel release and machine, cgroup mode (v1, hybrid or v2) and the distribution."""
    uname = os.uname()
    cgroups = hostfacts.cgroup_facts(mountinfo)
    release = read_os_release(os_release)
    return {"name": uname.nodename, "kernel": uname.release, "machine": uname.machine,
            "cgroup_mode": cgroups.get(facts.HOST_CGROUP_MODE),
            "distro": release.get("PRETTY_NAME") or " ".join(filter(None, (release.get("NAME"),
                                                                           release.get("VERSION_ID")))) or None,
            "distro_id": release.get("ID"), "distro_version": release.get("VERSION_ID")}


def read_os_release(paths=OS_RELEASE):
    """os-release(5) as a dict: KEY=value lines, the value unquoted; {} when no file is there."""
    for path in paths:
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        fields = {}
        for line in lines:
            key, equals, value = line.partition("=")
            if equals and key.strip() and not key.startswith("#"):
                fields[key.strip()] = _unquoted(value.strip())
        return fields
    return {}


def _unquoted(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
        if value and "\\" in value:
            value = value.replace('\\"', '"').replace("\\$", "$").replace("\\`", "`").replace("\\\\", "\\")
    return value


def gather(runtime):
    """{"runtime": ..., "host": ..., "runtimetest": {"version": ...}} for the reports."""
    return {"runtime": runtime_facts(runtime), "host": host_facts(), "runtimetest": {"version": __version__}}
