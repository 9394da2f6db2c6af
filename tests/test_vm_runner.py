"""The VM runner's own pieces (tests/vm/vm.py), without booting anything."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "vm"))
import vm  # noqa: E402


def fake_modules(tmp_path, monkeypatch, lines):
    monkeypatch.setattr(vm, "KERNEL_DIR", str(tmp_path))
    directory = tmp_path / "lib" / "modules" / "6.1.0-test"
    directory.mkdir(parents=True)
    (directory / "modules.dep").write_text("\n".join(lines) + "\n")


def test_modules_load_after_what_they_depend_on_and_once(tmp_path, monkeypatch):
    fake_modules(tmp_path, monkeypatch, [
        "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko",
        "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio_ring.ko",
        "kernel/net/9p/9pnet.ko:",
        "kernel/fs/netfs/netfs.ko:",
        "kernel/drivers/virtio/virtio_ring.ko:",
    ])
    order = vm.load_order("6.1.0-test", ["9pnet_virtio", "9p"])
    assert sorted(order) == sorted(set(order)) and len(order) == 5
    assert order.index("kernel/net/9p/9pnet.ko") < order.index("kernel/net/9p/9pnet_virtio.ko")
    assert order.index("kernel/fs/netfs/netfs.ko") < order.index("kernel/fs/9p/9p.ko")


def test_a_module_the_kernel_lacks_is_named(tmp_path, monkeypatch):
    fake_modules(tmp_path, monkeypatch, ["kernel/net/9p/9pnet.ko:"])
    with pytest.raises(vm.VMError, match="no module overlay"):
        vm.load_order("6.1.0-test", ["overlay"])


def test_the_guest_script_runs_the_command_where_asked_and_keeps_its_status(tmp_path):
    script = vm.command_script(["sh", "-c", "echo \"$GREETING\" from $(pwd); exit 3"], str(tmp_path),
                               [("GREETING", "it's me")], str(tmp_path))
    run = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert run.stdout == f"it's me from {tmp_path}\n"
    assert (tmp_path / "status").read_text() == "3\n"
