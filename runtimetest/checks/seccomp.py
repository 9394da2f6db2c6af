"""linux.seccomp (config-linux.md "Seccomp")."""
