"""The spec file the checker was given: it must be readable JSON describing an object."""

from runtimetest.core.registry import MUST, check


@check("spec.file", MUST, "config.md#configuration")
def spec_file_is_usable(spec, result):
    """The spec file (/spec.json, or as given) is a readable JSON object."""
    if spec.load_problem:
        result.problem(spec.load_problem)
