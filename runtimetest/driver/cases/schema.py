"""Checking JSON documents against a schema, with errors that name the field.

Case configs are checked against config-schema.json (the types the
runtime-spec gives each field), so that a mistyped case is an error naming its
file and field before any runtime sees it.
"""

import json
import os

CONFIG_SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "config-schema.json")
_validators = {}


def _validator(schema_key, schema):
    import jsonschema

    if schema_key not in _validators:
        _validators[schema_key] = jsonschema.Draft7Validator(schema)
    return _validators[schema_key]


def field_name(path):
    """A jsonschema error path as a spec field: process.rlimits[0].soft."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def first_error(data, schema, schema_key=None):
    """"field: message" for the first (by field) way data breaks the schema, or None."""
    validator = _validator(schema_key or id(schema), schema)
    errors = sorted(validator.iter_errors(data), key=lambda error: [str(p) for p in error.path])
    if not errors:
        return None
    error = errors[0]
    return f"{field_name(error.path) or 'the document'}: {error.message}"


def config_error(config):
    """The first field of a config that does not have the runtime-spec's type, or None."""
    if "config" not in _validators:
        with open(CONFIG_SCHEMA_PATH) as handle:
            _validator("config", json.load(handle))
    return first_error(config, None, "config")
