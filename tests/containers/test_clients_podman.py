"""Configs a real client generates: podman 4.3 makes them, runc and crun run them, rootful and rootless.

For each shape (a podman command line) `podman create` and `podman init` write the
config.json the runtime gets; the checker is told exactly that file. It reads it
at /spec.json, a bind mount (itself in the config) of a file this test fills once
`podman init` has written the config, before `podman start`. The image holds
nothing but the checker and an empty /tmp for it to unpack in; no registry is
reachable, so it is made with `podman import`. Standalone: no host facts are
added (only, for crun, the note that it manages no cgroups here).

Empty stderr is expected, except a real runtime fault recorded in KNOWN_FAULTS
with its upstream reference. Everything podman makes lives in a private
directory (its storage, run root, configuration, the rootless user's home) and
is removed with the user this test makes, even when a test fails.

crun 1.8.1 refuses this host's hybrid cgroups: as the driver's crun adapter
does, it runs through a wrapper with a cgroup2 of its own on /sys/fs/cgroup and
--cgroup-manager=disabled (its cgroup limits are then not applied, and the
checker is told so). crun also chowns the file it gets as stdin into the
container's user namespace (containers/crun#1845, #1847): podman would hand it
the host's /dev/null, so every container here is interactive, with a pipe.
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import requires_root, runtimetest

PODMAN = shutil.which("podman")
pytestmark = [requires_root, pytest.mark.skipif(PODMAN is None, reason="podman is not installed")]

USER = "rtt-podman"
IMAGE = "localhost/runtimetest-checker:clients"
RUNTIMES = ("runc", "crun")
MODES = ("rootful", "rootless")
CGROUPS_OFF = ("not applied: crun refuses hybrid cgroups, so it runs here with --cgroup-manager=disabled "
               "through a wrapper: cgroup limits are not applied")

# name -> podman create flags (rootless containers always get --network=none: /dev/net/tun is 0600 here).
SHAPES = {
    "default": [],
    "read-only": ["--read-only"],
    "user": ["--user", "1000:1000"],
    "cap-drop-all": ["--cap-drop=all"],
    "cap-add": ["--cap-add=sys_admin", "--cap-add=net_admin"],
    "seccomp-default": ["--security-opt", "seccomp=/usr/share/containers/seccomp.json"],
    "seccomp-unconfined": ["--security-opt", "seccomp=unconfined"],
    "limits": ["--memory", "256m", "--pids-limit", "100", "--cpus", "1.5"],
    "network-none": ["--network=none"],
    "uidmap": {"rootful": ["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
               "rootless": ["--uidmap", "0:1:65536", "--gidmap", "0:1:65536"]},
    "userns-auto": ["--userns=auto"],
    "privileged": ["--privileged"],
    "init": ["--init"],
    "misc": ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=32768:32768", "--sysctl",
             "net.ipv4.ip_forward=1", "--hostname", "client-shape", "--tmpfs", "/scratch:size=10m,mode=1777"],
    "personality": ["--personality", "LINUX32"],
}

# (shape, runtime) -> (the line it prints, why): real faults of the runtimes, not of the checker.
KNOWN_FAULTS = {
    ("personality", "runc"): (
        r'linux\.personality: linux\.personality\.domain: expected "LINUX32", found "LINUX" .*',
        "runc 1.1.5 ignores linux.personality; support came with opencontainers/runc#4082 (runc 1.2)"),
}

CRUN_WRAPPER = """#!/bin/sh
# crun refuses hybrid cgroups: run it with a cgroup2 of its own on /sys/fs/cgroup, managing none.
# In a user namespace (rootless) mounting one needs a cgroup namespace owned by it.
if grep -q ' 0 *4294967295$' /proc/self/uid_map; then own=; else own=--cgroup; fi
exec unshare --mount --propagation private $own -- /bin/sh -c \\
    'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec crun --cgroup-manager=disabled "$@"' crun "$@"
"""


def containers_conf(work, name, writable):
    path = os.path.join(work, f"containers-{name}.conf")
    with open(path, "w") as handle:
        handle.write('[containers]\n'
                     'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                     f'init_path = "{shutil.which("catatonit") or "/usr/libexec/podman/catatonit"}"\n'
                     '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                     f'events_logfile_path = "{writable}/events.log"\n')
    return path


def storage_conf(work, name, graphroot, runroot):
    path = os.path.join(work, f"storage-{name}.conf")
    with open(path, "w") as handle:
        handle.write(f'[storage]\ndriver = "vfs"\ngraphroot = "{graphroot}"\nrunroot = "{runroot}"\n'
                     f'[storage.options]\nroot-auto-userns-user = "{USER}"\n')
    return path


class Client:
    """podman as root, or as the test's user; `check` runs one shape and returns the container's streams."""

    def __init__(self, mode, work, uid=None):
        self.mode, self.work, self.uid = mode, work, uid
        home = os.path.join(work, "home")
        runroot = os.path.join(work, f"run-{mode}")
        os.makedirs(runroot, mode=0o700, exist_ok=True)
        graphroot = os.path.join(home if uid else work, f"storage-{mode}")
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home if uid else "/root",
                    "CONTAINERS_CONF": containers_conf(work, mode, runroot),
                    "CONTAINERS_STORAGE_CONF": storage_conf(work, mode, graphroot, runroot)}
        self.prefix = [PODMAN, "--tmpdir", os.path.join(runroot, "libpod")]
        if uid:
            self.env["XDG_RUNTIME_DIR"] = runroot
            os.chown(runroot, uid, uid)
            self.prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--init-groups"] + self.prefix

    def podman(self, *args, check=True, **kwargs):
        # In our directory: conmon leaves files (an "oom" marker) in the directory it starts in.
        done = subprocess.run(self.prefix + list(args), env=self.env, capture_output=True, timeout=120,
                              cwd=self.work, **kwargs)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: exit {done.returncode}: "
                                 f"{done.stderr.decode(errors='replace')}")
        return done

    def own(self, path):
        if self.uid:
            os.chown(path, self.uid, self.uid)

    def check(self, shape, runtime, annotate=False):
        name = f"rtt-{shape}-{runtime}-{self.mode}{'-annotated' if annotate else ''}"
        spec = os.path.join(self.work, f"{name}.json")
        with open(spec, "w"):
            pass
        self.own(spec)
        flags = SHAPES[shape]
        flags = flags[self.mode] if isinstance(flags, dict) else flags
        if self.mode == "rootless" and "--network=none" not in flags:
            flags = ["--network=none"] + flags
        runtime_path = os.path.join(self.work, "crun-hybrid") if runtime == "crun" else "runc"
        try:
            self.podman("--runtime", runtime_path, "create", "-i", "--name", name,
                        "-v", f"{spec}:/spec.json:ro", *flags, IMAGE)
            self.podman("init", name)
            config_path = self.podman("inspect", "--format", "{{.OCIConfigPath}}", name).stdout.decode().strip()
            if annotate:  # the host facts another harness adds with `runtimetest annotate`
                told = json.loads(runtimetest("annotate", config_path, check=True).stdout)
            else:
                with open(config_path) as handle:
                    told = json.load(handle)
            if runtime == "crun":
                told.setdefault("annotations", {})["org.runtimetest.cgroup-limits"] = CGROUPS_OFF
            with open(spec, "w") as handle:  # the same inode: the bind mount shows it
                json.dump(told, handle)
            done = self.podman("start", "-a", "-i", name, input=b"", check=False)
            return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
        finally:
            self.podman("rm", "-f", "-t", "0", name, check=False)


def make_image(client, checker, work):
    rootfs = tempfile.mkdtemp(dir=work)
    os.chmod(rootfs, 0o755)
    shutil.copy(checker, os.path.join(rootfs, "runtimetest"))
    os.mkdir(os.path.join(rootfs, "tmp"))
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    tarball = os.path.join(work, f"rootfs-{client.mode}.tar")
    subprocess.run(["tar", "-C", rootfs, "-cf", tarball, "."], check=True)
    client.own(tarball)
    client.podman("import", "--change", 'CMD=["/runtimetest"]', tarball, IMAGE)


@contextlib.contextmanager
def client_user(work):
    """A user of our own, with subordinate ids (useradd gives them), removed with everything it ran."""
    home = os.path.join(work, "home")
    subprocess.run(["userdel", "-r", USER], capture_output=True)  # a leftover of a killed run
    subprocess.run(["useradd", "--home-dir", home, "--create-home", "--shell", "/bin/sh", USER],
                   check=True, capture_output=True)
    uid = int(subprocess.run(["id", "-u", USER], check=True, capture_output=True, text=True).stdout)
    with open("/etc/subuid") as handle:
        if not re.search(rf"^{USER}:", handle.read(), re.M):
            pytest.fail(f"useradd gave {USER} no subordinate uids (/etc/subuid)")
    try:
        yield uid
    finally:
        end_processes_of(uid)
        subprocess.run(["userdel", "-r", USER], capture_output=True)
        for path in ("/etc/subuid", "/etc/subgid"):
            with open(path) as handle:
                kept = [line for line in handle if not line.startswith(f"{USER}:")]
            with open(path, "w") as handle:
                handle.writelines(kept)


def end_processes_of(uid):
    """The rootless pause process and any conmon left: ours alone, by pid."""
    for _ in range(20):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and owner(p) == uid]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        time.sleep(0.1)


def owner(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


@pytest.fixture(scope="module")
def clients(checker_binary):
    checker_binary = os.environ.get("RUNTIMETEST_CHECKER", checker_binary)
    work = tempfile.mkdtemp(prefix="rtt-podman-", dir="/tmp")
    os.chmod(work, 0o755)
    with open(os.path.join(work, "crun-hybrid"), "w") as handle:
        handle.write(CRUN_WRAPPER)
    os.chmod(os.path.join(work, "crun-hybrid"), 0o755)
    made = {}
    try:
        with client_user(work) as uid:
            made["rootful"] = Client("rootful", work)
            made["rootless"] = Client("rootless", work, uid)
            for client in made.values():
                make_image(client, checker_binary, work)
            yield made
            for client in made.values():
                client.podman("rm", "-af", "-t", "0", check=False)
                client.podman("rmi", "-af", check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def host_dev_null_untouched():
    """A runtime that chowns its stdin must never reach the host's /dev/null (crun#1845)."""
    before = os.stat("/dev/null")
    yield
    after = os.stat("/dev/null")
    if (after.st_uid, after.st_gid) != (before.st_uid, before.st_gid):
        os.chown("/dev/null", before.st_uid, before.st_gid)
        pytest.fail(f"the host's /dev/null was chowned to {after.st_uid}:{after.st_gid} (restored)")


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_podman_config_passes_as_given(clients, host_dev_null_untouched, shape, mode, runtime):
    status, stdout, stderr = clients[mode].check(shape, runtime)
    assert status == 0 and stdout.startswith("TAP version 13"), (status, stdout[-2000:], stderr)
    lines = stderr.splitlines()
    known = KNOWN_FAULTS.get((shape, runtime))
    if known:
        pattern, why = known
        assert len(lines) == 1 and re.fullmatch(pattern, lines[0]), f"{why}; stderr: {stderr}"
    else:
        assert stderr == "", stderr
    # Standalone, what the process sees decides: the pid namespace always, the cgroup
    # namespace where the runtime made the container's cgroup, the memory limit by its evidence.
    decided = ["linux.namespaces.pid"]
    if runtime == "runc" and mode == "rootful":
        decided.append("linux.namespaces.cgroup")
        if shape == "limits":
            decided.append("linux.resources.memory.limit.enforced")
    for check_id in decided:
        verdict = tap_line(stdout, check_id)
        assert verdict.startswith("ok ") and "# SKIP" not in verdict, verdict


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_podman_config_with_host_facts_passes(clients, host_dev_null_untouched, shape, runtime):
    """Rootful podman runs the runtime in this process's namespaces: `runtimetest annotate` here gives its facts."""
    status, stdout, stderr = clients["rootful"].check(shape, runtime, annotate=True)
    assert status == 0 and stdout.startswith("TAP version 13"), (status, stdout[-2000:], stderr)
    known = KNOWN_FAULTS.get((shape, runtime))
    lines = [line for line in stderr.splitlines() if not (known and re.fullmatch(known[0], line))]
    assert lines == [], stderr
    # With the facts, what the process cannot see is decided too.
    for kind in ("uts", "ipc", "network", "user"):
        verdict = tap_line(stdout, f"linux.namespaces.{kind}")
        assert verdict.startswith("ok ") and "# SKIP" not in verdict, verdict


def tap_line(stdout, check_id):
    found = [line for line in stdout.splitlines() if re.match(rf"(not )?ok \d+ - {re.escape(check_id)}( |$)", line)]
    assert len(found) == 1, f"{check_id} not in TAP: {stdout[-1500:]}"
    return found[0]
