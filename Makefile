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
#   make bench                        start-up cost of the checker vs a static no-op and
#                                     a frozen hello world, with a breakdown
#   make fuzz [N=20000] [SEED=S] [FUZZ_JOBS=2]
#                                     the checker judges N hostile specs in runc
#                                     containers (default seed: a new one each time)
#   make static                       build/runtimetest, the static checker
#   make wheel                        dist/runtimetest-*.whl: the driver with the static
#                                     checker and spec-fixtures/ inside (see setup.py), so
#                                     `pip install` it and `runtimetest suite` runs anywhere
#   make peer-runtime-tools RUNTIME_TOOLS=DIR [PEER_CHECKER=FILE] [RUNTIME=runc] [PEER_ARGS=...]
#                                     runtime-tools' validation programs with their
#                                     runtimetest and with ours, side by side
#                                     (tests/peer/runtime_tools.py; needs Go 1.23)

RUNTIME ?= runc
JOBS ?=
CONFORMANCE_ARGS ?=
PYTHON_FOR_VENV ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHECKER := build/runtimetest
HELLO := build/runtimetest-hello

# Debian packages: the runtimes under test; busybox for the start-up floor and
# the cases that need a shell; iproute2, util-linux and procps, with which the
# tests prepare the host (veth devices, namespaces, unshare, taskset, pgrep);
# qemu, cpio and kmod, with which tests/vm/ makes the pure cgroup v2 host;
# and what building the static checker needs (build/build-packages.txt, shared
# with Dockerfile.static: Debian's own Python, see build/freeze.sh); podman, with
# catatonit (its --init) and uidmap (rootless), the real client whose configs
# tests/containers/test_clients_podman.py runs; chromium, the headless browser in which
# tests/test_driver_matrix.py reads and screenshots the `runtimetest report` page.
VM_PACKAGES := qemu-system-x86 cpio kmod
APT_PACKAGES := runc crun runsc busybox-static iproute2 util-linux procps \
	podman catatonit uidmap chromium $(VM_PACKAGES) \
	$(shell cat build/build-packages.txt)
CHECKER_SOURCES := $(wildcard runtimetest/*.py runtimetest/core/*.py runtimetest/linux/*.py runtimetest/checker/*.py \
	runtimetest/checker/checks/*.py runtimetest/checker/checks/*/*.py) \
	build/static_main.c build/syscall_module.c build/collect.py build/freeze.sh build/requirements.txt

N ?= 20000
SEED ?= $(shell date +%s)
FUZZ_JOBS ?= 2

.PHONY: all deps venv static wheel conformance conformance-cgroup2 test bench fuzz peer-runtime-tools clean distclean

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
# Debian's interpreter (PYTHON_FOR_VENV): the static checker links its libpython.
$(VENV)/.stamp: .deps.stamp pyproject.toml build/requirements.txt
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir -r build/requirements.txt
	$(PY) -m pip install --quiet --no-cache-dir --no-deps -e .
	@touch $@

static: $(CHECKER)
$(CHECKER): $(VENV)/.stamp $(CHECKER_SOURCES)
	build/freeze.sh $(PY) $(CHECKER)

# pip builds the wheel (setup.py bundles the checker and the cases) in a temporary
# directory, never in build/; the check after it refuses a wheel without the checker.
wheel: $(CHECKER)
	rm -f dist/runtimetest-*.whl
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@$(PY) -c 'import glob, sys, zipfile; w = glob.glob("dist/runtimetest-*.whl"); \
		names = zipfile.ZipFile(w[0]).namelist() if len(w) == 1 else []; \
		ok = "runtimetest/bundled/runtimetest" in names and any(n.startswith("runtimetest/bundled/spec-fixtures/") for n in names); \
		sys.exit(0 if ok else "make wheel: no single wheel with the checker and the cases in dist/")'
	@ls dist/runtimetest-*.whl

conformance: $(CHECKER)
	$(VENV)/bin/runtimetest suite --runtime $(RUNTIME) $(if $(JOBS),-j $(JOBS)) $(CONFORMANCE_ARGS) spec-fixtures

# spec-fixtures/ and spec-fixtures/host-cgroup2-pure/ in the guest, as one run.
conformance-cgroup2: $(CHECKER) .deps.stamp
	$(PY) tests/vm/vm.py -- tests/vm/conformance.sh --runtime $(RUNTIME) $(if $(JOBS),-j $(JOBS)) \
		$(CONFORMANCE_ARGS)

test: $(CHECKER)
	$(PY) -m pytest -q

# The bench's second floor: hello world frozen by the same recipe.
$(HELLO): $(VENV)/.stamp runtimetest/checker/hello.py build/static_main.c build/syscall_module.c build/collect.py build/freeze.sh
	build/freeze.sh $(PY) $(HELLO) runtimetest.checker.hello

bench: $(CHECKER) $(HELLO)
	$(VENV)/bin/runtimetest bench --runtime $(RUNTIME)

# A checkout of github.com/opencontainers/runtime-tools (not part of this project).
RUNTIME_TOOLS ?=
PEER_CHECKER ?= $(CHECKER)
PEER_ARGS ?=
peer-runtime-tools: $(if $(filter $(CHECKER),$(PEER_CHECKER)),$(CHECKER))
	python3 tests/peer/runtime_tools.py --runtime-tools "$(RUNTIME_TOOLS)" --checker "$(PEER_CHECKER)" \
		--runtime $(RUNTIME) $(PEER_ARGS)

fuzz: $(CHECKER)
	$(PY) tests/fuzz_checker.py -n $(N) --seed $(SEED) -j $(FUZZ_JOBS)

clean:
	rm -f $(CHECKER) $(HELLO)
	rm -rf build/__pycache__ .pytest_cache

distclean: clean
	rm -rf $(VENV) .deps.stamp *.egg-info dist
