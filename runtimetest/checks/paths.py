"""linux.maskedPaths and linux.readonlyPaths (config-linux.md)."""
