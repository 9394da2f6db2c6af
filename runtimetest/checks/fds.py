"""File descriptors the process holds (runtime-linux.md "File descriptors").

"By default, only the stdin, stdout and stderr file descriptors are kept open
for the application by the runtime. The runtime MAY pass additional file
descriptors to the application to support features such as socket
activation." Descriptors a runtime was asked to pass are 3 .. 3+N-1, where N
is the larger of the annotation `org.runtimetest.preserve-fds` (what the
runtime was asked for with --preserve-fds; default 0) and LISTEN_FDS in the
process's environment (socket activation).

The descriptors are read from the process the runtime started (the first
bootloader of the checker, which holds only what it was given); where that
process cannot be read, from the checker's own, leaving out what the checker
opened itself (its binary, its unpack directories).
"""

import os

from .. import container
from ..registry import MUST, check
from ..spec import show

PRESERVE_FDS = "org.runtimetest.preserve-fds"
STDIO = (0, 1, 2)


def preserved_count(spec, result):
    text = spec.annotation(PRESERVE_FDS, "0")
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        result.problem(f"annotations[{PRESERVE_FDS}]: should be a count of descriptors, found {show(text)}")
        count = 0
    listen = container.environ().get("LISTEN_FDS", "")
    if listen.isdigit():
        count = max(count, int(listen))
    return count


def open_fds(pid):
    """fd number -> what it points to, for one process."""
    directory = f"/proc/{pid}/fd"
    found = {}
    for name in os.listdir(directory):
        try:
            found[int(name)] = os.readlink(f"{directory}/{name}")
        except (OSError, ValueError):
            continue  # closed meanwhile (the directory handle listdir used)
    return found


def checkers_own(target):
    """Whether an fd target is the checker's binary or lies in its unpack directories."""
    own = [d.rstrip("/") + "/" for d in container.unpack_dirs()]
    program = os.environ.get("STATICX_PROG_PATH")
    return target.startswith(tuple(own)) or (program is not None and target == program)


def held_fds():
    """(fd -> target, whose) for the process the runtime started, or the checker's own."""
    top = container.pid()
    try:
        fds = open_fds(top)
        if top != os.getpid():
            return fds, f"pid {top}, the process the runtime started"
    except PermissionError:
        fds = open_fds(os.getpid())
    listing = f"/proc/{os.getpid()}/fd"
    own = {fd: t for fd, t in fds.items() if not checkers_own(t) and t != listing}
    return own, "the checker's own, less what it opened itself"


@check("fds", MUST, "runtime-linux.md#file-descriptors", needs="linux")
def only_stdio_and_preserved_fds_are_open(spec, result):
    """The process holds no descriptors beyond stdin, stdout, stderr and those it was asked to be passed."""
    allowed = set(STDIO) | set(range(3, 3 + preserved_count(spec, result)))
    fds, whose = held_fds()
    extra = sorted(fd for fd in fds if fd not in allowed)
    if extra:
        result.fail("open file descriptors", sorted(allowed), sorted(fds),
                    why="; ".join(f"fd {fd} -> {fds[fd]}" for fd in extra) + f"; {whose}")
    missing = [fd for fd in STDIO if fd not in fds]
    if missing:
        result.note(f"stdio descriptors not open: {missing}")
