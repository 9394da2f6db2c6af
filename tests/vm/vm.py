"""A pure cgroup v2 host in a qemu VM, made from Debian's packages alone.

    python3 tests/vm/vm.py [--timeout S] [--cpus N] [--memory MiB] [--env NAME=VALUE] -- COMMAND...

boots Debian's 6.1 kernel (package linux-image-amd64) with `cgroup_no_v1=all`,
runs COMMAND in the current directory there, as root, and exits with its exit
status. The guest's root is this machine's own / (shared read-only over 9p,
under a tmpfs overlay); the checkout is shared writable at its own path, so
reports written under it come back. The guest has a virtio disk (254:0), the
loop, veth, ifb and bfq modules, and 16 huge pages of 2 MiB.

COMMAND's output comes back over the serial console. KVM is used when a guest
really starts under it (probed once per host boot), else TCG; either way the
choice is printed. Every step is bounded in time and qemu never outlives this
program.
"""

import argparse
import ctypes
import glob
import gzip
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
VM_DIR = os.path.join(ROOT, "build", "vm")
CACHE = os.path.join(VM_DIR, "cache")
KERNEL_DIR = os.path.join(VM_DIR, "kernel")
KERNEL_PACKAGE = "linux-image-amd64"
# What the initramfs loads to reach its root (their dependencies come along).
BOOT_MODULES = ["virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "overlay"]
BUSYBOX = "/bin/busybox"  # Debian's busybox-static
DISK_MIB = 64
HUGE_PAGES = 16
PROBE_SECONDS = 20
BEGIN, END = "@@rtt-begin@@", re.compile(r"@@rtt-end (\d*)@@")
PROBE_OK = "@@rtt-probe-ok@@"


class VMError(Exception):
    """The VM could not be made or did not run the command."""


def say(message):
    sys.stderr.write(f"rtt-vm: {message}\n")
    sys.stderr.flush()


def run_bounded(argv, timeout, **kwargs):
    """Run a host command to completion within `timeout` seconds; VMError names it when it fails."""
    try:
        return subprocess.run(argv, check=True, timeout=timeout, capture_output=True, text=True, **kwargs)
    except subprocess.TimeoutExpired:
        raise VMError(f"`{' '.join(argv)}` did not finish in {timeout}s") from None
    except subprocess.CalledProcessError as error:
        raise VMError(f"`{' '.join(argv)}` failed: {(error.stderr or error.stdout).strip()[-500:]}") from None
    except FileNotFoundError:
        raise VMError(f"{argv[0]} is not installed (make deps installs it)") from None


# -- the kernel ------------------------------------------------------------------------

def kernel():
    """(vmlinuz path, release) of Debian's kernel, downloaded and unpacked into build/vm once."""
    found = sorted(glob.glob(os.path.join(KERNEL_DIR, "boot", "vmlinuz-*")))
    if not found:
        unpack_kernel(download_kernel())
        found = sorted(glob.glob(os.path.join(KERNEL_DIR, "boot", "vmlinuz-*")))
        if not found:
            raise VMError(f"no vmlinuz in the {KERNEL_PACKAGE} package's kernel")
    vmlinuz = found[-1]
    return vmlinuz, os.path.basename(vmlinuz)[len("vmlinuz-"):]


def download_kernel():
    """The .deb of the kernel image linux-image-amd64 depends on (apt-get download)."""
    os.makedirs(CACHE, exist_ok=True)
    say(f"downloading {KERNEL_PACKAGE} into {os.path.relpath(CACHE, ROOT)}")
    meta = deb_in_cache(KERNEL_PACKAGE) or fetch_deb(KERNEL_PACKAGE)
    depends = run_bounded(["dpkg-deb", "-f", meta, "Depends"], 30).stdout
    image = re.match(r"\s*(linux-image-[^\s,(]+)", depends)
    if not image:
        raise VMError(f"{KERNEL_PACKAGE} depends on no kernel image: {depends.strip()!r}")
    return deb_in_cache(image.group(1)) or fetch_deb(image.group(1))


def deb_in_cache(package):
    found = sorted(glob.glob(os.path.join(CACHE, f"{package}_*.deb")))
    return found[-1] if found else None


def fetch_deb(package):
    run_bounded(["apt-get", "download", package], 600, cwd=CACHE)
    found = deb_in_cache(package)
    if not found:
        raise VMError(f"apt-get download {package} left no .deb in {CACHE}")
    return found


def unpack_kernel(deb):
    partial = KERNEL_DIR + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    run_bounded(["dpkg-deb", "-x", deb, partial], 300)
    release = os.path.basename(glob.glob(os.path.join(partial, "boot", "vmlinuz-*"))[0])[len("vmlinuz-"):]
    # The package ships no modules.dep (its postinst makes one): make it here.
    run_bounded(["depmod", "-b", partial, release], 120)
    shutil.rmtree(KERNEL_DIR, ignore_errors=True)
    os.rename(partial, KERNEL_DIR)


def modules_dir(release):
    return os.path.join(KERNEL_DIR, "lib", "modules", release)


def load_order(release, wanted):
    """The module files (relative to the modules dir) to insmod for `wanted`, dependencies first."""
    depends = {}
    with open(os.path.join(modules_dir(release), "modules.dep")) as handle:
        for line in handle:
            path, _, deps = line.partition(":")
            depends[path] = deps.split()
    by_name = {os.path.basename(p).split(".ko")[0].replace("-", "_"): p for p in depends}
    order = []

    def visit(path):
        if path not in order:
            for dep in reversed(depends[path]):
                visit(dep)
            order.append(path)

    for name in wanted:
        if name not in by_name:
            raise VMError(f"the guest kernel {release} has no module {name}")
        visit(by_name[name])
    return order


# -- the initramfs ---------------------------------------------------------------------

def initramfs(release):
    """build/vm/initramfs-RELEASE.cpio.gz: busybox, init, the boot modules; rebuilt when init changes."""
    target = os.path.join(VM_DIR, f"initramfs-{release}.cpio.gz")
    init = os.path.join(HERE, "init")
    if os.path.exists(target) and os.path.getmtime(target) >= max(os.path.getmtime(init), os.path.getmtime(__file__)):
        return target
    if not os.path.exists(BUSYBOX):
        raise VMError(f"{BUSYBOX} is missing: the busybox-static package provides it")
    with tempfile.TemporaryDirectory(dir=VM_DIR) as tree:
        for directory in ("bin", "modules", "proc", "sys", "dev", "newroot"):
            os.makedirs(os.path.join(tree, directory))
        shutil.copy2(BUSYBOX, os.path.join(tree, "bin", "busybox"))
        os.symlink("busybox", os.path.join(tree, "bin", "sh"))
        shutil.copy2(init, os.path.join(tree, "init"))
        os.chmod(os.path.join(tree, "init"), 0o755)
        names = []
        for path in load_order(release, BOOT_MODULES):
            shutil.copy2(os.path.join(modules_dir(release), path), os.path.join(tree, "modules"))
            names.append(os.path.basename(path))
        with open(os.path.join(tree, "modules.list"), "w") as handle:
            handle.write("\n".join(names) + "\n")
        files = run_bounded(["find", ".", "-print0"], 30, cwd=tree).stdout
        archive = subprocess.run(["cpio", "--null", "-o", "-H", "newc", "--quiet"], input=files.encode(),
                                 cwd=tree, capture_output=True, timeout=60, check=True).stdout
    with gzip.open(target + ".partial", "wb") as handle:
        handle.write(archive)
    os.replace(target + ".partial", target)
    return target


def disk():
    """A sparse raw image the guest sees as its virtio disk (vda), for block I/O limits."""
    path = os.path.join(VM_DIR, "disk.img")
    if not os.path.exists(path):
        with open(path, "wb") as handle:
            handle.truncate(DISK_MIB << 20)
    return path


# -- qemu ------------------------------------------------------------------------------

def qemu_argv(accel, vmlinuz, initrd, append, cpus, memory):
    argv = ["qemu-system-x86_64", "-accel", accel, "-cpu", "host" if accel == "kvm" else "max",
            "-smp", str(cpus), "-m", str(memory), "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", "stdio", "-monitor", "none", "-nic", "none",
            "-kernel", vmlinuz, "-initrd", initrd, "-append", append,
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={ROOT},mount_tag=project,security_model=passthrough,multidevs=remap",
            "-drive", f"file={disk()},if=virtio,format=raw,readonly=on"]
    return argv


def kernel_args(run_dir, probe=False):
    args = ["console=ttyS0", "quiet", "loglevel=1", "panic=-1", "cgroup_no_v1=all",
            f"hugepages={HUGE_PAGES}", f"rtt.project={ROOT}", f"rtt.run={os.path.relpath(run_dir, ROOT)}"]
    return " ".join(args + (["rtt.probe=1"] if probe else []))


def die_with_parent():
    """In qemu's child before exec: SIGKILL it when this program dies, whatever kills it."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Qemu:
    """One qemu process, its serial console read line by line, always killed on close."""

    def __init__(self, argv):
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.pending = b""

    def lines(self, deadline):
        """Console lines until qemu closes its output or `deadline` (time.monotonic) passes."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise VMError("timeout")
            if not self.selector.select(min(remaining, 1.0)):
                continue
            data = os.read(self.process.stdout.fileno(), 65536)
            if not data:
                if self.pending:
                    yield self.pending.decode("utf-8", "replace")
                return
            self.pending += data
            *complete, self.pending = self.pending.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", "replace").rstrip("\r")

    def close(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.selector.close()
        self.process.stdout.close()


def kvm_usable():
    """Whether a guest really starts under KVM here; probed once per host boot (build/vm/kvm-probe)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "no usable /dev/kvm"
    with open("/proc/sys/kernel/random/boot_id") as handle:
        boot = handle.read().strip()
    cache = os.path.join(VM_DIR, "kvm-probe")
    try:
        with open(cache) as handle:
            cached_boot, verdict, *why = handle.read().split(" ", 2)
        if cached_boot == boot:
            return verdict == "yes", (why[0].strip() if why else "")
    except (OSError, ValueError):
        pass
    works, why = probe_kvm()
    with open(cache, "w") as handle:
        handle.write(f"{boot} {'yes' if works else 'no'} {why}\n")
    return works, why


def probe_kvm():
    vmlinuz, release = kernel()
    qemu = Qemu(qemu_argv("kvm", vmlinuz, initramfs(release), kernel_args(VM_DIR, probe=True), 1, 256))
    said = []
    try:
        for line in qemu.lines(time.monotonic() + PROBE_SECONDS):
            if PROBE_OK in line:
                return True, "a KVM guest started"
            said.append(line.strip())
        last = next((line for line in reversed(said) if line), "no message")
        return False, f"qemu -accel kvm failed: {last[:200]}"
    except VMError:
        return False, f"a KVM guest did not start in {PROBE_SECONDS}s"
    finally:
        qemu.close()


def choose_accel():
    forced = os.environ.get("RTT_VM_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced, "RTT_VM_ACCEL"
    works, why = kvm_usable()
    return ("kvm" if works else "tcg"), why


# -- running a command -------------------------------------------------------------------

def command_script(argv, cwd, env, run_dir):
    """The guest's script: COMMAND in `cwd`, its exit status left in the run directory."""
    lines = [f"cd {shlex.quote(cwd)} || {{ echo 125 > {shlex.quote(run_dir)}/status; exit; }}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env]
    lines.append(" ".join(shlex.quote(a) for a in argv))
    lines.append(f"echo $? > {shlex.quote(run_dir)}/status")
    return "\n".join(lines) + "\n"


def run(argv, cwd=None, env=(), timeout=3600, cpus=2, memory=2048, out=sys.stdout):
    """Run `argv` in a fresh guest; its output goes to `out`; returns its exit status."""
    cwd = os.path.abspath(cwd or os.getcwd())
    if cwd != ROOT and not cwd.startswith(ROOT + os.sep):
        say(f"note: {cwd} is outside the checkout; only files written under {ROOT} come back")
    vmlinuz, release = kernel()
    initrd = initramfs(release)
    accel, why = choose_accel()
    os.makedirs(os.path.join(VM_DIR, "runs"), exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=os.path.join(VM_DIR, "runs"))
    try:
        with open(os.path.join(run_dir, "command"), "w") as handle:
            handle.write(command_script(argv, cwd, [("RTT_VM_ACCEL", accel), *env], run_dir))
        say(f"booting Debian {release} (cgroup_no_v1=all) under {accel.upper()}"
            f"{f' ({why})' if why else ''}, {cpus} vCPUs, {memory} MiB")
        return boot_and_run(qemu_argv(accel, vmlinuz, initrd, kernel_args(run_dir), cpus, memory),
                            run_dir, timeout, out)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def boot_and_run(argv, run_dir, timeout, out):
    started = time.monotonic()
    qemu = Qemu(argv)
    boot_log, running, ended = [], False, None
    try:
        for line in qemu.lines(started + timeout):
            if not running:
                boot_log.append(line)
                if BEGIN in line:
                    running = True
                    say(f"guest up in {time.monotonic() - started:.1f}s")
                continue
            if ended is not None:
                continue  # the guest powering off
            match = END.search(line)
            if match:
                ended = int(match.group(1) or -1)
                continue
            out.write(line + "\n")
            out.flush()
    except VMError:
        say(f"timed out after {timeout}s: qemu killed")
        return 124
    finally:
        qemu.close()
    say(f"guest down after {time.monotonic() - started:.1f}s")
    status = read_status(run_dir)
    if status is None:
        tail = "\n".join(boot_log[-30:])
        raise VMError(f"the guest never ran the command{' to its end' if running else ''}:\n{tail}")
    if ended is not None and ended != status:
        say(f"note: the console said exit {ended}, the status file {status}")
    return status


def read_status(run_dir):
    try:
        with open(os.path.join(run_dir, "status")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def main(args):
    parser = argparse.ArgumentParser(prog="tests/vm/vm.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before qemu is killed")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--memory", type=int, default=2048, help="guest memory in MiB")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("command", nargs="+")
    options = parser.parse_args(args)
    env = [tuple(item.split("=", 1)) for item in options.env if "=" in item]
    # SIGTERM ends this program like Ctrl-C does: through the finally clauses that kill qemu.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(options.command, env=env, timeout=options.timeout, cpus=options.cpus, memory=options.memory)
    except VMError as error:
        say(str(error))
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
