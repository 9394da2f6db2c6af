"""root: the container's root filesystem (config.md "Root")."""

import errno
import os

from runtimetest.core.registry import MUST, check
from runtimetest.linux.mountinfo import readonly_mount_at

PROBE = "/.runtimetest-write-probe"


def write_error_at_root():
    """The errno of creating a file in /, or None when it could be created (and is removed)."""
    try:
        fd = os.open(PROBE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        return error.errno
    os.close(fd)
    os.unlink(PROBE)
    return None


@check("root.readonly", MUST, "config.md#root", needs="root.readonly")
def root_readonly_is_applied(spec, result):
    """The root filesystem is read-only exactly when root.readonly is true."""
    expected = spec.bool("root.readonly")
    found, seen_in = readonly_mount_at("/")
    if found != expected:
        result.fail("root.readonly", expected, found, why=seen_in)
        return
    if expected:
        # The mount flag is not enough: a write must really be refused.
        error = write_error_at_root()
        if error in (errno.EACCES, errno.EPERM):
            # gVisor asks the permissions before the mount's read-only flag: refused all the same.
            result.note(f"creating a file in / was refused with {errno.errorcode[error]}, before "
                        "the read-only flag was asked: the mount's flag decides")
        elif error != errno.EROFS:
            found_text = "file created" if error is None else errno.errorcode.get(error, str(error))
            result.fail("root.readonly", "EROFS on create in /", found_text)
