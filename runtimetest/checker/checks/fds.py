"""File descriptors the process holds (runtime-linux.md "File descriptors").

"By default, only the stdin, stdout and stderr file descriptors are kept open
for the application by the runtime. The runtime MAY pass additional file
descriptors to the application to support features such as socket
activation." Descriptors a runtime was asked to pass are 3 .. 3+N-1, where N
is the larger of the annotation `org.runtimetest.preserve-fds` (what the
runtime was asked for with --preserve-fds; default 0) and LISTEN_FDS in the
process's environment (socket activation).

The descriptors are those the checker held when it started, before it opened
any of its own: it is the process the runtime started.
"""

from runtimetest.checker import container
from runtimetest.core import facts
from runtimetest.core.registry import MUST, check
from runtimetest.core.spec import show

PRESERVE_FDS = facts.PRESERVE_FDS
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


@check("fds", MUST, "runtime-linux.md#file-descriptors", needs="linux")
def only_stdio_and_preserved_fds_are_open(spec, result):
    """The process holds no descriptors beyond stdin, stdout, stderr and those it was asked to be passed."""
    allowed = set(STDIO) | set(range(3, 3 + preserved_count(spec, result)))
    fds = container.fds_at_start()
    extra = sorted(fd for fd in fds if fd not in allowed)
    if extra:
        result.fail("open file descriptors", sorted(allowed), sorted(fds),
                    why="; ".join(f"fd {fd} -> {fds[fd]}" for fd in extra))
    missing = [fd for fd in STDIO if fd not in fds]
    if missing:
        result.note(f"stdio descriptors not open: {missing}")
