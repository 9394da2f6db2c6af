"""The checks, one module per area of the runtime-spec, run in import order.

Importing a module registers its checks. Modules import only the standard
library at the top; anything heavier is imported inside the check that needs it,
because every import is paid at start-up in every container.
"""

# noqa: F401 throughout: importing is registering.
from . import spec_file  # noqa: F401  (first: says whether the spec could be read)
from . import process  # noqa: F401
from . import capabilities  # noqa: F401
from . import uts  # noqa: F401
from . import root  # noqa: F401
from . import mounts  # noqa: F401
from . import devices  # noqa: F401
from . import paths  # noqa: F401
from . import propagation  # noqa: F401
from . import sysctl  # noqa: F401
from . import seccomp  # noqa: F401
from . import lsm  # noqa: F401
from . import fds  # noqa: F401
from . import namespaces  # noqa: F401
from . import idmap  # noqa: F401
from . import cgroups  # noqa: F401
from . import scheduling  # noqa: F401
from . import terminal  # noqa: F401
from . import netdevices  # noqa: F401


def load_all():
    """Kept for callers that want to be explicit: the imports above did the work."""
