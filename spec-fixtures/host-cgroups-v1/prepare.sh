#!/bin/sh
# Run a command where the cgroup v1 controllers these cases need are mounted.
#
#   prepare.sh run COMMAND...
#
# In a private mount namespace, /sys/fs/cgroup becomes a fresh tmpfs holding
# the host's own cgroup mounts again, plus v1 hierarchies for hugetlb and
# net_cls,net_prio when the host has not mounted them. Nobody outside sees
# those mounts; the cgroups created in them are removed after COMMAND, so the
# hierarchies go away with the namespace.
set -eu
[ "${1:-}" = run ] && [ $# -gt 1 ] || { echo "usage: $0 run COMMAND..." >&2; exit 2; }
shift
exec unshare --mount --propagation private sh -eu -c '
    keep=$(mktemp -d /tmp/rtt-cgroups-v1.XXXXXX)
    mount --rbind /sys/fs/cgroup "$keep"
    mount -t tmpfs -o mode=755 rtt-cgroups /sys/fs/cgroup
    for mounted in "$keep"/*; do
        name=${mounted##*/}
        mkdir "/sys/fs/cgroup/$name"
        mount --bind "$mounted" "/sys/fs/cgroup/$name"
    done
    added=
    for controllers in hugetlb net_cls,net_prio; do
        first=${controllers%%,*}
        if grep -Eq " - cgroup [^ ]+ ([^ ]*,)?$first(,[^ ]*)?\$" /proc/self/mountinfo; then
            continue  # the host mounts it already (bound again above)
        fi
        # Mounting also reaches a hierarchy an earlier run left behind unmounted.
        mkdir "/sys/fs/cgroup/$controllers"
        mount -t cgroup -o "$controllers" rtt-cgroup "/sys/fs/cgroup/$controllers"
        added="$added $controllers"
    done
    status=0
    "$@" || status=$?
    for controllers in $added; do
        # The driver puts every container under /runtimetest: once that is
        # gone the hierarchy has no cgroup left and dies when unmounted.
        for _ in $(seq 50); do
            rmdir "/sys/fs/cgroup/$controllers/runtimetest" 2>/dev/null || true
            [ -d "/sys/fs/cgroup/$controllers/runtimetest" ] || break
            sleep 0.1
        done
        # A hierarchy dies at unmount only if no cgroup, not even a dying one,
        # is left under its root: wait for the kernel to let them go.
        for _ in $(seq 100); do
            awk -v c="${controllers%%,*}" '\''$1 == c && $3 == 1 { found = 1 } END { exit !found }'\'' /proc/cgroups && break
            sleep 0.1
        done
        umount "/sys/fs/cgroup/$controllers"
    done
    umount -l "$keep"
    rmdir "$keep"
    exit $status
' sh "$@"
