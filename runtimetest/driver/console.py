"""The console of a container with process.terminal true (`--console-socket`).

The runtime allocates the pseudoterminal and sends its master to a unix socket
the driver listens on, as a file descriptor passed with SCM_RIGHTS (the message
text is the terminal's name). From then on the master is the container's only
stdio: the driver types the case's stdin into it and reads everything the
container writes, stdout and stderr as one stream, until the last process
holding the slave has closed it.
"""

import errno
import os
import select
import socket
import threading

POLL = 0.2


class Console:
    def __init__(self, directory, stdin=b""):
        self.path = os.path.join(directory, "console.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(POLL)
        self.pending = bytes(stdin or b"")
        self.output = bytearray()
        self.name = None  # the terminal's name, as the runtime sent it
        self.master = None
        self.error = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="console", daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            master = self._receive()
            if master is not None:
                self.master = master
                self._pump(master)
        except OSError as error:
            self.error = f"console socket: {error.strerror or error}"

    def _receive(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            with connection:
                connection.settimeout(5)
                message, fds, _, _ = socket.recv_fds(connection, 4096, 1)
            if not fds:
                self.error = "the runtime connected to the console socket but sent no file descriptor"
                return None
            self.name = message.decode("utf-8", "replace")
            return fds[0]
        return None

    def _pump(self, master):
        """Type the stdin into the terminal and read it dry until the slave is gone."""
        os.set_blocking(master, False)
        while True:
            writers = [master] if self.pending else []
            readable, writable, _ = select.select([master], writers, [], POLL)
            if writable:
                written = os.write(master, self.pending[:1024])
                self.pending = self.pending[written:]
            if readable:
                try:
                    data = os.read(master, 65536)
                except OSError as error:
                    if error.errno == errno.EAGAIN:
                        continue
                    if error.errno == errno.EIO:
                        return  # every holder of the slave has closed it
                    raise
                if not data:
                    return
                with self._lock:
                    self.output += data
            elif self._stop.is_set():
                return

    def received(self):
        return self.master is not None

    def text(self):
        with self._lock:
            return bytes(self.output)

    def finish(self, timeout=5.0):
        """Wait for the terminal to drain (the container has exited), then stop."""
        self._thread.join(timeout)
        self.close()
        return self.text()

    def close(self):
        self._stop.set()
        self._thread.join(2 * POLL + 1)
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def split_streams(data, is_failure_line):
    """(stdout, stderr) of a terminal's one stream: failure lines apart from the rest.

    The terminal turns each LF the container writes into CR LF (ONLCR); it is
    turned back first. Lines `is_failure_line` accepts are stderr, every other
    line (and a last line without LF) is stdout, in the order they came.
    """
    text = data.replace(b"\r\n", b"\n")
    out, err = bytearray(), bytearray()
    for line in text.splitlines(keepends=True):
        body = line.rstrip(b"\n").decode("utf-8", "surrogateescape")
        (err if line.endswith(b"\n") and is_failure_line(body) else out).extend(line)
    return bytes(out), bytes(err)
