"""The checker once per spec, many specs in one container (a helper mode of the binary).

    runtimetest --each-spec LIST OUTDIR [--timeout SECONDS]

LIST names one spec file per line. Each is judged by the checker exactly as
`runtimetest --spec FILE` would, in a child forked for it (so nothing of one run
reaches the next) whose stdout and stderr go to OUTDIR/NAME.out and NAME.err.
A child still running after SECONDS (default 20) is killed. OUTDIR/status gets
one line per spec, `NAME STATUS SECONDS`: the exit status, or 128 + the signal
that ended it (SIGKILL at the timeout: 137), and how long it took. A start of the static binary costs far
more than judging a spec, so this is how many specs are judged in one
container (tests/fuzz_checker.py).
"""

import os
import signal
import sys
import time

USAGE = "usage: runtimetest --each-spec LIST OUTDIR [--timeout SECONDS]\n"
POLL = 0.005


def judge_one(path, outdir):
    """Fork a checker for one spec; its pid."""
    name = os.path.basename(path)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for fd, suffix in ((1, ".out"), (2, ".err")):
            out = os.open(os.path.join(outdir, name + suffix), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        from runtimetest.checker.main import main

        code = main(["--spec", path])
    except BrokenPipeError:
        code = 0
    except BaseException:  # what the plain checker would let escape: shown, as it would be
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def wait_bounded(pid, timeout):
    """The child's status as a shell shows it (128 + signal), killing it after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(POLL)


def main(argv):
    args = list(argv[1:])
    timeout = 20.0
    if "--timeout" in args:
        at = args.index("--timeout")
        try:
            timeout = float(args[at + 1])
        except (IndexError, ValueError):
            args = []
        else:
            del args[at:at + 2]
    if len(args) != 2:
        sys.stderr.write(USAGE)
        return 2
    listing, outdir = args
    with open(listing) as handle:
        paths = [line.strip() for line in handle if line.strip()]
    with open(os.path.join(outdir, "status"), "a") as status:
        for path in paths:
            started = time.monotonic()
            code = wait_bounded(judge_one(path, outdir), timeout)
            status.write(f"{os.path.basename(path)} {code} {time.monotonic() - started:.3f}\n")
            status.flush()
    return 0
