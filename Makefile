# runtimetest: every target installs what it needs (Debian packages, a venv,
# the static checker) and is safe to run again.
#
#   make conformance [RUNTIME=runc|crun|runsc|PATH] [JOBS=N] [CONFORMANCE_ARGS="--junit FILE ..."]
#                                     run spec-fixtures/ against a runtime; fails
#                                     when the runtime fails a case
#   make conformance-cgroup2 [RUNTIME=runc|crun] [JOBS=N] [CONFORMANCE_ARGS=...]
#                                     the same, on a pure cgroup v2 host: a qemu VM
#                                     booting Debian's kernel (tests/vm/)
#   make test                         the project's tests (unit + real containers)
#   make bench                        start-up cost of the checker vs a static no-op
#   make static                       build/runtimetest, the static checker

RUNTIME ?= runc
JOBS ?=
CONFORMANCE_ARGS ?=
PYTHON_FOR_VENV ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHECKER := build/runtimetest

# Debian packages: the runtimes under test; busybox for the start-up floor and
# the cases that need a shell; iproute2, util-linux and procps, with which the
# tests prepare the host (veth devices, namespaces, unshare, taskset, pgrep);
# qemu, cpio and kmod, with which tests/vm/ makes the pure cgroup v2 host;
# and what building the static checker needs (build/build-packages.txt, shared
# with Dockerfile.static: Debian's own Python, see build/freeze.sh).
VM_PACKAGES := qemu-system-x86 cpio kmod
APT_PACKAGES := runc crun runsc busybox-static iproute2 util-linux procps \
	$(VM_PACKAGES) \
	$(shell cat build/build-packages.txt)
CHECKER_SOURCES := $(wildcard runtimetest/*.py runtimetest/checks/*.py) \
	build/runtimetest.spec build/checker_main.py build/freeze.sh

.PHONY: all deps venv static conformance conformance-cgroup2 test bench clean distclean

all: static

deps: .deps.stamp
.deps.stamp: Makefile build/build-packages.txt
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to install: $$missing" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
		|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	fi
	@touch $@

venv: $(VENV)/.stamp
# --no-cache-dir: python-prctl must be compiled by this interpreter, not taken
# from a wheel another Python built (its RUNPATH would break staticx).
$(VENV)/.stamp: .deps.stamp pyproject.toml build/requirements.txt
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir -r build/requirements.txt
	$(PY) -m pip install --quiet --no-cache-dir --no-deps -e .
	@touch $@

static: $(CHECKER)
$(CHECKER): $(VENV)/.stamp $(CHECKER_SOURCES)
	build/freeze.sh $(PY) $(CHECKER)

conformance: $(CHECKER)
	$(VENV)/bin/runtimetest suite --runtime $(RUNTIME) $(if $(JOBS),-j $(JOBS)) $(CONFORMANCE_ARGS) spec-fixtures

# spec-fixtures/ and spec-fixtures/host-cgroup2-pure/ in the guest, as one run.
conformance-cgroup2: $(CHECKER) .deps.stamp
	$(PY) tests/vm/vm.py -- tests/vm/conformance.sh --runtime $(RUNTIME) $(if $(JOBS),-j $(JOBS)) \
		$(CONFORMANCE_ARGS)

test: $(CHECKER)
	$(PY) -m pytest -q

bench: $(CHECKER)
	$(VENV)/bin/runtimetest bench --runtime $(RUNTIME)

clean:
	rm -f $(CHECKER)
	rm -rf build/__pycache__ .pytest_cache

distclean: clean
	rm -rf $(VENV) .deps.stamp *.egg-info
