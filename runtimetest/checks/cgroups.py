"""linux.cgroupsPath and linux.resources (config-linux.md "Control groups")."""
