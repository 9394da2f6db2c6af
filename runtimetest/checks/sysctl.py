"""linux.sysctl (config-linux.md "Sysctl")."""
