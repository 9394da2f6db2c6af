"""JSON text read and written for the checker, without the json module.

The standard library's json imports re, and re imports enum: together a third
of the checker's start-up, paid in every container (callgrind, Debian's 3.11:
`python3 -I -S -c pass` 20.9M instructions, `import json` 49.0M). What the
checker needs is small: read one spec (RFC 8259, plus the NaN and Infinity
that Python's json also reads) and show values in failure lines exactly as
`json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)` does.

Reading is iterative, so nesting is bounded by `max_depth`, never by Python's
recursion limit, and linear in the length of the text.
"""

MAX_DEPTH = 200  # a runtime-spec config nests about 6 deep
WHITESPACE = " \t\n\r"
NUMBER_CHARS = frozenset("0123456789+-.eE")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
READ_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
CONSTANTS = (("true", True), ("false", False), ("null", None), ("NaN", float("nan")),
             ("Infinity", float("inf")), ("-Infinity", float("-inf")))
DELETE_CONTROLS = {code: None for code in range(0x20)}
WRITE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class JSONError(ValueError):
    def __init__(self, message, text, position):
        line = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        super().__init__(f"{message}: line {line} column {column} (char {position})")


def loads(text, max_depth=MAX_DEPTH):
    """The value a JSON text holds; JSONError (a ValueError) says where it is not JSON."""
    if isinstance(text, (bytes, bytearray)):
        if text.startswith(b"\xef\xbb\xbf"):
            raise JSONError("Unexpected UTF-8 BOM", "", 0)
        text = text.decode("utf-8")
    return _Reader(text, max_depth).document()


class _Reader:
    def __init__(self, text, max_depth):
        self.text = text
        self.max_depth = max_depth

    def fail(self, message, position):
        raise JSONError(message, self.text, position)

    def skip_space(self, position):
        text = self.text
        while position < len(text) and text[position] in WHITESPACE:
            position += 1
        return position

    def document(self):
        """Values are read in one loop with an explicit stack of open containers."""
        text = self.text
        position = self.skip_space(0)
        open_containers = []  # [container, key of the value being read (objects)]
        while True:
            value, position = self.scalar_or_open(position, open_containers)
            if value is _OPENED:
                continue
            while True:
                if not open_containers:
                    position = self.skip_space(position)
                    if position != len(text):
                        self.fail("Extra data", position)
                    return value
                container, key = open_containers[-1]
                if key is None:
                    container.append(value)
                else:
                    container[key] = value
                position = self.skip_space(position)
                mark = text[position:position + 1]
                if mark == ",":
                    position = self.skip_space(position + 1)
                    if isinstance(container, dict):
                        open_containers[-1][1], position = self.member_name(position)
                    break
                if mark == ("}" if isinstance(container, dict) else "]"):
                    open_containers.pop()
                    value, position = container, position + 1
                    continue
                self.fail("Expecting ',' delimiter", position)

    def scalar_or_open(self, position, open_containers):
        """(value, position after it); a container that is not empty is opened instead."""
        text = self.text
        mark = text[position:position + 1]
        if mark in ("{", "["):
            if len(open_containers) >= self.max_depth:
                self.fail(f"nested deeper than {self.max_depth} arrays and objects", position)
            position = self.skip_space(position + 1)
            if text.startswith("}" if mark == "{" else "]", position):
                return ({} if mark == "{" else []), position + 1
            if mark == "[":
                open_containers.append([[], None])
                return _OPENED, position
            name, position = self.member_name(position)
            open_containers.append([{}, name])
            return _OPENED, position
        if mark == '"':
            return self.string(position)
        for word, value in CONSTANTS:
            if text.startswith(word, position):
                return value, position + len(word)
        if mark and mark in "-0123456789":
            return self.number(position)
        self.fail("Expecting value", position)

    def member_name(self, position):
        """A member's name and the position of its value, past the colon."""
        if not self.text.startswith('"', position):
            self.fail("Expecting property name enclosed in double quotes", position)
        name, position = self.string(position)
        position = self.skip_space(position)
        if not self.text.startswith(":", position):
            self.fail("Expecting ':' delimiter", position)
        return name, self.skip_space(position + 1)

    def string(self, opening):
        text = self.text
        chunks = []
        start = opening + 1
        while True:
            end = text.find('"', start)
            if end < 0:
                self.fail("Unterminated string starting at", opening)
            escape = text.find("\\", start, end)
            chunk = text[start:end if escape < 0 else escape]
            if len(chunk.translate(DELETE_CONTROLS)) != len(chunk):
                self.fail("Invalid control character at", start + next(
                    i for i, char in enumerate(chunk) if char < " "))
            chunks.append(chunk)
            if escape < 0:
                return "".join(chunks), end + 1
            character, start = self.escape(escape)
            chunks.append(character)

    def escape(self, backslash):
        """The character an escape stands for, and the position after it."""
        text = self.text
        kind = text[backslash + 1:backslash + 2]
        if kind in READ_ESCAPES:
            return READ_ESCAPES[kind], backslash + 2
        if kind != "u":
            self.fail("Invalid \\escape", backslash)
        code = self.hex4(backslash + 2)
        after = backslash + 6
        if 0xD800 <= code <= 0xDBFF and text.startswith("\\u", after):
            low = self.hex4(after + 2)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), after + 6
        return chr(code), after

    def hex4(self, position):
        digits = self.text[position:position + 4]
        if len(digits) != 4 or not HEX_DIGITS.issuperset(digits):
            self.fail("Invalid \\uXXXX escape", position - 1)
        return int(digits, 16)

    def number(self, start):
        text = self.text
        end = start
        while end < len(text) and text[end] in NUMBER_CHARS:
            end += 1
        token = text[start:end]
        if not _is_number(token):
            self.fail("Invalid number", start)
        if "." in token or "e" in token or "E" in token:
            return float(token), end
        return int(token), end


_OPENED = object()


def _digits(token, at):
    """Position after the run of digits at `at`."""
    while at < len(token) and token[at].isdigit():
        at += 1
    return at


def _is_number(token):
    """RFC 8259's number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?"""
    at = 1 if token.startswith("-") else 0
    if token[at:at + 1] == "0":
        at += 1
    elif token[at:at + 1] in ("1", "2", "3", "4", "5", "6", "7", "8", "9"):
        at = _digits(token, at)
    else:
        return False
    if token[at:at + 1] == ".":
        after = _digits(token, at + 1)
        if after == at + 1:
            return False
        at = after
    if token[at:at + 1] in ("e", "E"):
        at += 2 if token[at + 1:at + 2] in ("+", "-") else 1
        after = _digits(token, at)
        if after == at:
            return False
        at = after
    return at == len(token)


def dumps(value):
    """`json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)`, byte for byte.

    ValueError on a circular reference, TypeError on keys JSON cannot carry, as json.
    """
    return _write(value, set())


def _write(value, open_ids):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, (list, tuple, dict)):
        if id(value) in open_ids:
            raise ValueError("Circular reference detected")
        open_ids.add(id(value))
        try:
            if isinstance(value, dict):
                members = [f"{_key(k)}: {_write(v, open_ids)}" for k, v in sorted(value.items())]
                return "{" + ", ".join(members) + "}"
            return "[" + ", ".join(_write(item, open_ids) for item in value) + "]"
        finally:
            open_ids.discard(id(value))
    return _write(str(value), open_ids)


def _float(value):
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key):
    if isinstance(key, str):
        return quote(key)
    if key is True or key is False or key is None:
        return quote({True: "true", False: "false", None: "null"}[key])
    if isinstance(key, int):
        return quote(int.__repr__(key))
    if isinstance(key, float):
        return quote(_float(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def quote(text):
    """A JSON string in ASCII: printable ASCII as is, everything else escaped."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for char in text:
        if char in WRITE_ESCAPES:
            out.append(WRITE_ESCAPES[char])
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            high, low = divmod(ord(char) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    return '"' + "".join(out) + '"'
