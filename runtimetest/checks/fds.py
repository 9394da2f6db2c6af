"""file descriptors the process holds (runtime-linux.md "File descriptors")."""
