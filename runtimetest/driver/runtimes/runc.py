"""runc: the reference command line.

The container process is left to the driver (as subreaper), which waits for
it directly; nothing differs from the base adapter.
"""

from runtimetest.driver.runtimes.oci import Runtime


class Runc(Runtime):
    name = "runc"
