"""linux.uidMappings, gidMappings and timeOffsets (config-linux.md)."""
