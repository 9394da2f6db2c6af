"""A tolerant, typed view of an OCI runtime spec (config.json).

Checks read the spec through `Spec`: a getter returns the value when it has the
type the runtime-spec gives that field, None when the field is absent, and raises
`SpecFieldError` (naming the field, the type it should have and what it holds)
when it is present with the wrong type. The checker turns that error into one
failure line for the check that read the field, so a broken spec never stops the
other checks.
"""

from runtimetest.core import jsontext

from runtimetest.core.bounded import read_bounded

__all__ = ["Spec", "SpecFieldError", "load", "show"]

_TYPE_NAMES = {
    "int": "an integer",
    "str": "a string",
    "bool": "a boolean",
    "list": "an array",
    "dict": "an object",
}


def show(value):
    """Render a value for a one-line message: JSON, with control bytes escaped."""
    try:
        return jsontext.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


class SpecFieldError(Exception):
    """A spec field is present but does not have the type the runtime-spec gives it."""

    def __init__(self, field, expected_type, value):
        self.field = field
        self.expected_type = expected_type
        self.value = value
        super().__init__(
            f"{field}: spec field should be {_TYPE_NAMES.get(expected_type, expected_type)}, "
            f"found {show(value)}"
        )


def major_minor(version):
    """(major, minor) of a runtime-spec version text ("1.1.0-rc.1" -> (1, 1)); None when it is not one."""
    if not isinstance(version, str):
        return None
    parts = version.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def _has_type(value, kind):
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    raise ValueError(f"unknown spec type {kind!r}")


class Spec:
    """A view of one JSON object of the spec, addressed by dotted field paths.

    `Spec(data)` views the whole document; `spec.items("process.rlimits")` yields
    views of the objects of an array, each knowing its own path
    ("process.rlimits[1]") so that errors name the exact field.
    """

    def __init__(self, data, path=""):
        self.data = data if isinstance(data, dict) else {}
        self.path = path
        self.load_problem = None  # set by load() when the file was unusable

    def field(self, name):
        """The full dotted name of a field below this view."""
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name):
        """The value at a dotted path, or None when any part of the path is absent.

        A path that runs through something that is not an object raises
        SpecFieldError for the part that should have been one.
        """
        node = self.data
        walked = self.path
        for part in name.split("."):
            if not isinstance(node, dict):
                raise SpecFieldError(walked, "dict", node)
            if part not in node:
                return None
            node = node[part]
            walked = f"{walked}.{part}" if walked else part
        return node

    def has(self, name):
        """True when the field is present (whatever its type)."""
        try:
            return self.raw(name) is not None
        except SpecFieldError:
            return True

    def _typed(self, name, kind, default):
        value = self.raw(name)
        if value is None:
            return default
        if not _has_type(value, kind):
            raise SpecFieldError(self.field(name), kind, value)
        return value

    def int(self, name, default=None):
        return self._typed(name, "int", default)

    def str(self, name, default=None):
        return self._typed(name, "str", default)

    def bool(self, name, default=None):
        return self._typed(name, "bool", default)

    def list(self, name, default=None):
        return self._typed(name, "list", default)

    def dict(self, name, default=None):
        return self._typed(name, "dict", default)

    def strings(self, name, default=None):
        """An array of strings; any element that is not a string is an error."""
        values = self.list(name)
        if values is None:
            return default
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise SpecFieldError(f"{self.field(name)}[{index}]", "str", value)
        return values

    def ints(self, name, default=None):
        """An array of integers; any element that is not an integer is an error."""
        values = self.list(name)
        if values is None:
            return default
        for index, value in enumerate(values):
            if not _has_type(value, "int"):
                raise SpecFieldError(f"{self.field(name)}[{index}]", "int", value)
        return values

    def items(self, name):
        """Views of the objects in an array field (empty when absent)."""
        values = self.list(name, [])
        for index, value in enumerate(values):
            path = f"{self.field(name)}[{index}]"
            if not isinstance(value, dict):
                raise SpecFieldError(path, "dict", value)
            yield Spec(value, path)

    def annotation(self, key, default=None):
        """A string annotation (the driver passes host facts as org.runtimetest.*)."""
        annotations = self.dict("annotations", {})
        value = annotations.get(key, default)
        if value is not default and not isinstance(value, str):
            raise SpecFieldError(f"annotations[{key}]", "str", value)
        return value


# A spec is a few KiB; the bounds only stop a device, a FIFO or a runaway file.
SPEC_LIMIT = 64 << 20
SPEC_TIMEOUT = 10.0


def _problem_spec(problem):
    spec = Spec({})
    spec.load_problem = problem
    return spec


def load(path):
    """Read a spec file into a Spec.

    Whatever is wrong with the file, a Spec is returned (empty when unusable, with
    the reason in `load_problem`) so that checks that need no spec fields still run.
    """
    try:
        text = read_bounded(path, SPEC_LIMIT, SPEC_TIMEOUT)
    except OSError as error:
        return _problem_spec(f"cannot read {path}: {error.strerror or error}")
    try:
        data = jsontext.loads(text)  # nesting is bounded there: a ValueError, never a RecursionError
    except ValueError as error:
        return _problem_spec(f"{path} is not JSON: {error}")
    except MemoryError:
        return _problem_spec(f"{path} is too large to be read in this container's memory")
    if not isinstance(data, dict):
        return _problem_spec(f"{path} should hold a JSON object, found {type(data).__name__}")
    return Spec(data)
