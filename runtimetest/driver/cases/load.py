"""A case tree: groups of files sharing a NAME, the suffix saying what each is.

A case's files sit together in one directory; cases may be grouped in
directories below the tree's top (spec-fixtures/ has one per spec area), and a
case's name is unique in the whole tree.

    NAME.json       the config: a partial spec merged onto the base config (required)
    NAME.spec.json  what the checker is told instead, merged onto the case's config
    NAME.err        expected container stderr, one line per line ("re:" = a regex)
    NAME.out        expected stdout, byte-exact
    NAME.in         bytes piped to the container's stdin
    NAME.args       process args, one per line (default: the checker)
    NAME.exit       expected exit status (default 0), or a signal name (SIGKILL)
                    the process must die of
    NAME.timeout    seconds before the container is killed
    NAME.desc       one line shown with the result
    NAME.lifecycle  steps the driver performs instead of create, start, wait,
                    delete, each checked from outside (see lifecycle.py)

A case whose files cannot be read becomes a `BrokenCase` naming the file and the
problem; it is reported as failed and the other cases still run. Every entry
whose name ends in a suffix above belongs to its case: a directory, a FIFO or
a device under such a name, a symlink that leads nowhere or out of the case
directory, is an error naming it, never skipped and never read (a FIFO would
block). Files are read bounded in size; JSON nested deeper than MAX_DEPTH is
refused before anything recurses through it.
"""

import fnmatch
import json
import math
import os
import re
import stat

from runtimetest.driver.cases.steps import StepError, parse_steps

SUFFIXES = (".spec.json", ".json", ".err", ".out", ".in", ".args", ".exit", ".timeout", ".desc",
            ".lifecycle")
REGEX_PREFIX = "re:"
MAX_FILE = 64 << 20  # bytes of any one case file
MAX_DEPTH = 100  # arrays and objects within each other in NAME.json, NAME.spec.json
MIN_TIMEOUT, MAX_TIMEOUT = 0.01, 7 * 24 * 3600.0  # seconds NAME.timeout may give
MAX_EXIT = 255
TOO_DEEP = object()
# Directories below a case tree's top that hold no cases of the tree: the departure
# records, and the sets that need the host prepared (run by naming them).
LEFT_OUT_DIRECTORIES = ("departures", "host-*")


class CaseError(Exception):
    """A case file that cannot be used: the message names the file and the problem."""


class Case:
    def __init__(self, name, directory):
        self.name = name
        self.directory = directory
        self.config = {}
        self.spec_override = None
        self.expected_err = []  # absent NAME.err: stderr must be empty
        self.expected_out = None
        self.stdin = None
        self.args = None
        self.expected_exit = 0
        self.expected_signal = None  # a signal number when NAME.exit names a signal
        self.timeout = None
        self.desc = ""
        self.lifecycle = None  # steps from NAME.lifecycle

    def path(self, suffix):
        return os.path.join(self.directory, self.name + suffix)


class BrokenCase:
    """A case that could not be loaded; reported as failed with its reason."""

    def __init__(self, name, directory, reason):
        self.name = name
        self.directory = directory
        self.reason = reason
        self.desc = ""
        self.timeout = None
        self.lifecycle = None


def split_name(filename):
    for suffix in SUFFIXES:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], suffix
    return None, None


def _read_bytes(path):
    """A case file's bytes: a regular file (never a FIFO or device, which could block), bounded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as error:
        raise CaseError(f"{path}: cannot read: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind != "file":
            raise CaseError(f"{path}: {kind}, not a regular file")
        data = os.read(fd, min(info.st_size, MAX_FILE) + 1)
    except OSError as error:
        raise CaseError(f"{path}: cannot read: {error.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:
        raise CaseError(f"{path}: larger than {MAX_FILE} bytes")
    return data


def _kind(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (never read: it could block)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _read_text(path):
    data = _read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CaseError(f"{path}: not UTF-8 text (byte {error.start})") from None


def _read_json_object(path):
    text = _read_text(path)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CaseError(f"{path}: not JSON: {error}") from None
    except RecursionError:
        data = TOO_DEEP  # deeper than the parser goes
    if data is TOO_DEEP or _depth(data) > MAX_DEPTH:
        raise CaseError(f"{path}: arrays and objects nested more than {MAX_DEPTH} deep")
    if not isinstance(data, dict):
        raise CaseError(f"{path}: should hold a JSON object, found {type(data).__name__}")
    return data


def _depth(data):
    """How deeply arrays and objects nest in `data` (without recursing: it may be deep)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _lines(text):
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def _read_expected_err(path):
    lines = _lines(_read_text(path))
    for number, line in enumerate(lines, 1):
        if line.startswith(REGEX_PREFIX):
            try:
                re.compile(line[len(REGEX_PREFIX):])
            except re.error as error:
                raise CaseError(f"{path}:{number}: bad regular expression: {error}") from None
    return lines


def parse_exit(text, where):
    """(exit code, None) or (None, signal number) from an exit status or a signal name."""
    import signal

    text = str(text).strip()
    if text.upper().startswith("SIG"):
        try:
            return None, signal.Signals[text.upper()].value
        except KeyError:
            raise CaseError(f"{where}: no such signal {text!r}") from None
    if not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > MAX_EXIT:
        raise CaseError(f"{where}: exit status should be an integer from 0 to {MAX_EXIT} "
                        f"or a signal name, found {_shown(text)}")
    return int(text), None


def _shown(text, most=40):
    """A value for an error message: quoted, escaped, cut."""
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text)} characters)"


def _read_exit(path):
    """(exit code, None) or (None, signal number) from NAME.exit."""
    return parse_exit(_read_text(path), path)


def _read_timeout(path):
    text = _read_text(path).strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:  # also false for NaN
        raise CaseError(f"{path}: timeout should be a number of seconds from {MIN_TIMEOUT:g} to "
                        f"{MAX_TIMEOUT:g}, found {_shown(text)}")
    return value


def _check_config(case):
    """The config the runtime will get must have the runtime-spec's types.

    (NAME.spec.json is not checked: a wrong type there is how a case makes the
    checker report one.)
    """
    from runtimetest.driver.bundle import MergeError, base_config, merge
    from runtimetest.driver.cases.schema import config_error

    try:
        config = merge(base_config(), case.config)
    except MergeError as error:
        raise CaseError(f"{case.path('.json')}: {error}") from None
    problem = config_error(config)
    if problem:
        raise CaseError(f"{case.path('.json')}: {problem}")


def load_case(name, directory, suffixes):
    case = Case(name, directory)
    if ".json" not in suffixes:
        raise CaseError(f"{case.path('.json')}: missing (every case needs its config, even {{}})")
    case.config = _read_json_object(case.path(".json"))
    _check_config(case)
    if ".spec.json" in suffixes:
        case.spec_override = _read_json_object(case.path(".spec.json"))
    if ".err" in suffixes:
        case.expected_err = _read_expected_err(case.path(".err"))
    if ".out" in suffixes:
        case.expected_out = _read_bytes(case.path(".out"))
    if ".in" in suffixes:
        case.stdin = _read_bytes(case.path(".in"))
    if ".args" in suffixes:
        case.args = _lines(_read_text(case.path(".args")))
        if not case.args:
            raise CaseError(f"{case.path('.args')}: empty (give at least the program)")
    if ".exit" in suffixes:
        case.expected_exit, case.expected_signal = _read_exit(case.path(".exit"))
    if ".timeout" in suffixes:
        case.timeout = _read_timeout(case.path(".timeout"))
    if ".lifecycle" in suffixes:
        try:
            case.lifecycle = parse_steps(_read_text(case.path(".lifecycle")))
        except StepError as error:
            raise CaseError(f"{case.path('.lifecycle')}: {error}") from None
    if ".desc" in suffixes:
        lines = _lines(_read_text(case.path(".desc")))
        case.desc = lines[0].strip() if lines else ""
    return case


def discover(directory, patterns=(), names=()):
    """Every case in a case tree, sorted by name, filtered by -k patterns and names.

    The cases are those of `directory` and of every directory below it, except
    departures/ (the records of runtimes' departures) and host-*/ (sets that need
    the host prepared first: they run when named as the directory). A case's files
    sit together in one directory; a name is unique in the tree, two cases of one
    name anywhere in it are an error naming both. A case that cannot be loaded is
    returned as a BrokenCase, never raised.
    """
    groups, unusable = {}, {}
    for place in case_directories(directory):
        _scan(place, groups, unusable)
    selected = [n for n in sorted(groups) if _selected(n, patterns, names)]
    unknown = [n for n in names if n not in groups]
    if unknown:
        raise CaseError(f"{directory}: no case named {', '.join(unknown)}")
    cases = []
    for name in selected:
        place, suffixes = groups[name]
        try:
            if name in unusable:
                raise CaseError(unusable[name])
            cases.append(load_case(name, place, suffixes))
        except CaseError as error:
            # One line, whatever bytes the file's name holds (the name may hold a newline).
            cases.append(BrokenCase(name, place, _one_line(str(error))))
        except RecursionError:  # nothing should recurse past MAX_DEPTH; if it does, this case only
            cases.append(BrokenCase(name, place, f"{os.path.join(place, name)}.*: nested too deeply"))
    return cases


def case_directories(top):
    """`top` and every directory below it that holds cases, parents first, by name.

    Symlinks are not followed; departures/ and host-*/ below the top are left out;
    an entry named like a case file is its case's (an error if a directory), never
    walked into.
    """
    found, pending = [], [top]
    while pending:
        directory = pending.pop()
        found.append(directory)
        below = [os.path.join(directory, entry) for entry in _entries(directory)
                 if split_name(entry)[0] is None and not _left_out(entry)
                 and _is_real_directory(os.path.join(directory, entry))]
        pending.extend(reversed(below))
    return found


def _left_out(entry):
    return any(fnmatch.fnmatchcase(entry, pattern) for pattern in LEFT_OUT_DIRECTORIES)


def _is_real_directory(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _entries(directory):
    try:
        return sorted(os.listdir(directory))
    except OSError as error:
        raise CaseError(f"{directory}: cannot list cases: {error.strerror}") from None


def _scan(directory, groups, unusable):
    """Add the cases of one directory to groups ({name: (directory, suffixes)}), the entries
    that cannot be case files to unusable ({name: reason}); a name seen elsewhere is an error."""
    for entry in _entries(directory):
        name, suffix = split_name(entry)
        if name is None:
            continue
        place, suffixes = groups.setdefault(name, (directory, set()))
        if place != directory:
            raise CaseError(f"two cases named {name!r}: {os.path.join(place, name)}.* and "
                            f"{os.path.join(directory, name)}.* (a name is unique in the case tree)")
        suffixes.add(suffix)
        problem = entry_problem(directory, entry)
        if problem:
            unusable.setdefault(name, f"{os.path.join(directory, entry)}: {problem}")


def _one_line(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def entry_problem(directory, entry):
    """Why an entry with a case file's name cannot be a case file, or None.

    A symlink is followed only when it resolves to a regular file inside the case directory.
    """
    path = os.path.join(directory, entry)
    try:
        mode = os.lstat(path).st_mode
    except OSError as error:
        return f"cannot be looked at: {error.strerror}"
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
            resolved = os.path.realpath(path, strict=True)
            mode = os.stat(path).st_mode
        except OSError:
            return "a symlink that leads nowhere (dangling, or a loop)"
        inside = os.path.realpath(directory) + os.sep
        if not resolved.startswith(inside):
            return f"a symlink out of the case directory (to {target}): not followed"
    kind = _kind(mode)
    return None if kind == "file" else f"{kind}, not a regular file"


def _selected(name, patterns, names):
    if names and name not in names:
        return False
    if patterns and not any(_pattern_matches(p, name) for p in patterns):
        return False
    return True


def _pattern_matches(pattern, name):
    """-k PATTERN: a glob when it has wildcards, else a substring."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


def area_of(case, cases_dir):
    """The spec area a case belongs to: its subdirectory of the case directory, else its name's first word."""
    relative = os.path.relpath(case.directory, cases_dir)
    if relative not in (".", "") and not relative.startswith(".."):
        return relative.split(os.sep)[0]
    return case.name.split("-", 1)[0]
