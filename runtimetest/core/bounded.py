"""Reading a file whose path the spec gave, bounded in size and in time.

A spec may name anything: /dev/zero and /dev/urandom never end, /dev/ptmx and a
FIFO block for ever. Every read the checker makes of such a path goes through
`read_bounded`: opened without blocking and never as a controlling terminal,
given up past `limit` bytes or after `timeout` seconds without the end.
(Standard library only: the checker imports this at every start.)
"""

import errno
import os
import time

DEFAULT_LIMIT = 1 << 20
DEFAULT_TIMEOUT = 2.0
_CHUNK = 1 << 16
_WAIT = 0.01  # seconds between tries of a descriptor that has no data yet


class ReadLimit(OSError):
    """The file was larger than the limit, or did not end in time (an OSError, as a read error is)."""

    def __init__(self, path, why):
        super().__init__(errno.EFBIG, why, path)


def read_bounded(path, limit=DEFAULT_LIMIT, timeout=DEFAULT_TIMEOUT):
    """The bytes of `path`: at most `limit` of them, within `timeout` seconds, else ReadLimit."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        return _read_all(fd, path, limit, time.monotonic() + timeout, timeout)
    finally:
        os.close(fd)


def _read_all(fd, path, limit, deadline, timeout):
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise ReadLimit(path, f"did not end within {timeout:g}s")
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
        except BlockingIOError:
            time.sleep(_WAIT)  # a FIFO or a device with nothing to read yet
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ReadLimit(path, f"larger than {limit} bytes")
