"""Fixtures of the conversation sync tests."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# The file server of these tests listens on 127.0.0.1: portal/settings_test.py allows
# loopback fetches (SYNC_FETCH_ALLOW_PRIVATE), as the sandbox/demo needs.

FILES = {
    "/rec/s-rec.mp3": (b"ID3\x03fake-mp3-recording-bytes" * 20, "audio/mpeg"),
    "/vm/vm-1.wav": (b"RIFF....WAVEfake-voicemail" * 10, "audio/wav"),
    "/sa/id-photo.jpg": (b"\xff\xd8\xff\xe0fake-jpeg" * 10, "image/jpeg"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server hook
        found = FILES.get(self.path)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        content, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def file_server():
    """A tiny HTTP server standing in for the contact center's recording storage."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
