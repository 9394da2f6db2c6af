"""process.terminal and process.consoleSize (config.md "Process").

With `terminal` true the runtime allocates a pseudoterminal pair and duplicates
the slave on the process's standard streams; with it false (the default) no
terminal is attached. The checker is the process the runtime started, so its
descriptors 0, 1 and 2 are the ones the runtime gave.
"""

import os

from runtimetest.core.registry import MUST, check

TIOCGWINSZ = 0x5413  # asm-generic/ioctls.h: every architecture but alpha, mips, powerpc, sparc

STREAMS = ((0, "stdin"), (1, "stdout"), (2, "stderr"))


def terminal_of(fd):
    """The terminal device on a descriptor, or None when it is not a terminal.

    Its name when the kernel gives one (ttyname(3) looks in /dev/pts), else its
    device numbers: gVisor's /proc/self/fd links name no file for a terminal
    handed in from the host.
    """
    try:
        if not os.isatty(fd):
            return None
    except OSError:
        return None
    try:
        return os.ttyname(fd)
    except OSError:
        info = os.fstat(fd)
        return f"char {os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"


@check("process.terminal", MUST, "config.md#process", needs="process.terminal")
def terminal_is_attached(spec, result):
    """With terminal true one pseudoterminal is on stdin, stdout and stderr; with false none is."""
    wanted = spec.bool("process.terminal", False)
    found = {name: terminal_of(fd) for fd, name in STREAMS}
    for fd, name in STREAMS:
        if wanted and found[name] is None:
            result.fail("process.terminal", True, False, why=f"{name} is not a terminal")
        elif not wanted and found[name] is not None:
            result.fail("process.terminal", False, True, why=f"{name} is the terminal {found[name]}")
    ttys = {tty for tty in found.values() if tty is not None}
    if wanted and len(ttys) > 1:
        result.problem(f"process.terminal: the standard streams are on different terminals "
                       f"{sorted(ttys)} (expected one pseudoterminal slave on all three)")


def window_size(fd):
    """(rows, columns) of the terminal on fd (TIOCGWINSZ)."""
    import fcntl
    import struct

    rows, columns, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, TIOCGWINSZ, b"\0" * 8))
    return rows, columns


def _terminal_with_size(spec):
    return spec.has("process.consoleSize") and spec.raw("process.terminal") is True


@check("process.consoleSize", MUST, "config.md#process", needs=_terminal_with_size)
def console_size_is_applied(spec, result):
    """The terminal's window size is consoleSize (height rows, width columns)."""
    height = spec.int("process.consoleSize.height")
    width = spec.int("process.consoleSize.width")
    fd = next((fd for fd, _ in STREAMS if terminal_of(fd)), None)
    if fd is None:
        result.skip("no terminal on the standard streams to measure (see process.terminal)")
    rows, columns = window_size(fd)
    if height is not None and rows != height:
        result.fail("process.consoleSize.height", height, rows, why="terminal rows (TIOCGWINSZ)")
    if width is not None and columns != width:
        result.fail("process.consoleSize.width", width, columns, why="terminal columns (TIOCGWINSZ)")
