"""A case directory: groups of files sharing a NAME, the suffix saying what each is.

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
problem; it is reported as failed and the other cases still run.
"""

import fnmatch
import json
import os
import re

SUFFIXES = (".spec.json", ".json", ".err", ".out", ".in", ".args", ".exit", ".timeout", ".desc",
            ".lifecycle")
REGEX_PREFIX = "re:"


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


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise CaseError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CaseError(f"{path}: not UTF-8 text (byte {error.start})") from None


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CaseError(f"{path}: cannot read: {error.strerror}") from None


def _read_json_object(path):
    text = _read_text(path)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CaseError(f"{path}: not JSON: {error}") from None
    if not isinstance(data, dict):
        raise CaseError(f"{path}: should hold a JSON object, found {type(data).__name__}")
    return data


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


def _read_int(path, what):
    text = _read_text(path).strip()
    try:
        return int(text)
    except ValueError:
        raise CaseError(f"{path}: {what} should be an integer, found {text!r}") from None


def parse_exit(text, where):
    """(exit code, None) or (None, signal number) from an exit status or a signal name."""
    import signal

    text = str(text).strip()
    if text.upper().startswith("SIG"):
        try:
            return None, signal.Signals[text.upper()].value
        except KeyError:
            raise CaseError(f"{where}: no such signal {text!r}") from None
    try:
        return int(text), None
    except ValueError:
        raise CaseError(f"{where}: exit status should be an integer, found {text!r}") from None


def _read_exit(path):
    """(exit code, None) or (None, signal number) from NAME.exit."""
    return parse_exit(_read_text(path), path)


def _read_timeout(path):
    text = _read_text(path).strip()
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value > 0:
        raise CaseError(f"{path}: timeout should be a positive number of seconds, found {text!r}")
    return value


def _check_config(case):
    """The config the runtime will get must have the runtime-spec's types.

    (NAME.spec.json is not checked: a wrong type there is how a case makes the
    checker report one.)
    """
    from .bundle import MergeError, base_config, merge
    from .schema import config_error

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
        from .lifecycle import StepError, parse_steps

        try:
            case.lifecycle = parse_steps(_read_text(case.path(".lifecycle")))
        except StepError as error:
            raise CaseError(f"{case.path('.lifecycle')}: {error}") from None
    if ".desc" in suffixes:
        lines = _lines(_read_text(case.path(".desc")))
        case.desc = lines[0].strip() if lines else ""
    return case


def discover(directory, patterns=(), names=()):
    """Every case in a directory, sorted by name, filtered by -k patterns and names.

    A case that cannot be loaded is returned as a BrokenCase, never raised.
    """
    try:
        entries = sorted(os.listdir(directory))
    except OSError as error:
        raise CaseError(f"{directory}: cannot list cases: {error.strerror}") from None
    groups = {}
    for entry in entries:
        name, suffix = split_name(entry)
        if name is None or not os.path.isfile(os.path.join(directory, entry)):
            continue
        groups.setdefault(name, set()).add(suffix)
    selected = [n for n in sorted(groups) if _selected(n, patterns, names)]
    unknown = [n for n in names if n not in groups]
    if unknown:
        raise CaseError(f"{directory}: no case named {', '.join(unknown)}")
    cases = []
    for name in selected:
        try:
            cases.append(load_case(name, directory, groups[name]))
        except CaseError as error:
            cases.append(BrokenCase(name, directory, str(error)))
    return cases


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
