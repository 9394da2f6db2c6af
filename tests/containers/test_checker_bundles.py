"""The checker binary in bundles it did not prepare, with real runc.

Each bundle starts from `runc spec` (runc's own default config: read-only root,
no /tmp) and holds nothing but the binary and its spec, as other harnesses
make them. Wherever the runtime did its job the checker must give a complete
TAP stream and empty stderr; where it truly cannot start, one failure line and
a TAP bail-out.
"""

import json
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import requires_root

pytestmark = requires_root


class Bundle:
    def __init__(self, directory, checker):
        self.path = str(directory)
        self.rootfs = os.path.join(self.path, "rootfs")
        os.makedirs(self.rootfs)
        subprocess.run(["runc", "spec", "--bundle", self.path], check=True)
        with open(os.path.join(self.path, "config.json")) as handle:
            self.config = json.load(handle)
        self.config["process"]["terminal"] = False
        self.config["process"]["args"] = ["/runtimetest"]
        shutil.copy(checker, os.path.join(self.rootfs, "runtimetest"))
        os.chmod(os.path.join(self.rootfs, "runtimetest"), 0o755)

    def mount(self, destination, kind, options, source=None):
        self.config["mounts"].append({"destination": destination, "type": kind,
                                      "source": source or kind, "options": options})

    def run(self, spec_name="spec.json"):
        """Run it with `runc run`; (exit status, stdout, stderr)."""
        with open(os.path.join(self.path, "config.json"), "w") as handle:
            json.dump(self.config, handle)
        with open(os.path.join(self.rootfs, spec_name), "w") as handle:
            json.dump(self.config, handle)
        cid = f"rtt-bundle-{uuid.uuid4().hex[:12]}"
        try:
            run = subprocess.run(["runc", "run", "--bundle", self.path, cid], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=120)
        finally:
            subprocess.run(["runc", "delete", "--force", cid], capture_output=True)
        return run.returncode, run.stdout, run.stderr


def assert_complete_and_clean(status, stdout, stderr):
    assert stderr == "", stderr
    assert status == 0
    lines = stdout.splitlines()
    assert lines[0] == "TAP version 13" and lines[1].startswith("1..")
    planned = int(lines[1][3:])
    verdicts = [line for line in lines if line.startswith(("ok ", "not ok "))]
    assert len(verdicts) == planned >= 30
    assert not [line for line in verdicts if line.startswith("not ok")]


@pytest.fixture
def bundle(tmp_path, checker_binary):
    return Bundle(tmp_path / "bundle", checker_binary)


def test_runc_spec_defaults_read_only_root_and_no_tmp(bundle):
    assert bundle.config["root"]["readonly"] is True
    assert not [m for m in bundle.config["mounts"] if m["destination"] == "/tmp"]
    assert_complete_and_clean(*bundle.run())


def test_runtime_tools_convention_config_json_and_path_flag(bundle):
    """runtime-tools' validation programs: the config at /config.json, read with --path=/."""
    bundle.config["root"]["readonly"] = False
    bundle.config["process"]["args"] = ["/runtimetest", "--path=/"]
    status, stdout, stderr = bundle.run(spec_name="config.json")
    assert_complete_and_clean(status, stdout, stderr)
    assert "tmp" not in os.listdir(bundle.rootfs)


def test_noexec_tmp_and_tmpdir_pointing_at_it(bundle):
    bundle.mount("/tmp", "tmpfs", ["nosuid", "nodev", "noexec", "mode=1777"])
    bundle.config["process"]["env"].append("TMPDIR=/tmp")
    assert_complete_and_clean(*bundle.run())


def test_non_root_user_with_nothing_writable(bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert_complete_and_clean(*bundle.run())


@pytest.mark.parametrize("memory_mib, pids", [(16, 8), (12, 1), (64, 3)])
def test_tight_sandbox(bundle, memory_mib, pids):
    """Probes that fork or allocate must not take the checker down, nor fail for it."""
    bundle.config["linux"]["resources"] = {"memory": {"limit": memory_mib * 2**20}, "pids": {"limit": pids}}
    bundle.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["syslog"], "action": "SCMP_ACT_ERRNO"}]}
    bundle.config["linux"]["cgroupsPath"] = f"/runtimetest/bundle-tight-{uuid.uuid4().hex[:8]}"
    assert_complete_and_clean(*bundle.run())


def test_nothing_is_written_anywhere(bundle, tmp_path):
    """A writable /tmp stays empty: the binary unpacks nothing."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o1777)
    os.chmod(scratch, 0o1777)
    bundle.mount("/tmp", "bind", ["rbind", "rw"], source=str(scratch))
    assert_complete_and_clean(*bundle.run())
    assert os.listdir(scratch) == []


def test_where_it_cannot_start_it_says_so_in_its_own_format(bundle):
    """A binary the process may run but not read (mode 0711, a non-root uid): the interpreter
    cannot import from it. One failure line and a bail-out, not a usage error."""
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    os.chmod(os.path.join(bundle.rootfs, "runtimetest"), 0o711)
    status, stdout, stderr = bundle.run()
    assert status not in (0, 2)
    [line] = stderr.splitlines()
    assert line.startswith("checker.start: process.args[0]: expected the checker's binary readable")
    assert line.endswith("[MUST README.md#using-it-in-your-own-harness]")
    assert stdout.splitlines()[-1].startswith("Bail out! ")
