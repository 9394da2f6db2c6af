"""NAME.lifecycle: what the driver does to a case's container, checked from outside.

A case with a NAME.lifecycle file is run by its steps instead of the plain
create, start, wait, delete. One step per line (`#` starts a comment):

    create            create the container: must succeed and write --pid-file
    create fail       create again with the same id (or a first create that must
                      fail): must fail
    state STATUS      state: must report STATUS, the container's id, its bundle,
                      an ociVersion, and for created/running the pid of the
                      container process (the one in --pid-file, running the
                      user-specified program once started)
    start             start: must succeed
    start fail        start: must fail (the container is not `created`)
    kill SIGNAL       kill: must succeed, and the container process must then end
                      from SIGNAL (die of it, or exit 128+N as a shell reports it)
    kill SIGNAL fail  kill: must fail (the container is neither created nor running)
    wait              wait for the container process to end (bounded by the case's timeout)
    expect TEXT       wait until the container has printed the line TEXT on stdout
                      (bounded by the case's timeout), e.g. that it is ready for a signal
    delete            delete (without --force): must succeed, and `state` must
                      then no longer know the id
    delete fail       delete (without --force): must fail (the container is not stopped)
    OP unknown        start, state, kill SIGNAL or delete an id no container has:
                      must fail
    OP noid           create, start, state, kill [SIGNAL] or delete given no id: must fail
    kill SIGNAL caught
                      kill: must succeed, and the process (which handles SIGNAL and
                      goes on) must print `received SIGNAME` once more
    kill-process SIGNAL
                      signal the container process directly, from outside the runtime
    delete force      delete --force: must succeed, `state` no longer knows the id and
                      the process has ended
    race N OP         N starts or N deletes at the same moment: exactly one succeeds
    edit-config FIELD JSON
                      set a dotted field of the bundle's config.json (null deletes it)
    expect-cgroup     the process is in linux.cgroupsPath in every controller's
                      hierarchy (a relative path below the runtime's own cgroup)
    join-cgroup CONTROLLER
                      move the process into a cgroup the driver makes
    expect-gone cgroup|mount|ns
                      what create made (seen after create) is released
    expect-kept cgroup|ns
                      what the container was in but create did not make is still there

Each step's verdict is an outside check (driver/outside/lifecycle.py); the
steps are run against a case's container by driver/steps.py. This module only
reads the file: a bad line is a StepError naming the line and what is wrong.
"""

import json
import signal as signals
from collections import namedtuple

OPS = ("create", "start", "state", "kill", "wait", "expect", "delete", "edit-config", "kill-process",
       "race", "join-cgroup", "expect-cgroup", "expect-gone", "expect-kept")
STATUSES = ("creating", "created", "running", "stopped")
NO_ID_OPS = ("create", "start", "state", "kill", "delete")
RACE_OPS = ("start", "delete")
RESOURCES = ("cgroup", "mount", "ns")  # what `expect-gone` looks for after delete
KEPT = ("cgroup", "ns")  # what `expect-kept` looks for: made by the driver, joined by the container


# mode: "noid" (no container id given), "caught" (kill: the process catches the
# signal and goes on), "force" (delete --force); value: race's count, edit-config's JSON.
Step = namedtuple("Step", "op arg fail unknown line mode value", defaults=(None, None))
MODIFIERS = {"fail", "unknown", "noid", "caught", "force"}


class StepError(Exception):
    """A NAME.lifecycle line that is not a step: the message says why."""


def signal_number(text):
    """The number of a signal given as TERM, SIGTERM or 15; ValueError if none."""
    if text.isdigit():
        return signals.Signals(int(text)).value
    name = text.upper()
    return signals.Signals[name if name.startswith("SIG") else "SIG" + name].value


def signal_label(text):
    """SIGUSR1 for USR1, usr1, SIGUSR1 or 10."""
    return signals.Signals(signal_number(text)).name


def parse_steps(text):
    """The steps of a NAME.lifecycle text; StepError("line N: ...") for a bad line."""
    steps = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        try:
            steps.append(_parse_step(words, number))
        except StepError as error:
            raise StepError(f"line {number}: {error}") from None
    if not steps:
        raise StepError("no steps")
    return steps


def _parse_step(words, number):
    op, rest = words[0], words[1:]
    if op not in OPS:
        raise StepError(f"unknown step {op!r} (one of {', '.join(OPS)})")
    if op == "expect":
        if not rest:
            raise StepError("`expect` needs the line to wait for")
        return Step(op, " ".join(rest), False, False, number)
    if op in SPECIAL:
        return SPECIAL[op](rest, number)
    given = [word for word in rest if word in MODIFIERS]
    fail, unknown, noid = "fail" in given, "unknown" in given, "noid" in given
    mode = "noid" if noid else "caught" if "caught" in given else "force" if "force" in given else None
    args = [word for word in rest if word not in MODIFIERS]
    _check_modifiers(op, given, args)
    if op == "wait" and (fail or args):
        raise StepError("`wait` takes nothing")
    if op == "state" and not (fail or unknown or noid):
        if len(args) != 1:
            raise StepError("`state` needs the expected status (creating, created, running, stopped)")
    elif op == "kill" and not (noid and not args):
        _one_signal(op, args)
    elif args:
        raise StepError(f"`{op}` takes no {' '.join(args)!r}")
    return Step(op, args[0] if args else None, fail or unknown or noid, unknown, number, mode)


def _check_modifiers(op, given, args):
    if "unknown" in given and op in ("create", "wait"):
        raise StepError(f"`{op}` cannot be aimed at an unknown id")
    if "noid" in given and op not in NO_ID_OPS:
        raise StepError(f"`{op}` cannot be given without an id")
    if "caught" in given and op != "kill":
        raise StepError("only `kill SIGNAL caught` is caught")
    if "force" in given and op != "delete":
        raise StepError("only `delete force` is forced")
    if len(given) > 1 and not set(given) <= {"fail", "unknown"}:
        raise StepError(f"`{op}`: {' and '.join(given)} do not go together")


def _one_signal(op, args):
    if len(args) != 1:
        raise StepError(f"`{op}` needs a signal (e.g. TERM, SIGKILL, 9)")
    try:
        signal_number(args[0])
    except (KeyError, ValueError):
        raise StepError(f"`{op} {args[0]}`: no such signal") from None


def _parse_edit_config(rest, number):
    if len(rest) < 2:
        raise StepError("`edit-config` needs a field and a JSON value (e.g. hostname \"edited\")")
    field, text = rest[0], " ".join(rest[1:])
    try:
        value = json.loads(text)
    except ValueError:
        raise StepError(f"`edit-config {field}`: not a JSON value: {text!r}") from None
    if not all(field.split(".")):
        raise StepError(f"`edit-config {field}`: not a dotted field name")
    return Step("edit-config", field, False, False, number, None, value)


def _parse_kill_process(rest, number):
    _one_signal("kill-process", rest)
    return Step("kill-process", rest[0], False, False, number)


def _parse_race(rest, number):
    if len(rest) != 2 or not rest[0].isdigit() or int(rest[0]) < 2 or rest[1] not in RACE_OPS:
        raise StepError(f"`race` needs a count of 2 or more and an operation ({', '.join(RACE_OPS)}), "
                        "e.g. `race 2 start`")
    return Step("race", rest[1], False, False, number, None, int(rest[0]))


def _parse_join_cgroup(rest, number):
    if len(rest) != 1:
        raise StepError("`join-cgroup` needs a controller (e.g. pids)")
    return Step("join-cgroup", rest[0], False, False, number)


def _parse_expect_cgroup(rest, number):
    if rest:
        raise StepError(f"`expect-cgroup` takes no {' '.join(rest)!r}")
    return Step("expect-cgroup", None, False, False, number)


def _resource_parser(op, kinds):
    def parse(rest, number):
        if len(rest) != 1 or rest[0] not in kinds:
            raise StepError(f"`{op}` needs what: {', '.join(kinds)}")
        return Step(op, rest[0], False, False, number)

    return parse


SPECIAL = {"edit-config": _parse_edit_config, "kill-process": _parse_kill_process, "race": _parse_race,
           "join-cgroup": _parse_join_cgroup, "expect-cgroup": _parse_expect_cgroup,
           "expect-gone": _resource_parser("expect-gone", RESOURCES),
           "expect-kept": _resource_parser("expect-kept", KEPT)}


def describe(step):
    if step.op == "race":
        words = [step.op, str(step.value), step.arg]
    elif step.op == "edit-config":
        words = [step.op, step.arg, json.dumps(step.value)]
    else:
        words = [step.op] + ([step.arg] if step.arg else []) + (["unknown"] if step.unknown else [])
        if step.mode:
            words.append(step.mode)
        elif step.fail and not step.unknown:
            words.append("fail")
    return f"step {step.line} `{' '.join(words)}`"
