"""The in-container checker: read the spec, run every applicable check, report.

    runtimetest [--spec FILE | --path DIR] [--level must|should|may] [NAME ...]
    runtimetest --list

Failures go to stderr, one line each; TAP goes to stdout; the exit status is 0
whenever the checks ran and 2 when the command line is wrong.

The command line of runtime-tools' runtimetest is accepted too, so that the
binary can stand in for it in that project's validation programs: `--path=/`,
`--compliance-level LEVEL` (any RFC 2119 keyword; the same as --level) and
`--log-level LEVEL` (accepted, changes nothing), each also with one dash.
"""

import os
import sys

from runtimetest import __version__
from runtimetest.checker import container
import runtimetest.checker.checks  # noqa: F401  importing registers every check
from runtimetest.core.registry import CHECKS, LEVELS, Result, Skip
from runtimetest.core.report import Reporter
from runtimetest.core.spec import SpecFieldError, load

USAGE = """\
usage: runtimetest [--spec FILE | --path DIR] [--level must|should|may] [NAME ...]
       runtimetest --list

Check, from inside a container, that the runtime applied the spec.
  --spec FILE    the spec to check against (default /spec.json, else /config.json)
  --path DIR     read DIR/config.json (the convention of older harnesses);
                 a --path naming a file reads that file
  --level LEVEL  lowest RFC 2119 level whose failures go to stderr (default must)
  --list         print every check: id, level, spec reference, description
  NAME           run only the checks with this id, or under this dotted prefix
runtime-tools' runtimetest flags are accepted: --compliance-level LEVEL (as
--level; MUST, SHOULD NOT, OPTIONAL and the other RFC 2119 keywords) and
--log-level LEVEL (no effect).
Failures: stderr, one line each (empty stderr = pass). TAP 13: stdout.
"""

DEFAULT_SPECS = ("/spec.json", "/config.json")


# RFC 2119 keywords, as runtime-tools' --compliance-level takes them (case and
# spaces aside), and the level of ours each one means.
LEVEL_KEYWORDS = {
    "MUST": "must", "MUSTNOT": "must", "REQUIRED": "must", "SHALL": "must", "SHALLNOT": "must",
    "SHOULD": "should", "SHOULDNOT": "should", "RECOMMENDED": "should", "NOTRECOMMENDED": "should",
    "MAY": "may", "OPTIONAL": "may",
}
# runtime-tools' --log-level values (its logging library's names): accepted, no effect.
LOG_LEVELS = ("panic", "fatal", "error", "warn", "warning", "info", "debug", "trace")
VALUE_FLAGS = ("--spec", "--path", "--level", "--compliance-level", "--log-level")
# runtime-tools' own flags; its flag parser also takes them with one dash.
RUNTIME_TOOLS_FLAGS = ("--path", "--compliance-level", "--log-level")


class UsageError(Exception):
    pass


class Options:
    def __init__(self):
        self.spec_path = None
        self.level = "must"
        self.names = []
        self.list = False
        self.help = False
        self.version = False


def parse_args(argv):
    options = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            options.help = True
        elif arg == "--version":
            options.version = True
        elif arg == "--list":
            options.list = True
        elif _flag_name(arg) in VALUE_FLAGS:
            flag, value = _flag_name(arg), None
            if "=" in arg:
                value = arg.partition("=")[2]
            elif args:
                value = args.pop(0)
            if not value:
                raise UsageError(f"{flag} needs a value")
            if flag == "--level":
                if value.upper() not in LEVELS:
                    raise UsageError(f"--level must be one of must, should, may (got {value!r})")
                options.level = value.lower()
            elif flag == "--compliance-level":
                keyword = value.upper().replace(" ", "").replace("_", "")
                if keyword not in LEVEL_KEYWORDS:
                    raise UsageError(f"--compliance-level must be an RFC 2119 keyword: must, should, may, "
                                     f"must not, shall, required, recommended, optional, ... (got {value!r})")
                options.level = LEVEL_KEYWORDS[keyword]
            elif flag == "--log-level":
                if value.lower() not in LOG_LEVELS:
                    raise UsageError(f"--log-level must be one of {', '.join(LOG_LEVELS)} (got {value!r})")
            elif options.spec_path is not None:
                raise UsageError("give at most one of --spec and --path")
            elif flag == "--spec" or os.path.isfile(value):
                options.spec_path = value
            else:
                options.spec_path = os.path.join(value, "config.json")
        elif arg == "--":
            options.names.extend(args)
            args = []
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg}")
        else:
            options.names.append(arg)
    return options


def _flag_name(arg):
    """The long name of a flag: `--path=/` and runtime-tools' one-dash `-path /` give --path."""
    name = arg.partition("=")[0]
    if name.startswith("-") and not name.startswith("--") and "-" + name in RUNTIME_TOOLS_FLAGS:
        return "--" + name[1:]
    return name


def default_spec_path():
    for path in DEFAULT_SPECS:
        if os.path.exists(path):
            return path
    return DEFAULT_SPECS[0]


def select(names):
    """The checks NAMEs ask for, in registration order; the spec file check always runs."""
    if not names:
        return list(CHECKS)
    unknown = [n for n in names if not any(_matches(c.id, n) for c in CHECKS)]
    if unknown:
        raise UsageError(f"no check is named {', '.join(unknown)} (see --list)")
    return [c for c in CHECKS if c.id == "spec.file" or any(_matches(c.id, n) for n in names)]


def _matches(check_id, name):
    return check_id == name or check_id.startswith(name + ".")


def applies(check, spec):
    try:
        return check.applies_to(spec)
    except Exception:
        return True  # let the check itself report what is wrong with the spec


def run_check(check, spec):
    """Run one check; whatever it raises becomes its verdict, never a traceback."""
    result = Result(check)
    try:
        unmet = check.unmet(spec)
        if unmet:
            result.skip(unmet)
        check.func(spec, result)
    except Skip as skip:
        result.skip_reason = skip.reason
    except SpecFieldError as error:
        result.problem(str(error), field=error.field)
    except (Exception, SystemExit) as error:
        result.problem(f"check raised {type(error).__name__}: {error}")
    return result


def print_list(out):
    for c in CHECKS:
        out.write(f"{c.id}\t{c.level}\t{c.url}\t{c.title}\n")


def main(argv=None):
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="backslashreplace")
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
        if options.help:
            sys.stdout.write(USAGE)
            return 0
        if options.version:
            sys.stdout.write(f"runtimetest {__version__}\n")
            return 0
        if options.list:
            print_list(sys.stdout)
            return 0
        selected = select(options.names)
    except UsageError as error:
        sys.stderr.write(f"runtimetest: {error}\n{USAGE}")
        return 2

    spec = load(options.spec_path or default_spec_path())
    reporter = Reporter(sys.stdout, sys.stderr, options.level.upper())
    to_run = [c for c in selected if applies(c, spec)]
    reporter.plan(len(to_run))
    for number, check in enumerate(to_run, 1):
        reporter.record(number, run_check(check, spec))
    reporter.summary()
    return 0


# The binary's helper modes (runtimetest/hooks.py, each.py): imported only when
# asked for, so the checker's own start-up imports nothing more.
HELPER_MODES = ("--hook", "--await-signal")


def entry():
    container.note_start()
    if len(sys.argv) > 1 and sys.argv[1] in HELPER_MODES:
        from runtimetest.checker.hooks import main as helper_main

        sys.exit(helper_main(sys.argv[1:]))
    if len(sys.argv) > 1 and sys.argv[1] == "--each-spec":
        from runtimetest.checker.each import main as each_main  # many specs in one container (each.py)

        sys.exit(each_main(sys.argv[1:]))
    try:
        code = main()
    except BrokenPipeError:
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    entry()
