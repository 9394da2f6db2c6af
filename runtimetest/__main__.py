from runtimetest.cli import entry

entry()
