"""The checker's two streams.

stderr carries failures and nothing else, one line each:

    <check id>: <field>: expected <E>, found <F> [<LEVEL> <spec section>]

so that empty stderr means every applicable check passed. stdout carries a TAP
version 13 stream with the same verdicts, skips with their reasons, and a YAML
block under each failure:

    not ok 4 - hostname
      ---
      level: MUST
      section: 'config.md#hostname'
      reference: 'https://github.com/opencontainers/runtime-spec/blob/main/config.md#hostname'
      failures:
        - line: 'hostname: hostname: expected "x", found "vm" [MUST config.md#hostname]'
          field: 'hostname'
          expected: '"x"'
          found: '"vm"'
      ...

The block keeps to what every TAP reader's YAML understands (Perl's YAMLish
under `prove`, PyYAML): mappings with plain keys, single-quoted one-line
strings, no list item that is a bare string (YAMLish takes `- 'a: b'` for a
mapping) and no literal block (a line of `...` in one ends the YAML for a
reader that does not follow blocks). `line` is the failure's stderr line; `expected` and `found` are the
values as that line shows them (JSON); `why` is the detail in parentheses.
"""

from runtimetest.core.registry import LEVEL_RANK


def failure_line(check, message):
    """One stderr line; newlines inside a message are escaped, never emitted."""
    text = f"{check.id}: {message} [{check.level} {check.section}]"
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _tap_text(text):
    """TAP descriptions and directives must not contain '#' or newlines."""
    return text.replace("\\", "\\\\").replace("#", "\\#").replace("\n", " ")


def yaml_text(text):
    """A single-quoted YAML scalar on one line, that YAMLish and PyYAML read back as `text`.

    Characters YAML cannot carry or would take for a line break (control
    characters, NEL, U+2028, lone surrogates, ...) are written escaped, `\\n`
    and `\\x1b` as in the stderr line.
    """
    return "'" + yaml_printable(text).replace("'", "''") + "'"


def yaml_printable(text):
    """`text` with every character YAML cannot hold on one line written escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch):
    code = ord(ch)
    if ch in "\n\r\t":
        return repr(ch)[1:-1]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
        yield f"  section: {yaml_text(check.section)}"
        yield f"  reference: {yaml_text(check.url)}"
        yield "  failures:"
        parts = result.failure_parts if len(result.failure_parts) == len(result.failures) else []
        for index, message in enumerate(result.failures):
            yield f"    - line: {yaml_text(failure_line(check, message))}"
            for key, value in (parts[index] if parts else {}).items():
                if value is not None:
                    yield f"      {key}: {yaml_text(str(value))}"
        yield "  ..."

    def summary(self):
        c = self.counts
        self._write(self.out, f"# {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped\n")
