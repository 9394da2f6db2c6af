"""Hello world, frozen by the checker's own recipe (build/freeze.sh): the floor of
this stack, a static interpreter that starts and prints, in `runtimetest bench`."""

import sys


def entry():
    sys.stdout.write("hello\n")
