"""linux.namespaces (config-linux.md "Namespaces")."""
