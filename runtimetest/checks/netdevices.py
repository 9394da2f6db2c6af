"""linux.netDevices (config-linux.md "Network Devices")."""
