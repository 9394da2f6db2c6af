"""linux.seccomp (config-linux.md "Seccomp").

That a filter is installed shows in /proc/self/status (Seccomp: 2, and
Seccomp_filters). What it does is probed by calling system calls the rules
name, and one no rule names (for defaultAction), each in a forked child whose
end is observed: SCMP_ACT_KILL* and SCMP_ACT_TRAP end it with SIGSYS,
SCMP_ACT_ERRNO makes the call fail with errnoRet (EPERM when unset),
SCMP_ACT_TRACE with ENOSYS when no tracer is attached, SCMP_ACT_ALLOW and
SCMP_ACT_LOG let it run.

Only system calls that are harmless whatever they return are ever called: ones
that read the caller's own state, or change it in the child that is thrown
away at once (umask, personality). A call some rule names with argument
conditions is made with arguments that meet them, and with arguments that do
not (then the default action applies). A name several rules share is not
probed: which of them wins is the filter compiler's business.
"""

import errno
import os

from runtimetest.checker import container
from runtimetest.core.registry import MUST, Skip, check

SECTION = "config-linux.md#seccomp"
SYSCALL_NUMBERS = {
    "x86_64": {"getpid": 39, "getppid": 110, "getuid": 102, "geteuid": 107, "getgid": 104,
               "getegid": 108, "gettid": 186, "getpgrp": 111, "sched_yield": 24, "getpgid": 121,
               "getsid": 124, "getpriority": 140, "sched_getscheduler": 145, "umask": 95,
               "personality": 135,
               # Removed or never implemented: the kernel answers ENOSYS when they are let through.
               "create_module": 174, "get_kernel_syms": 177, "query_module": 178, "nfsservctl": 180,
               "getpmsg": 181, "putpmsg": 182, "afs_syscall": 183, "tuxcall": 184, "security": 185,
               "vserver": 236,
               "futex_waitv": 449},
    "aarch64": {"getpid": 172, "getppid": 173, "getuid": 174, "geteuid": 175, "getgid": 176,
                "getegid": 177, "gettid": 178, "sched_yield": 124, "getpgid": 155, "getsid": 156,
                "getpriority": 141, "sched_getscheduler": 120, "umask": 166, "personality": 92,
                "nfsservctl": 42, "futex_waitv": 449},
}
REMOVED = ("create_module", "get_kernel_syms", "query_module", "nfsservctl", "getpmsg", "putpmsg",
           "afs_syscall", "tuxcall", "security", "vserver")
# futex_waitv(NULL, 0, 0, NULL, 0) waits for nothing: EINVAL since Linux 5.16, ENOSYS before.
FUTEX_WAITV_SINCE = (5, 16)
# ELF e_machine -> the table of the code the checker runs.
# Arguments with which each call succeeds; calls not listed take none.
SAFE_ARGS = {"getpgid": (0,), "getsid": (0,), "getpriority": (0, 0), "sched_getscheduler": (0,),
             "umask": (0o22,), "personality": (0xFFFFFFFF,)}
# What those calls may answer by themselves for other arguments.
NATURAL_ERRNOS = {"getpgid": {errno.ESRCH}, "getsid": {errno.ESRCH, errno.EPERM},
                  "getpriority": {errno.ESRCH, errno.EINVAL},
                  "sched_getscheduler": {errno.ESRCH, errno.EINVAL}, "personality": {errno.EINVAL}}
# For the default action, in this order: calls with no arguments, nothing to mistake;
# then, for allow-lists that name all of those, calls few lists name: futex_waitv
# (EINVAL when let through), and removed ones (ENOSYS when let through, which
# only an errnoRet other than ENOSYS tells apart from the filter's answer).
DEFAULT_PROBES = ("getppid", "getpgrp", "getegid", "getgid", "geteuid", "getuid", "sched_yield",
                  "gettid", "getpid", "getpgid", "getsid", "getpriority", "sched_getscheduler",
                  "futex_waitv") + REMOVED
KILLING = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP")
RUNNING = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
ACTIONS = KILLING + RUNNING + ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY")
U64 = 1 << 64


# --- the filter is installed -----------------------------------------------------

@check("linux.seccomp", MUST, SECTION, needs="linux.seccomp")
def seccomp_filter_is_installed(spec, result):
    """A seccomp filter is in force (/proc/self/status: Seccomp 2, Seccomp_filters at least 1)."""
    spec.dict("linux.seccomp")
    status = container.status()
    mode = status.get("Seccomp")
    if mode is None:
        result.skip("this kernel's /proc/self/status has no Seccomp field")
    if mode != "2":
        result.fail("linux.seccomp", "Seccomp: 2 (filter)", f"Seccomp: {mode}", why="/proc/self/status")
    filters = status.get("Seccomp_filters")
    if filters is not None and mode == "2" and int(filters) < 1:
        result.fail("linux.seccomp", "Seccomp_filters: 1 or more", f"Seccomp_filters: {filters}")


# --- probing -----------------------------------------------------------------------

class Outcome:
    """How a probe call ended: killed by a signal, failed with an errno, or ran."""

    def __init__(self, kind, value):
        self.kind, self.value = kind, value  # "signal"/signum, "errno"/errno, "ran"/return value

    def __str__(self):
        if self.kind == "signal":
            import signal

            try:
                return f"killed by {signal.Signals(self.value).name}"
            except ValueError:
                return f"killed by signal {self.value}"
        if self.kind == "errno":
            return f"fails with {errno.errorcode.get(self.value, self.value)}"
        if self.kind == "lost":
            return "child ended without reporting"
        return "runs"


class Caller:
    """Makes one raw system call in a forked child and reports how it ended."""

    def __init__(self):
        from runtimetest.linux import syscalls

        self.raw = syscalls.raw
        self.raw(-1)  # reach the way calls are made now, not in the child

    def call(self, number, args):
        import struct

        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except BlockingIOError:  # EAGAIN: the pids limit leaves no room for the child
            os.close(read_end)
            os.close(write_end)
            raise Skip("a probe needs a child process to make the call in, and fork(2) fails "
                       "with EAGAIN: the pids limit leaves no room for one") from None
        if pid == 0:  # the child: one call, one report, gone; nothing else may run here
            try:
                value, error = self.raw(number, *args)
                os.write(write_end, struct.pack("=qi", value, error))
            finally:
                os._exit(0)
        os.close(write_end)
        data = b""
        while True:
            chunk = os.read(read_end, 64)
            if not chunk:
                break
            data += chunk
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            return Outcome("signal", os.WTERMSIG(status))
        if len(data) != struct.calcsize("=qi"):
            return Outcome("lost", os.WEXITSTATUS(status))
        value, number = struct.unpack("=qi", data)
        return Outcome("errno", number) if value == -1 else Outcome("ran", value)


RLIMIT_CORE = 4


class NoCoreDumps:
    """A child killed by SIGSYS must not leave a core dump: RLIMIT_CORE 1 dumps nothing, even to a pipe."""

    def __enter__(self):
        from runtimetest.linux import syscalls

        self.syscalls = syscalls
        try:
            self.saved = syscalls.getrlimit(RLIMIT_CORE)
            syscalls.setrlimit(RLIMIT_CORE, min(1, self.saved[1]), self.saved[1])
        except OSError:
            self.saved = None
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            try:
                self.syscalls.setrlimit(RLIMIT_CORE, *self.saved)
            except OSError:
                pass


def own_architecture(exe="/proc/self/exe"):
    """The architecture of the code the checker runs (runtimetest.linux.syscalls decides it)."""
    from runtimetest.linux.syscalls import architecture

    return architecture(exe)


def syscall_table():
    return SYSCALL_NUMBERS.get(own_architecture())


def kernel_release(path="/proc/sys/kernel/osrelease"):
    """(major, minor) of the running kernel (uname's release can be changed by a personality)."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        text = os.uname().release
    numbers = [int(part) for part in text.split("-")[0].split(".")[:2] if part.isdigit()]
    return tuple(numbers) if len(numbers) == 2 else (0, 0)


def natural_errnos(name):
    """What a call answers by itself, let through with the arguments it is probed with."""
    if name in REMOVED:
        return {errno.ENOSYS}
    if name == "futex_waitv":
        return {errno.EINVAL} if kernel_release() >= FUTEX_WAITV_SINCE else {errno.ENOSYS}
    return NATURAL_ERRNOS.get(name, set())


def expected_outcome(action, errno_ret):
    """(kind, value) the action should give; kind None for an action that cannot be judged here."""
    if action in KILLING:
        import signal

        return "signal", signal.SIGSYS
    if action in RUNNING:
        return "ran", None
    if action == "SCMP_ACT_ERRNO":
        return "errno", errno.EPERM if errno_ret is None else errno_ret
    if action == "SCMP_ACT_TRACE":
        return "errno", errno.ENOSYS  # no tracer is attached to the checker
    return None, None


def describe_expected(kind, value):
    if kind == "signal":
        return "killed by SIGSYS"
    if kind == "errno":
        return f"fails with {errno.errorcode.get(value, value)}"
    return "runs"


def agrees(name, outcome, kind, value):
    """Whether an outcome is what the action gives, or None when the call's own answer could be either."""
    natural = natural_errnos(name)
    if kind == "ran":
        return outcome.kind == "ran" or (outcome.kind == "errno" and outcome.value in natural)
    same = outcome.kind == kind and outcome.value == value
    if same and kind == "errno" and value in natural:
        return None  # the filter's answer, or the call's own
    return same


def answered_by_enosys_stub(name, outcome, kind, value):
    """ENOSYS from a call the kernel has, where the action asks another errno: the runtime's stub."""
    return (kind == "errno" and value != errno.ENOSYS and outcome.kind == "errno"
            and outcome.value == errno.ENOSYS and errno.ENOSYS not in natural_errnos(name))


# --- argument conditions --------------------------------------------------------------

def condition_holds(op, arg, value, value_two):
    if op == "SCMP_CMP_EQ":
        return arg == value
    if op == "SCMP_CMP_NE":
        return arg != value
    if op == "SCMP_CMP_LT":
        return arg < value
    if op == "SCMP_CMP_LE":
        return arg <= value
    if op == "SCMP_CMP_GT":
        return arg > value
    if op == "SCMP_CMP_GE":
        return arg >= value
    if op == "SCMP_CMP_MASKED_EQ":
        return arg & value == value_two
    raise ValueError(op)


def candidates(conditions, default):
    seen = [default, 0, 1]
    for _, value, value_two in conditions:
        seen += [value, value_two, (value + 1) % U64, (value - 1) % U64, value | value_two]
    return [c % U64 for c in seen]


def arguments(name, conditions, meet):
    """Arguments for `name` meeting all `conditions` (meet=True) or failing one (meet=False); None if none found.

    conditions: [(index, op, value, value_two)].
    """
    args = list(SAFE_ARGS.get(name, ()))
    by_index = {}
    for index, op, value, value_two in conditions:
        if index >= len(args):
            return None  # the call takes fewer arguments: the condition never holds
        by_index.setdefault(index, []).append((op, value, value_two))
    if not meet:
        # Break the first condition, keep the others' arguments as they were.
        index = min(by_index)
        for candidate in candidates(by_index[index], args[index]):
            if not all(condition_holds(op, candidate, v, v2) for op, v, v2 in by_index[index]):
                args[index] = candidate
                break
        else:
            return None
        by_index.pop(index)
    for index, conds in by_index.items():
        for candidate in candidates(conds, args[index]):
            if all(condition_holds(op, candidate, v, v2) for op, v, v2 in conds):
                args[index] = candidate
                break
        else:
            return None
    return tuple(args)


# --- rules and defaults ----------------------------------------------------------------

class Rule:
    def __init__(self, view):
        self.field = view.path
        self.names = view.strings("names") or ([view.str("name")] if view.str("name") else [])
        self.action = view.str("action")
        self.errno_ret = view.int("errnoRet")
        self.conditions = []
        for arg in view.items("args"):
            op = arg.str("op")
            index, value = arg.int("index"), arg.int("value")
            if index is None or value is None or op is None:
                raise ValueError(f"{arg.path}: index, value and op are required")
            self.conditions.append((index, op, value % U64, (arg.int("valueTwo") or 0) % U64))


def read_rules(spec, result):
    rules = []
    for view in spec.items("linux.seccomp.syscalls"):
        try:
            rules.append(Rule(view))
        except ValueError as error:
            result.problem(str(error))
    return rules


def check_actions(spec, rules, result):
    default = spec.str("linux.seccomp.defaultAction")
    for field, action in [("linux.seccomp.defaultAction", default)] + [(f"{r.field}.action", r.action) for r in rules]:
        if action is not None and action not in ACTIONS:
            result.problem(f"{field}: not a seccomp action: {action!r}")


def named_once(rules):
    counts = {}
    for rule in rules:
        for name in rule.names:
            counts[name] = counts.get(name, 0) + 1
    return {name for name, count in counts.items() if count == 1}


def call_text(name, args):
    return f"{name}({', '.join(hex(a) if a > 0xFFFF else str(a) for a in args)})"


def probe(result, caller, table, field, name, args, action, errno_ret):
    """Make one call and compare how it ended with the action; what was seen, or None when not judged."""
    kind, value = expected_outcome(action, errno_ret)
    if kind is None:
        result.note(f"{field}: {name}: {action} cannot be judged here")
        return None
    outcome = caller.call(table[name], args)
    if answered_by_enosys_stub(name, outcome, kind, value):
        result.note(f"{field}: {call_text(name, args)}: {outcome}, which a let-through call does not answer: "
                    "filtered, with the ENOSYS runtimes give system calls newer than any their profile "
                    "names (runc's and crun's ENOSYS stub, so that C libraries fall back): not judged")
        return None
    verdict = agrees(name, outcome, kind, value)
    if verdict is None:
        result.note(f"{field}: {call_text(name, args)}: {outcome}, which the call itself may answer: not judged")
        return None
    if not verdict:
        result.fail(field, f"{call_text(name, args)} {describe_expected(kind, value)} ({action})", str(outcome),
                    why="probe in a forked child")
    return f"{call_text(name, args)} {outcome}"


def usable_table(result):
    table = syscall_table()
    if table is None:
        result.skip(f"no table of harmless system calls for {own_architecture()} code")
    if container.status().get("Seccomp") != "2":
        result.skip("no seccomp filter is in force (see linux.seccomp): nothing to probe")
    return table


@check("linux.seccomp.syscalls", MUST, SECTION, needs="linux.seccomp.syscalls")
def seccomp_rules_are_applied(spec, result):
    """Harmless system calls each rule names get its action (ERRNO with errnoRet, KILL, TRAP, ALLOW, ...)."""
    rules = read_rules(spec, result)
    check_actions(spec, rules, result)
    table = usable_table(result)
    default = spec.str("linux.seccomp.defaultAction")
    default_errno = spec.int("linux.seccomp.defaultErrnoRet")
    once = named_once(rules)
    caller, probed = Caller(), []
    with NoCoreDumps():
        for rule in rules:
            for name in rule.names:
                if name not in table:
                    continue
                if name not in once:
                    result.note(f"{rule.field}: {name} is named by several rules: not probed")
                    continue
                if rule.conditions and name not in SAFE_ARGS:
                    continue
                args = arguments(name, rule.conditions, meet=True)
                if args is not None:
                    probed.append(probe(result, caller, table, rule.field, name, args,
                                        rule.action, rule.errno_ret))
                if rule.conditions and default is not None:
                    args = arguments(name, rule.conditions, meet=False)
                    if args is not None:
                        probed.append(probe(result, caller, table, f"{rule.field}.args", name, args,
                                            default, default_errno))
    probed = [seen for seen in probed if seen]
    if probed:
        result.note("probed: " + ", ".join(probed))
    elif not result.failures:
        result.skip("no rule names a system call that is harmless to call")


@check("linux.seccomp.defaultAction", MUST, SECTION, needs="linux.seccomp.defaultAction")
def seccomp_default_action_is_applied(spec, result):
    """A harmless system call no rule names gets defaultAction (with defaultErrnoRet)."""
    rules = read_rules(spec, result)
    default = spec.str("linux.seccomp.defaultAction")
    table = usable_table(result)
    named = {name for rule in rules for name in rule.names}
    unnamed = [name for name in DEFAULT_PROBES if name in table and name not in named]
    if not unnamed:
        result.skip("every harmless system call is named by a rule")
    if expected_outcome(default, None)[0] is None:
        result.skip(f"{default} cannot be judged from inside")
    caller, undecided = Caller(), []
    with NoCoreDumps():
        for name in unnamed:
            seen = probe(result, caller, table, "linux.seccomp.defaultAction", name, SAFE_ARGS.get(name, ()),
                         default, spec.int("linux.seccomp.defaultErrnoRet"))
            if seen:
                result.note(f"probed: {seen}")
                return
            if result.failures:
                return
            undecided.append(name)
    result.skip(f"every system call no rule names answers as {default} would and as the call itself "
                f"would: {', '.join(undecided)}")
