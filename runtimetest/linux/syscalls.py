"""System calls the standard library does not wrap: mount, personality, prlimit, ...

The static checker makes them with a module built into it
(build/syscall_module.c); run from source, ctypes reaches the C library's
syscall(3). Either way a call goes by number, for the architecture this code
runs as: not what uname(2) says, which a LINUX32 personality turns to i686 in a
64-bit process (see architecture()).

An argument is an int (a machine word), None (0), bytes (a pointer to them) or
a bytearray (a pointer the kernel may write through).
"""

import errno
import os
import struct

NUMBERS = {
    "x86_64": {"mount": 165, "umount2": 166, "personality": 135, "uname": 63, "prctl": 157,
               "prlimit64": 302, "sched_getattr": 315, "ioprio_get": 252},
    "i386": {"mount": 21, "umount2": 52, "personality": 136, "uname": 122, "prctl": 172,
             "prlimit64": 340, "sched_getattr": 351, "ioprio_get": 290},
    "aarch64": {"mount": 40, "umount2": 39, "personality": 92, "uname": 160, "prctl": 167,
                "prlimit64": 261, "sched_getattr": 275, "ioprio_get": 31},
    "arm": {"mount": 21, "umount2": 52, "personality": 136, "uname": 122, "prctl": 172,
            "prlimit64": 369, "sched_getattr": 381, "ioprio_get": 315},
    "riscv64": {"mount": 40, "umount2": 39, "personality": 92, "uname": 160, "prctl": 167,
                "prlimit64": 261, "sched_getattr": 275, "ioprio_get": 31},
}
RLIM_INFINITY = (1 << 64) - 1


# e_machine of the ELF header, for the architectures with a table here.
ELF_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64"}


def architecture(exe="/proc/self/exe"):
    """The architecture of the code this process runs, from its ELF header (None if unreadable).

    Not uname(2)'s machine: under a LINUX32 personality it says i686 while an
    x86-64 process still runs x86-64 code and makes x86-64 system calls.
    """
    try:
        with open(exe, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"ELF machine {machine}")


def number(name):
    """The system call's number here; OSError(ENOSYS) where this module has no table."""
    try:
        return NUMBERS[architecture()][name]
    except KeyError:
        raise OSError(errno.ENOSYS, f"no system call number for {name} on {architecture()}") from None


_call = None


def raw(which, *args):
    """(result, errno) of one system call, by number, as the kernel answered it."""
    global _call
    if _call is None:
        try:
            from _runtimetest_syscall import call as builtin
        except ImportError:
            builtin = _through_ctypes()
        _call = builtin
    return _call(which, *args)


def call(name, *args):
    """The result of the named system call; OSError when it fails."""
    result, error = raw(number(name), *args)
    if result == -1:
        raise OSError(error, os.strerror(error))
    return result


def _through_ctypes():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long

    def word(arg):
        if arg is None:
            return ctypes.c_ulong(0)
        if isinstance(arg, int):
            return ctypes.c_ulong(arg & RLIM_INFINITY)
        if isinstance(arg, bytearray):
            return (ctypes.c_char * len(arg)).from_buffer(arg)
        return ctypes.c_char_p(bytes(arg))

    def through_ctypes(which, *args):
        converted = [word(arg) for arg in args]
        ctypes.set_errno(0)
        result = syscall(ctypes.c_long(which), *converted)
        return result, ctypes.get_errno() if result == -1 else 0

    return through_ctypes


def getrlimit(resource):
    """(soft, hard) of an rlimit, RLIM_INFINITY as 2**64-1 (prlimit64(2) on this process)."""
    limits = bytearray(16)
    call("prlimit64", 0, resource, None, limits)
    return struct.unpack("=QQ", limits)


def setrlimit(resource, soft, hard):
    call("prlimit64", 0, resource, struct.pack("=QQ", soft, hard), None)


def mount(source, target, fstype, flags, data=None):
    encode = lambda text: None if text is None else os.fsencode(text) + b"\0"
    call("mount", encode(source), encode(target), encode(fstype), flags, encode(data))


def umount2(target, flags):
    call("umount2", os.fsencode(target) + b"\0", flags)


def personality(persona):
    return call("personality", persona)


def prctl(option, *args):
    return call("prctl", option, *args)


def uname():
    """struct utsname's six fields (sysname, nodename, release, version, machine, domainname)."""
    length = 65
    buffer = bytearray(length * 6)
    call("uname", buffer)
    fields = [bytes(buffer[i * length:(i + 1) * length]).split(b"\0", 1)[0] for i in range(6)]
    return [field.decode("utf-8", "replace") for field in fields]
