"""Comparing what a container printed with what its case expects.

Every mismatch is rendered with expected and actual side by side, a window
around the first differing byte, that byte marked with ^, and invisible bytes
escaped (\\t, \\r, \\xNN), so a stray space or carriage return is visible.
"""

import re

from runtimetest.driver.cases.load import REGEX_PREFIX

MAX_ALIGNED = 250_000  # expected x actual lines beyond which lines are compared place by place
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
    """None when stderr is as expected, else an explanation of the first difference.

    The lines are aligned first (longest common subsequence), so a line missing
    in the middle is named as missing, not diffed byte by byte against the line
    that follows it; an extra line likewise. Where an expected line and an
    actual one differ in the same place, they are shown side by side.
    """
    actual_lines = actual.decode("utf-8", "surrogateescape").split("\n")
    if actual_lines and actual_lines[-1] == "":
        actual_lines.pop()
    missing, extra = _first_divergence(expected_lines, actual_lines)
    if not missing and not extra:
        return None
    if missing and extra:
        return _differing_line(expected_lines[missing[0]], extra[0], actual_lines[extra[0]])
    if missing:
        number = missing[0]
        return (f"stderr line {number + 1}: expected line missing\n"
                f"  expected {escape(expected_lines[number])}")
    number = extra[0]
    return f"stderr line {number + 1}: unexpected extra line\n  actual   {escape(actual_lines[number])}"


def _differing_line(want, number, got):
    label = f"stderr line {number + 1}"
    if want.startswith(REGEX_PREFIX):
        return (f"{label}: does not match the pattern\n"
                f"  expected /{escape(want[len(REGEX_PREFIX):])}/\n"
                f"  actual   {escape(got)}")
    return side_by_side(label, _bytes(want), _bytes(got))


def _first_divergence(expected_lines, actual_lines):
    """(expected indexes unmatched, actual indexes unmatched) at the first place the two part.

    Both empty when every line matches in order.
    """
    missing, extra = [], []
    for want, got in aligned(expected_lines, actual_lines):
        if want is not None and got is not None:
            if missing or extra:
                break
        elif got is not None:
            extra.append(got)
        else:
            missing.append(want)
    return missing, extra


def aligned(expected_lines, actual_lines):
    """The two sequences of lines aligned: (expected index, actual index) pairs of matching
    lines, (index, None) for an expected line missing, (None, index) for an extra actual one."""
    start = 0
    while start < min(len(expected_lines), len(actual_lines)) \
            and line_matches(expected_lines[start], actual_lines[start]):
        start += 1
    pairs = [(index, index) for index in range(start)]
    rows, cols = len(expected_lines), len(actual_lines)
    if (rows - start) * (cols - start) > MAX_ALIGNED:  # hostile output: compare place by place
        for index in range(start, max(rows, cols)):
            pairs.extend(_place_by_place(expected_lines, actual_lines, index))
        return pairs
    # common[i][j]: length of the longest common subsequence of expected[i:] and actual[j:]
    common = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, start - 1, -1):
        for j in range(cols - 1, start - 1, -1):
            if line_matches(expected_lines[i], actual_lines[j]):
                common[i][j] = common[i + 1][j + 1] + 1
            else:
                common[i][j] = max(common[i + 1][j], common[i][j + 1])
    i = j = start
    while i < rows or j < cols:
        if i < rows and j < cols and line_matches(expected_lines[i], actual_lines[j]) \
                and common[i][j] == common[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif j < cols and (i == rows or common[i][j + 1] >= common[i + 1][j]):
            pairs.append((None, j))
            j += 1
        else:
            pairs.append((i, None))
            i += 1
    return pairs


def _place_by_place(expected_lines, actual_lines, index):
    want = index if index < len(expected_lines) else None
    got = index if index < len(actual_lines) else None
    if want is not None and got is not None and line_matches(expected_lines[want], actual_lines[got]):
        return [(want, got)]
    return [pair for pair in ((want, None), (None, got)) if pair != (None, None)]


def compare_stdout(expected, actual):
    if expected is None or expected == actual:
        return None
    return side_by_side("stdout", expected, actual)


def _bytes(text):
    return text.encode("utf-8", "surrogateescape")
