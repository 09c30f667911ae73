"""The pieces the fault suite (bench/faults.py) breaks things with: a private
redis-server it can shut down without saving and start again on the same port (the
broker outage), and a TCP proxy in front of the Kustomer sandbox that can refuse
connections and cut open ones (Kustomer unreachable)."""
from __future__ import annotations

import select
import shutil
import socket
import subprocess
import threading

from bench import stack as stk

class PrivateRedis:
    """A redis-server of the suite's own on a free port: restarting it harms nobody."""

    def __init__(self) -> None:
        self.port = stk.free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = stk.LOG_DIR / "faults-redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], capture_output=True, timeout=300)
            binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        stk.LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--dir", str(stk.LOG_DIR)],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        log_file.close()
        stk.wait_until(self._answers, timeout=20, what="the private redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Gone without saving: whatever the broker held is lost."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class TcpProxy:
    """127.0.0.1:port → upstream. `down()` refuses new connections and cuts open ones
    (Kustomer unreachable); `up()` listens again on the same port."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = stk.free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    continue
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(a)
                self._conns.discard(b)
            for s in sockets:
                try:
                    s.close()
                except OSError:
                    pass


