"""OCI runtimes, one adapter each: the only place that knows a runtime's quirks.

command.py runs one command bounded in time; oci.py is the OCI command line as
runc speaks it (the base adapter); runc.py, crun.py and runsc.py hold what
differs; rules.py reads what a case asks that an adapter may not give here.
The names the rest of the driver uses are importable from this package.
"""

import os
import shutil

from runtimetest.driver.runtimes.command import DEFAULT_COMMAND_TIMEOUT, Cancelled, CommandResult, RuntimeFault
from runtimetest.driver.runtimes.crun import Crun
from runtimetest.driver.runtimes.oci import Runtime, parse_state
from runtimetest.driver.runtimes.runc import Runc
from runtimetest.driver.runtimes.runsc import Runsc

__all__ = ["ADAPTERS", "DEFAULT_COMMAND_TIMEOUT", "Cancelled", "CommandResult", "Crun", "Runc", "Runsc",
           "Runtime", "RuntimeFault", "parse_state", "resolve"]

ADAPTERS = {"runc": Runc, "crun": Crun, "runsc": Runsc}


def resolve(name_or_path, children, extra_args=(), command_timeout=DEFAULT_COMMAND_TIMEOUT,
            adapter=None):
    """The adapter for a runtime given by name (looked up on PATH) or by path.

    The adapter is chosen by the program's name unless `adapter` names one.
    """
    if os.sep in name_or_path:
        program = os.path.abspath(name_or_path)
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise RuntimeFault(f"--runtime {name_or_path}: not an executable file")
    else:
        program = shutil.which(name_or_path)
        if program is None:
            raise RuntimeFault(f"--runtime {name_or_path}: not found on PATH")
    chosen = ADAPTERS.get(adapter or os.path.basename(program), Runtime)
    return chosen(program, children, extra_args, command_timeout)
