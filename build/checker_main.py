# Entry point of the frozen in-container checker.
from runtimetest.checker import entry

entry()
