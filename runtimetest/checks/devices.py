"""linux.devices and the device allow-list linux.resources.devices (config-linux.md "Devices")."""
