"""process: what the container process runs as, where, with what (config.md "Process")."""

import os

from runtimetest.checker import container
from runtimetest.core import facts
from runtimetest.core.registry import MUST, check

RLIM_INFINITY = 2**64 - 1
# Written by the driver (runtimetest/driver/hostfacts.py): "1" when the runtime itself has no_new_privs.
HOST_NO_NEW_PRIVS = facts.HOST_NO_NEW_PRIVS

# getrlimit(2) resources, by the names config.json uses (linux/resource.h numbers).
RLIMIT_NUMBERS = {
    "RLIMIT_CPU": 0,
    "RLIMIT_FSIZE": 1,
    "RLIMIT_DATA": 2,
    "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6,
    "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14,
    "RLIMIT_RTTIME": 15,
}


@check("process.args", MUST, "config.md#process", needs="process.args")
def args_are_applied(spec, result):
    """The process was started with exactly process.args."""
    expected = spec.strings("process.args")
    if container.under_init_shim(expected):
        result.note(f"pid 1 runs process.args (an init shim) and the checker, pid {container.pid()}, descends from it")
        return
    found = container.args()
    if found != expected:
        result.fail("process.args", expected, found)


@check("process.cwd", MUST, "config.md#process", needs="process.cwd")
def cwd_is_applied(spec, result):
    """The working directory is process.cwd."""
    expected = spec.str("process.cwd")
    found = container.cwd()
    if os.path.normpath(found) != os.path.normpath(expected):
        result.fail("process.cwd", expected, found)


@check("process.env", MUST, "config.md#process", needs="process.env")
def env_is_applied(spec, result):
    """Every KEY=VALUE of process.env is in the process's initial environment."""
    found = container.environ()
    declared = {}
    for index, entry in enumerate(spec.strings("process.env")):
        key, sep, value = entry.partition("=")
        if not sep or not key:
            result.problem(f"process.env[{index}]: spec entry should be KEY=VALUE, found {entry!r}")
            continue
        declared[key] = (index, entry)  # a later entry for the same key wins
    for key, (index, entry) in declared.items():
        actual = f"{key}={found[key]}" if key in found else None
        if actual != entry:
            result.fail(f"process.env[{index}]", entry, actual)


def compare_ids(result, field, expected, ids, kind):
    """Real, effective and saved IDs must all be the one the spec gives."""
    for name, found in zip(("real", "effective", "saved"), ids):
        if found != expected:
            result.fail(field, expected, found, why=f"{name} {kind}")


@check("process.user.uid", MUST, "config.md#posix-platform-user", needs="process.user.uid")
def uid_is_applied(spec, result):
    """The real, effective and saved user IDs are process.user.uid."""
    compare_ids(result, "process.user.uid", spec.int("process.user.uid"), os.getresuid(), "uid")


@check("process.user.gid", MUST, "config.md#posix-platform-user", needs="process.user.gid")
def gid_is_applied(spec, result):
    """The real, effective and saved group IDs are process.user.gid."""
    compare_ids(result, "process.user.gid", spec.int("process.user.gid"), os.getresgid(), "gid")


@check("process.user.additionalGids", MUST, "config.md#posix-platform-user",
       needs="process.user.additionalGids")
def additional_gids_are_applied(spec, result):
    """The supplementary groups are exactly process.user.additionalGids."""
    expected = set(spec.ints("process.user.additionalGids"))
    primary = spec.int("process.user.gid")
    found = set(os.getgroups())
    # The primary group may or may not be repeated in the supplementary list.
    comparable = found - {primary} if primary not in expected else found
    if comparable != expected:
        result.fail("process.user.additionalGids", sorted(expected), sorted(found))


def current_umask():
    """/proc/self/status's Umask, else umask(2) read by setting it back (Linux < 4.7, gVisor)."""
    text = container.status().get("Umask")
    if text is not None:
        return int(text, 8)
    found = os.umask(0o022)
    os.umask(found)
    return found


@check("process.user.umask", MUST, "config.md#posix-platform-user", needs="process.user.umask")
def umask_is_applied(spec, result):
    """The file mode creation mask is process.user.umask."""
    expected = spec.int("process.user.umask")
    found = current_umask()
    if found != expected:
        result.fail("process.user.umask", oct(expected), oct(found))


def current_rlimit(number):
    from runtimetest.linux.syscalls import getrlimit

    soft, hard = getrlimit(number)
    as_spec = lambda value: RLIM_INFINITY if value >= RLIM_INFINITY else value
    return as_spec(soft), as_spec(hard)


@check("process.rlimits", MUST, "config.md#posix-process", needs="process.rlimits")
def rlimits_are_applied(spec, result):
    """getrlimit(2) on each process.rlimits type returns its soft and hard values."""
    for entry in spec.items("process.rlimits"):
        kind = entry.str("type")
        number = RLIMIT_NUMBERS.get(kind)
        if number is None:
            result.problem(f"{entry.field('type')}: {kind!r} is not a getrlimit(2) resource")
            continue
        soft, hard = current_rlimit(number)
        if entry.int("soft") is not None and soft != entry.int("soft"):
            result.fail(f"process.rlimits[{kind}].soft", entry.int("soft"), soft)
        if entry.int("hard") is not None and hard != entry.int("hard"):
            result.fail(f"process.rlimits[{kind}].hard", entry.int("hard"), hard)


@check("process.noNewPrivileges", MUST, "config.md#linux-process", needs="process.noNewPrivileges")
def no_new_privileges_is_applied(spec, result):
    """no_new_privs is set when process.noNewPrivileges is true."""
    import prctl

    expected = spec.bool("process.noNewPrivileges")
    found = bool(prctl.get_no_new_privs())
    if expected and not found:
        result.fail("process.noNewPrivileges", True, False)
    elif not expected and found:
        # Nothing asked for it, but it may be inherited from whoever started the runtime.
        held = spec.annotation(HOST_NO_NEW_PRIVS)
        if held == "0":
            result.fail("process.noNewPrivileges", False, True,
                        why=f"set, though the runtime does not hold it ({HOST_NO_NEW_PRIVS} is 0)")
        elif held == "1":
            result.note("no_new_privs is set, inherited: the runtime itself runs with it")
        else:
            result.skip("no_new_privs is set though not asked for (PR_GET_NO_NEW_PRIVS answers 1); "
                        f"it may be inherited from the runtime's caller (no {HOST_NO_NEW_PRIVS} annotation)")


@check("process.oomScoreAdj", MUST, "config.md#linux-process", needs="process.oomScoreAdj")
def oom_score_adj_is_applied(spec, result):
    """/proc/self/oom_score_adj holds process.oomScoreAdj."""
    expected = spec.int("process.oomScoreAdj")
    with open("/proc/self/oom_score_adj") as handle:
        found = int(handle.read().strip())
    if found != expected:
        result.fail("process.oomScoreAdj", expected, found)
