"""The checks, one module (or package) per area of the runtime-spec, run in import order.

Importing a module registers its checks, so this list is the order of the TAP
stream (its test numbers): a module's place here is its place in every report.
Modules import only the standard library (and runtimetest.core, .linux) at the
top; anything heavier is imported inside the check that needs it, because every
import is paid at start-up in every container.
"""

# noqa: F401 throughout: importing is registering.
from runtimetest.checker.checks import spec_file  # noqa: F401  (first: says whether the spec could be read)
from runtimetest.checker.checks import process  # noqa: F401
from runtimetest.checker.checks import capabilities  # noqa: F401
from runtimetest.checker.checks import uts  # noqa: F401
from runtimetest.checker.checks import mounts  # noqa: F401  (mounts.*, default.*)
from runtimetest.checker.checks import root  # noqa: F401
from runtimetest.checker.checks import namespaces  # noqa: F401
from runtimetest.checker.checks import cgroups  # noqa: F401  (linux.cgroupsPath, linux.resources.*)
from runtimetest.checker.checks import devices  # noqa: F401
from runtimetest.checker.checks import paths  # noqa: F401
from runtimetest.checker.checks import propagation  # noqa: F401
from runtimetest.checker.checks import sysctl  # noqa: F401
from runtimetest.checker.checks import seccomp  # noqa: F401
from runtimetest.checker.checks import lsm  # noqa: F401
from runtimetest.checker.checks import fds  # noqa: F401
from runtimetest.checker.checks import idmap  # noqa: F401
from runtimetest.checker.checks import scheduling  # noqa: F401
from runtimetest.checker.checks import terminal  # noqa: F401
from runtimetest.checker.checks import netdevices  # noqa: F401
