#!/bin/sh
# Namespaces for the cases in this directory to join by path, at /run/rtt-ns/<ns>.
#
#   prepare.sh up     create them (pid and user are held by a sleeping process)
#   prepare.sh down   remove them and end those processes
#
# Run `up` before every run of these cases: a runtime that joins the mount
# namespace sets up the container's root inside it, so it serves one run.
set -eu
dir=/run/rtt-ns

down() {
    for ns in net ipc uts cgroup mnt pid user; do
        umount "$dir/$ns" 2>/dev/null || true
    done
    for holder in "$dir"/*.holder; do
        [ -f "$holder" ] || continue
        # SIGKILL: a pid namespace's init ignores other signals from outside it.
        kill -KILL $(cat "$holder") 2>/dev/null || true
    done
    rm -rf "$dir"
}

hold() {  # hold NS UNSHARE-FLAGS...: a sleeping process in a new NS, bound at $dir/NS
    ns=$1; shift
    unshare "$@" sleep 3600 &
    target=$!
    echo "$target" > "$dir/$ns.holder"
    if [ "$1" = --fork ]; then  # the new pid namespace is sleep's, unshare's child
        child=
        for _ in $(seq 50); do
            child=$(pgrep -P "$target" -x sleep || true)
            [ -n "$child" ] && break
            sleep 0.1
        done
        [ -n "$child" ] || { echo "prepare.sh: no sleep under $target" >&2; exit 1; }
        target=$child
        echo "$target" >> "$dir/$ns.holder"
    fi
    for _ in $(seq 50); do
        [ "$(readlink "/proc/$target/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] && break
        sleep 0.1
    done
    if [ "$ns" = user ]; then
        echo "0 0 65536" > "/proc/$target/uid_map"
        echo "0 0 65536" > "/proc/$target/gid_map"
    fi
    touch "$dir/$ns"
    mount --bind "/proc/$target/ns/$ns" "$dir/$ns"
}

up() {
    down
    mkdir -p "$dir"
    for ns in net ipc uts cgroup mnt; do touch "$dir/$ns"; done
    unshare --net="$dir/net" --ipc="$dir/ipc" --uts="$dir/uts" --cgroup="$dir/cgroup" --mount="$dir/mnt" true
    hold pid --fork --pid
    hold user --user
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
