"""--console-socket: the pty master arrives over a unix socket (SCM_RIGHTS); the
case's stdin is typed into it; the one stream is split back into stdout and
failure lines."""

import os
import socket
import time

from runtimetest.driver.compare import is_failure_line
from runtimetest.driver.console import Console, split_streams


def send_master(path, master, name=b"/dev/pts/99"):
    """What a runtime does with --console-socket (runc's utils.SendFd)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(path)
        socket.send_fds(client, [name], [master])


def test_the_master_arrives_and_the_terminal_is_read_dry(tmp_path):
    console = Console(str(tmp_path), stdin=b"typed\n")
    master, slave = os.openpty()
    try:
        send_master(console.path, master)
        os.close(master)  # the runtime's copy; the console holds its own
        deadline = time.monotonic() + 10
        while not console.received() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert console.name == "/dev/pts/99"
        assert os.read(slave, 100) == b"typed\n"  # the stdin reached the container's side
        os.write(slave, b"TAP version 13\nspec.file: cannot read /spec.json [MUST config.md#configuration]\n")
    finally:
        os.close(slave)  # the container is gone: the master reads EIO
    text = console.finish(timeout=10)
    assert text.startswith(b"typed\r\n")  # the terminal echoed it, turning LF into CR LF
    assert b"TAP version 13\r\n" in text
    assert not os.path.exists(console.path)


def test_a_runtime_that_never_connects_leaves_nothing_open(tmp_path):
    console = Console(str(tmp_path))
    assert console.finish(timeout=0.3) == b"" and not console.received()
    assert not os.path.exists(console.path)


def test_failure_lines_are_told_apart_from_tap_by_their_format():
    stream = (b"TAP version 13\r\n1..2\r\nok 1 - spec.file\r\n"
              b"hostname: hostname: expected \"a\", found \"b\" [MUST config.md#hostname]\r\n"
              b"not ok 2 - hostname\r\n  ---\r\n  failures:\r\n"
              b"    - \"hostname: expected \\\"a\\\" [MUST x]\"\r\n  ...\r\nno newline")
    out, err = split_streams(stream, is_failure_line)
    assert err == b"hostname: hostname: expected \"a\", found \"b\" [MUST config.md#hostname]\n"
    assert out.startswith(b"TAP version 13\n1..2\nok 1 - spec.file\nnot ok 2 - hostname\n")
    assert out.endswith(b"  ...\nno newline") and b"\r" not in out
