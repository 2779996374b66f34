"""A real ``redis-server`` on a free loopback port, persistence off, for tests and benchmarks.

``.ci/run`` installs Debian's ``redis-server`` when it is missing, so a missing binary fails
the tests (it is not a reason to skip them).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

from tests.loopback import free_port

#: Seconds to wait for the server to accept connections.
START_TIMEOUT = 10.0


class RedisServer:
    """One ``redis-server`` process; :meth:`stop` and :meth:`start` keep the port, so clients
    see an outage and a recovery at the same address.

    Raises:
        RuntimeError: from :meth:`start` when the binary is missing or the server won't start.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._dir = tempfile.mkdtemp(prefix="advisor-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed; `apt-get install redis-server` (.ci/run does)"
            )
        self._proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            if self._proc.stderr is not None:
                self._proc.stderr.close()
            self._proc = None

    def flush(self) -> None:
        """Empty every database (between tests sharing one server)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"FLUSHALL\r\n")
            assert s.recv(16).startswith(b"+OK")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
