"""Comparing what a container printed with what its case expects.

Every mismatch is rendered with expected and actual side by side, a window
around the first differing byte, that byte marked with ^, and invisible bytes
escaped (\\t, \\r, \\xNN), so a stray space or carriage return is visible.
"""

import re

from runtimetest.driver.cases.load import REGEX_PREFIX

WINDOW = 36  # characters of context shown each side of the first difference
# A failure line of the checker (report.failure_line) or of the driver's outside
# checks: `<check id>: <message> [<LEVEL> <section>]`. No TAP line has this form.
FAILURE_LINE = re.compile(r"[a-z][A-Za-z0-9_.-]*: .* \[(MUST|SHOULD|MAY) [^\s\]]+\]")


def is_failure_line(text):
    return FAILURE_LINE.fullmatch(text) is not None


def escape(data):
    """Printable text for any bytes or str: control and non-ASCII bytes escaped."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x09:
            out.append("\\t")
        elif byte == 0x0A:
            out.append("\\n")
        elif byte == 0x0D:
            out.append("\\r")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def printable(text, keep_newlines=False):
    """`text` safe for a terminal: control characters (ESC above all) and undecodable bytes escaped.

    Unlike escape(), printable non-ASCII text stays as it is.
    """
    return "".join(ch if ch == "\n" and keep_newlines else _printable_char(ch) for ch in text)


def _printable_char(ch):
    code = ord(ch)
    if ch == "\t" or (0x20 <= code < 0x7F) or (0xA0 <= code and not 0xD800 <= code < 0xE000):
        return ch
    if ch in "\n\r":
        return "\\n" if ch == "\n" else "\\r"
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.listdir could not decode (surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def first_difference(expected, actual):
    """Index of the first differing position of two sequences (or the shorter length)."""
    for index, (a, b) in enumerate(zip(expected, actual)):
        if a != b:
            return index
    return min(len(expected), len(actual))


def _window(text, at):
    """(shown text, caret column) for a window of `text` around index `at`."""
    start = max(0, at - WINDOW)
    end = at + WINDOW
    shown = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return shown, at - start + (1 if start else 0)


def side_by_side(label, expected, actual):
    """Expected and actual in two columns around the first differing byte, marked with ^.

    `expected` and `actual` are bytes (or None for "absent").
    """
    if expected is None:
        expected = b""
    if actual is None:
        actual = b""
    at = first_difference(expected, actual)
    # Escaping changes widths: find the difference again in the escaped text.
    left_full = escape(expected)
    right_full = escape(actual)
    at_text = first_difference(left_full, right_full)
    left, left_caret = _window(left_full, at_text)
    right, right_caret = _window(right_full, at_text)
    width = max(len(left), len("expected"), left_caret + 1)
    lines = [
        f"{label}: first difference at byte {at}",
        f"  {'expected'.ljust(width)} | actual",
        f"  {left.ljust(width)} | {right}",
        f"  {(' ' * left_caret + '^').ljust(width)} | {' ' * right_caret}^",
    ]
    return "\n".join(lines)


def line_matches(expected_line, actual_line):
    if expected_line.startswith(REGEX_PREFIX):
        return re.fullmatch(expected_line[len(REGEX_PREFIX):], actual_line) is not None
    return expected_line == actual_line


def compare_stderr(expected_lines, actual):
    """None when stderr is as expected, else a side-by-side explanation."""
    actual_lines = actual.decode("utf-8", "surrogateescape").split("\n")
    if actual_lines and actual_lines[-1] == "":
        actual_lines.pop()
    for number in range(max(len(expected_lines), len(actual_lines))):
        want = expected_lines[number] if number < len(expected_lines) else None
        got = actual_lines[number] if number < len(actual_lines) else None
        if want is not None and got is not None and line_matches(want, got):
            continue
        label = f"stderr line {number + 1}"
        if want is None:
            return side_by_side(f"{label}: unexpected extra line", b"", _bytes(got))
        if got is None:
            return side_by_side(f"{label}: expected line missing", _bytes(want), b"")
        if want.startswith(REGEX_PREFIX):
            return (f"{label}: does not match the pattern\n"
                    f"  expected /{escape(want[len(REGEX_PREFIX):])}/\n"
                    f"  actual   {escape(got)}")
        return side_by_side(label, _bytes(want), _bytes(got))
    return None


def compare_stdout(expected, actual):
    if expected is None or expected == actual:
        return None
    return side_by_side("stdout", expected, actual)


def _bytes(text):
    return text.encode("utf-8", "surrogateescape")
