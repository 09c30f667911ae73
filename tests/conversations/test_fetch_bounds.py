"""Issue 14 finding 2: a slow or dripping file server cannot hold a fetch past its
deadline or under its minimum rate, and one tenant's fetches cannot take every worker.

The file servers are real sockets on loopback (port 0), so the fetch runs through
requests, urllib3 and the socket exactly as in production."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from conversations import fetch
from conversations.fetch import FetchBusy, FetchError, FetchPolicy, fetch_file


class FileServer:
    """Answers every request with a 200 and `length` bytes, sent `step` bytes every
    `pause` seconds (pause=0: all at once; step=0: headers and then nothing)."""

    def __init__(self, *, length: int = 1000, step: int = 1, pause: float = 0.0) -> None:
        self.length, self.step, self.pause = length, step, pause
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/recording.mp3"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: {self.length}\r\n"
                             "Connection: close\r\n\r\n".encode())
                if not self.pause:
                    conn.sendall(b"x" * self.length)
                    return
                sent = 0
                while sent < self.length and not self.stop.is_set():
                    if self.step:
                        conn.sendall(b"x" * self.step)
                        sent += self.step
                    time.sleep(self.pause)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def servers():
    made: list[FileServer] = []

    def make(**kwargs) -> FileServer:
        made.append(FileServer(**kwargs))
        return made[-1]

    yield make
    for server in made:
        server.close()


LOOPBACK = dict(allow_private=True)


def _timed(callable_):
    started = time.monotonic()
    try:
        callable_()
    except FetchError as exc:
        return exc, time.monotonic() - started
    raise AssertionError("the fetch was not stopped")


def test_a_one_byte_drip_is_cut_at_the_total_deadline(servers):
    # The probe's server: one byte every few seconds keeps every single read alive.
    drip = servers(length=10_000, step=1, pause=0.2)
    policy = FetchPolicy(**LOOPBACK, timeout=20, deadline=1.5, min_bytes_per_second=0)
    exc, took = _timed(lambda: fetch_file(drip.url, policy=policy))
    assert exc.retryable and "longer than" in str(exc)
    assert 1.4 < took < 3.0


def test_a_server_that_goes_silent_is_cut_at_the_deadline_not_the_read_timeout(servers):
    silent = servers(length=1000, step=0, pause=0.1)
    policy = FetchPolicy(**LOOPBACK, timeout=20, deadline=1.0, min_bytes_per_second=0)
    exc, took = _timed(lambda: fetch_file(silent.url, policy=policy))
    assert exc.retryable
    assert took < 2.5


def test_a_transfer_under_the_minimum_rate_is_stopped(servers, monkeypatch):
    monkeypatch.setattr(fetch, "RATE_GRACE_SECONDS", 0.5)
    slow = servers(length=100_000, step=10, pause=0.05)  # ~200 bytes/s
    policy = FetchPolicy(**LOOPBACK, deadline=30, min_bytes_per_second=10_000)
    exc, took = _timed(lambda: fetch_file(slow.url, policy=policy))
    assert exc.retryable and "slower than" in str(exc)
    assert took < 2.5


def test_a_fast_server_still_delivers_the_whole_file(servers):
    fast = servers(length=300_000)
    got = fetch_file(fast.url, policy=FetchPolicy(**LOOPBACK, deadline=5))
    assert got.content == b"x" * 300_000 and got.content_type == "audio/mpeg"


def test_one_tenants_slow_files_leave_the_other_tenants_fetches_alone(servers):
    drip = servers(length=10_000, step=1, pause=0.1)
    fast = servers(length=50_000)
    policy = FetchPolicy(**LOOPBACK, deadline=2.0, min_bytes_per_second=0, per_tenant=1)
    stalled: list[BaseException] = []
    worker = threading.Thread(target=lambda: stalled.append(_timed(lambda: fetch_file(
        drip.url, policy=policy, tenant_id="slow-tenant"))[0]))
    worker.start()
    time.sleep(0.3)  # the slow tenant's one slot is taken

    # The slow tenant's next fetch is refused at once (its worker is free for others) ...
    exc, took = _timed(lambda: fetch_file(fast.url, policy=policy, tenant_id="slow-tenant"))
    assert isinstance(exc, FetchBusy) and exc.retryable and took < 0.2
    # ... while another tenant's fetch runs at full speed beside the stalled one.
    started = time.monotonic()
    assert len(fetch_file(fast.url, policy=policy, tenant_id="other-tenant").content) == 50_000
    assert time.monotonic() - started < 0.5

    worker.join(5)
    assert isinstance(stalled[0], FetchError) and not isinstance(stalled[0], FetchBusy)
    # The stalled fetch gave its slot back.
    assert len(fetch_file(fast.url, policy=policy, tenant_id="slow-tenant").content) == 50_000
