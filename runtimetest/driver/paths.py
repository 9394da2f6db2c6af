"""Where the driver finds the checker and the cases by default.

Run from a checkout (the package's parent directory holds pyproject.toml and
spec-fixtures/), the checkout's own files win: build/runtimetest and
spec-fixtures/. Installed from the wheel (`make wheel`), the package carries
copies of both under runtimetest/bundled/ (see setup.py).
"""

import os

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_DIR = os.path.join(PACKAGE_DIR, "bundled")
CHECKOUT_ROOT = os.path.dirname(PACKAGE_DIR)


def in_checkout(root=CHECKOUT_ROOT):
    return (os.path.isfile(os.path.join(root, "pyproject.toml"))
            and os.path.isdir(os.path.join(root, "spec-fixtures")))


def project_root():
    """The checkout when run from one, else the installed package's bundled copies."""
    return CHECKOUT_ROOT if in_checkout() else BUNDLED_DIR


def default_checker():
    if in_checkout():
        return os.path.join(CHECKOUT_ROOT, "build", "runtimetest")
    return os.path.join(BUNDLED_DIR, "runtimetest")


def default_cases():
    return os.path.join(project_root(), "spec-fixtures")
