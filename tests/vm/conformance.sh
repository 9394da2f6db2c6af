#!/bin/sh
# Run in the guest (a pure cgroup v2 host): spec-fixtures/ and
# spec-fixtures/host-cgroup2-pure/ (what needs real v2 controllers) as one case
# tree, so one run prints one summary; the departures are spec-fixtures'. The
# pure v2 set goes in as an area of its own (cgroup2-pure/: a host-*/ directory
# would be left out). The files are copied: the driver follows no symlink out of
# a case directory.
#
#   tests/vm/conformance.sh SUITE-OPTIONS...    (as for `runtimetest suite`)
set -eu
checkout=$(cd "$(dirname "$0")/../.." && pwd)
cases=$(mktemp -d /tmp/rtt-cases.XXXXXX)
for entry in "$checkout"/spec-fixtures/*; do
    case "${entry##*/}" in host-*) ;; *) cp -R "$entry" "$cases/" ;; esac
done
mkdir "$cases/cgroup2-pure"
for file in "$checkout"/spec-fixtures/host-cgroup2-pure/*; do
    if [ -f "$file" ]; then cp "$file" "$cases/cgroup2-pure/"; fi
done
# Under TCG the guest runs many times slower than the host: its time bounds
# (each runtime command, each case, the checker's probes) scale with it.
case "${RTT_VM_ACCEL:-tcg}" in kvm) scale=1 ;; *) scale=4 ;; esac
exec "$checkout/.venv/bin/runtimetest" suite --time-scale "$scale" "$@" "$cases"
