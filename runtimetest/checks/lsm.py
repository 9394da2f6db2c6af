"""process.apparmorProfile, process.selinuxLabel and linux.mountLabel."""
