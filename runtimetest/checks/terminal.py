"""process.terminal and process.consoleSize (config.md "Process")."""
