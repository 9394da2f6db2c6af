"""The `runtimetest` command on the host: driver sub-commands, else the checker.

The frozen in-container binary is built from runtimetest.checker.main alone, so the
driver is never part of its import graph.
"""

import sys

DRIVER_COMMANDS = ("suite", "clean", "bench", "annotate", "checker-path", "report", "merge")


def entry():
    argv = sys.argv[1:]
    if argv and argv[0] in DRIVER_COMMANDS:
        from runtimetest.driver.cli import main as driver_main

        sys.exit(driver_main(argv))
    from runtimetest.checker.main import entry as checker_entry

    checker_entry()
