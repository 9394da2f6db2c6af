#!/bin/sh
# Host network devices for the cases in this directory to move into containers.
#
#   prepare.sh up     create rtt-nd0, rtt-nd1, rtt-nd2 (veth, each with its peer
#                     rtt-ndNp), each with 198.51.100.7N/24 and 2001:db8::7N/64
#   prepare.sh down   delete whichever of them is left
#
# A device moved into a container goes away with the container's network
# namespace (a veth takes its peer with it): run `up` before every run.
set -eu

down() {
    for n in 0 1 2; do
        ip link del "rtt-nd$n" 2>/dev/null || ip link del "rtt-nd${n}p" 2>/dev/null || true
    done
}

up() {
    down
    for n in 0 1 2; do
        ip link add "rtt-nd$n" type veth peer name "rtt-nd${n}p"
        ip addr add "198.51.100.7$n/24" dev "rtt-nd$n"
        ip addr add "2001:db8::7$n/64" dev "rtt-nd$n" nodad
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
