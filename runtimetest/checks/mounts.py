"""mounts and the default filesystems, devices and links (config.md "Mounts", config-linux.md "Default Filesystems")."""
