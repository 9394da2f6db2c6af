#!/bin/sh
# Run a command where /sys/fs/cgroup is cgroup v2 (whatever the host's layout).
#
#   prepare.sh run COMMAND...
#
# A cgroup of the host's cgroup2 hierarchy, rtt-cgroup2-<pid>, is bound at
# /sys/fs/cgroup in a private mount namespace, so a runtime started there
# manages cgroups as on a pure v2 host, below that cgroup. Only controllers the
# host has enabled for it are available (on a hybrid host: none). It is
# removed after COMMAND.
set -eu
[ "${1:-}" = run ] && [ $# -gt 1 ] || { echo "usage: $0 run COMMAND..." >&2; exit 2; }
shift
exec unshare --mount --propagation private sh -eu -c '
    for base in /sys/fs/cgroup /sys/fs/cgroup/unified ""; do
        [ -n "$base" ] && [ "$(stat -f -c %T "$base" 2>/dev/null)" = cgroup2fs ] && break
    done
    if [ -z "$base" ]; then  # no cgroup2 mount on the host: make one, privately
        base=$(mktemp -d /tmp/rtt-cgroup2.XXXXXX)
        mount -t cgroup2 rtt-cgroup2 "$base"
    fi
    own="$base/rtt-cgroup2-$$"
    mkdir "$own"
    mount --bind "$own" /sys/fs/cgroup
    status=0
    "$@" || status=$?
    umount /sys/fs/cgroup
    for _ in $(seq 50); do  # the containers cgroups may still be going away
        rmdir "$own/runtimetest" 2>/dev/null || true
        rmdir "$own" 2>/dev/null && break
        sleep 0.1
    done
    exit $status
' sh "$@"
