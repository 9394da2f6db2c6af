"""The checker's two streams.

stderr carries failures and nothing else, one line each:

    <check id>: <field>: expected <E>, found <F> [<LEVEL> <spec section>]

so that empty stderr means every applicable check passed. stdout carries a TAP
version 13 stream with the same verdicts, skips with their reasons, and a YAML
block under each failure.
"""

from runtimetest.core.registry import LEVEL_RANK


def failure_line(check, message):
    """One stderr line; newlines inside a message are escaped, never emitted."""
    text = f"{check.id}: {message} [{check.level} {check.section}]"
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _tap_text(text):
    """TAP descriptions and directives must not contain '#' or newlines."""
    return text.replace("\\", "\\\\").replace("#", "\\#").replace("\n", " ")


def _yaml_string(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class Reporter:
    def __init__(self, out, err, level):
        self.out = out
        self.err = err
        self.lowest_reported = LEVEL_RANK[level]
        self.counts = {"pass": 0, "fail": 0, "skip": 0}

    def _write(self, stream, text):
        # A closed or broken stream must not stop the checks, nor the other stream.
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass

    def plan(self, count):
        self._write(self.out, f"TAP version 13\n1..{count}\n")

    def reports_level(self, level):
        return LEVEL_RANK[level] >= self.lowest_reported

    def record(self, number, result):
        """Write one check's verdict: TAP on stdout, its failures on stderr."""
        check = result.check
        status = result.status
        name = _tap_text(check.id)
        tap = []
        if status == "pass":
            tap.append(f"ok {number} - {name}")
        elif status == "skip":
            tap.append(f"ok {number} - {name} # SKIP {_tap_text(result.skip_reason)}")
        elif self.reports_level(check.level):
            tap.append(f"not ok {number} - {name}")
            tap.extend(self._yaml(check, result))
            lines = "".join(failure_line(check, message) + "\n" for message in result.failures)
            self._write(self.err, lines)
        else:
            # Below --level: visible in TAP as a known shortfall, not a failure.
            tap.append(f"not ok {number} - {name} # TODO {check.level} level, below --level")
            tap.extend(self._yaml(check, result))
            status = "pass"
        tap.extend(f"# {check.id}: {text}" for text in result.notes)
        self._write(self.out, "".join(line + "\n" for line in tap))
        self.counts[status] += 1

    def _yaml(self, check, result):
        yield "  ---"
        yield f"  level: {check.level}"
        yield f"  reference: {check.url}"
        yield "  failures:"
        for message in result.failures:
            yield f"    - {_yaml_string(message)}"
        yield "  ..."

    def summary(self):
        c = self.counts
        self._write(self.out, f"# {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped\n")
