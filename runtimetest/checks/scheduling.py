"""process.scheduler, process.ioPriority and linux.personality."""
