"""runtimetest: prove, from inside a container, that an OCI runtime applied its config."""

__version__ = "0.1.0"
