"""Departures recorded per check: a runtime's systematic gap, set aside wherever it shows.

A failure line is `CHECK-ID: FIELD: MESSAGE [LEVEL section]` (core/report.py).
A per-check record names the check id, a pattern on FIELD and, optionally, one
on MESSAGE; a pattern is a glob (only `*` and `?` are special, so `mounts[*]`
means what it says) or, after `re:`, a regular expression; either must match
the whole part. Lines a record matches are set aside in every case they occur
in, and so is an expected line of the same check and field (the departed line
stands in for it); what is left of the case is judged as usual.
"""

import re

from runtimetest.driver.cases.load import REGEX_PREFIX

LEVEL_TAIL = re.compile(r" \[(MUST|SHOULD|MAY) [^\s\]]+\]$")


class PatternError(ValueError):
    pass


def compile_pattern(text):
    """A compiled full-match pattern for a glob, or for a regular expression after `re:`."""
    if text.startswith(REGEX_PREFIX):
        try:
            return re.compile(text[len(REGEX_PREFIX):])
        except re.error as error:
            raise PatternError(f"bad regular expression: {error}") from None
    return re.compile(re.escape(text).replace(r"\*", ".*").replace(r"\?", "."))


def split_line(line):
    """(check id, field, message) of a failure line, or None for any other line."""
    if not LEVEL_TAIL.search(line):
        return None
    check, sep, rest = line.partition(": ")
    field, sep2, message = rest.partition(": ")
    if not sep or not sep2 or " " in check:
        return None
    return check, field, LEVEL_TAIL.sub("", message)


class CheckDeparture:
    """A runtime's known gap in one check: the lines it makes are expected wherever they occur."""

    def __init__(self, check, field, why, source, message=None, url=None, version="*"):
        self.check = check
        self.field = field
        self.message = message
        self.why = why
        self.url = url
        self.source = source
        self.version = version
        self._field = compile_pattern(field)
        self._message = compile_pattern(message) if message is not None else None

    def matches(self, line):
        parts = split_line(line)
        if parts is None:
            return False
        check, field, message = parts
        return (check == self.check and self._field.fullmatch(field) is not None
                and (self._message is None or self._message.fullmatch(message) is not None))

    def label(self):
        text = f"{self.check} {self.field}"
        return text + (f" {self.message}" if self.message is not None else "")


def departing(records, line):
    """The first record that matches a failure line, or None."""
    return next((record for record in records if record.matches(line)), None)


def set_aside(records, lines):
    """(lines kept, [(record, line) departed]) for a case's actual failure lines."""
    kept, departed = [], []
    for line in lines:
        record = departing(records, line)
        if record is None:
            kept.append(line)
        else:
            departed.append((record, line))
    return kept, departed


def expected_without(expected_lines, departed):
    """The expected lines less those of a check and field a departed line stands in for."""
    places = {split_line(line)[:2] for _, line in departed}
    return [line for line in expected_lines if _place(line) not in places]


def _place(expected_line):
    """(check id, field) an expected line (literal or `re:`) is about, as far as it says."""
    if expected_line.startswith(REGEX_PREFIX):
        # A pattern's leading text, its escapes undone: `hooks\.when: hooks\.poststart\[0\]: ...`
        expected_line = re.sub(r"\\(.)", r"\1", expected_line[len(REGEX_PREFIX):]) + " [MUST x]"
    parts = split_line(expected_line)
    return parts[:2] if parts else None


def summary_lines(records, results):
    """Each per-check record once, with the cases it covered; the unused ones as a note."""
    from runtimetest.driver.compare import printable

    covered = {id(record): [] for record in records}
    for result in results:
        for record in {id(record): record for record, _ in getattr(result, "departed", ())}.values():
            covered.setdefault(id(record), []).append(printable(result.name))
    lines = []
    used = [record for record in records if covered[id(record)]]
    if used:
        lines.append(f"{len(used)} per-check departure(s) of the runtime, their lines expected where they occur:")
        for record in used:
            cases = sorted(covered[id(record)])
            lines.append(f"  {printable(record.label())}: {printable(record.why)} "
                         f"({len(cases)} case(s): {', '.join(cases)})")
    unused = [record for record in records if not covered[id(record)]]
    if unused:
        lines.append(f"note: {len(unused)} per-check departure(s) matched nothing in this run: "
                     + "; ".join(f"{printable(record.label())} ({record.source})" for record in unused))
    return lines


def set_aside_in(records, failure_lines):
    """set_aside() on a case's failure lines as bytes: (bytes kept, [(record, line) departed])."""
    if not records:
        return failure_lines, []
    lines = failure_lines.decode("utf-8", "surrogateescape").split("\n")
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    kept, departed = set_aside(records, lines)
    text = "\n".join(kept) + ("\n" if kept and ended else "")
    return text.encode("utf-8", "surrogateescape"), departed


def reason(departed):
    """The status reason of a case whose only failures are departed lines."""
    whys = list(dict.fromkeys(record.why for record, _ in departed))
    return f"known departure(s) per check: {'; '.join(whys)}"


def note(departed):
    """The note a case keeps of the lines set aside."""
    return (f"{len(departed)} failure line(s) set aside as per-check departures: "
            + "; ".join(f"{line} ({record.source})" for record, line in departed))
