"""Host facts the checker cannot see from inside, passed as spec annotations.

The driver adds them to the spec the checker reads (never to the runtime's
config) under the `org.runtimetest.` prefix. A spec without them still checks
everything else.
"""

PREFIX = "org.runtimetest."


def annotate(spec, config, bundle_path):
    """The spec with host facts added as annotations (a new dict).

    `config` is what the runtime gets; `bundle_path` its bundle directory (for
    paths in the config that are relative to the bundle).
    """
    annotated = dict(spec)
    annotations = dict(annotated.get("annotations") or {})
    annotated["annotations"] = annotations
    return annotated
