#!/bin/sh
# The guest's second stage, PID 1 on the host's own filesystem (overlaid): a
# pure cgroup v2 host. Mounts what a runtime needs, enables every controller at
# the cgroup2 root, loads the modules cases need (from the guest kernel's own
# package), runs the host's command and leaves its exit status in the run
# directory, then powers off. Output goes to the serial console, between
# markers the host looks for.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PYTHONUNBUFFERED=1  # its output goes through a pipe: show each line as it comes
export PATH PYTHONUNBUFFERED

arg() { sed -n "s/.*\brtt\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

mount -t proc proc /proc
project=$(arg project)
run="$project/$(arg run)"
kernel=$(uname -r)

mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
# The checkout may live under /tmp or /run (a fresh clone from mktemp -d): keep
# it in sight across the tmpfs mounted there.
mkdir -p /.rtt-project
mount --bind "$project" /.rtt-project
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
if [ ! -d "$run" ]; then
    mkdir -p "$project"
    mount --bind /.rtt-project "$project"
fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control
done

# The host's /lib/modules is its own kernel's: show the guest kernel's instead.
mkdir -p "/lib/modules/$kernel"
mount --bind "$project/build/vm/kernel/lib/modules/$kernel" "/lib/modules/$kernel"
modprobe -a loop veth ifb bfq 2>&1 | sed 's/^/rtt-vm: /'
hostname rtt-cgroup2
ip link set lo up

stty -onlcr -F /dev/console 2>/dev/null  # no \r the host would have to strip
echo "@@rtt-begin@@"
# Through a pipe: the command sees a log, not a terminal (no progress bars).
/bin/sh "$run/command" </dev/null 2>&1 | cat
echo "@@rtt-end $(cat "$run/status" 2>/dev/null)@@"
sync
echo o > /proc/sysrq-trigger  # power off now; qemu exits
sleep 10
