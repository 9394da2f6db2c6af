"""Write the archive the static checker imports from: ENTRY's modules, compiled.

    python collect.py ENTRY_MODULE ARCHIVE

Run by the interpreter whose libpython is linked into the binary, so that the
byte code matches it. Every pure-Python module ENTRY can import (imports inside
functions included) goes in; modules only the host side uses stay out.
Extension modules cannot be loaded by a static binary: those the interpreter
has built in work, and the rest are listed (each is an optional import of the
standard library, e.g. _json, for which it has a pure-Python fallback).
"""

import importlib.util
import marshal
import modulefinder
import os
import sys
import zipfile

# The project's own sources first (this file lives in its build/ directory).
SEARCH_PATH = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *sys.path[1:]]

# Never in the checker: the host side, and what only it imports.
EXCLUDED = ["runtimetest.driver", "runtimetest.cli", "jsonschema", "ctypes", "tkinter", "unittest",
            "pydoc", "doctest", "pdb", "ssl", "email", "http", "urllib", "xml", "xmlrpc", "asyncio",
            "concurrent", "multiprocessing", "sqlite3", "lzma", "bz2", "decimal", "inspect", "logging"]
# What the interpreter imports while it starts, before ENTRY runs.
STARTUP = ["encodings", "encodings.aliases", "encodings.utf_8", "encodings.latin_1", "encodings.ascii"]
# Extension modules build/static_main.c builds into the interpreter.
BUILT_IN = {"_prctl", "_runtimetest_syscall"}
# A fixed time for every member: the same sources give the same archive.
STAMP = (2020, 1, 1, 0, 0, 0)


def find_modules(entry):
    finder = modulefinder.ModuleFinder(path=SEARCH_PATH, excludes=EXCLUDED)
    for name in [*STARTUP, entry]:
        finder.import_hook(name)
    return finder.modules


def compiled(name, module):
    """A .pyc image of a module, checked by nothing (the archive is built with its interpreter)."""
    with open(module.__file__, "rb") as handle:
        source = handle.read()
    filename = name.replace(".", "/") + ("/__init__.py" if module.__path__ else ".py")
    code = compile(source, filename, "exec", dont_inherit=True)
    return filename + "c", importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)


def main(entry, archive):
    modules = find_modules(entry)
    missing = []
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for name in sorted(modules):
            module = modules[name]
            path = module.__file__
            if path is None:
                if name not in sys.builtin_module_names and name not in BUILT_IN:
                    missing.append(name)
                continue
            if not path.endswith(".py"):
                if name not in BUILT_IN:
                    missing.append(name)
                continue
            member, image = compiled(name, module)
            out.writestr(zipfile.ZipInfo(member, STAMP), image)
    print(f"{archive}: {len(modules) - len(missing)} modules; not in the binary: {', '.join(sorted(missing))}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: collect.py ENTRY_MODULE ARCHIVE")
    main(sys.argv[1], sys.argv[2])
