"""linux.rootfsPropagation (config-linux.md "Rootfs Mount Propagation")."""
