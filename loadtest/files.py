"""A small local file server for the recordings, voicemails and SmartAction files the
simulated contact center points at (the backend fetches each `recording_url`).

Any path answers a small deterministic file whose type follows the extension, so the
day's generator can invent URLs freely. It binds to 127.0.0.1 only. The portal fetches
from private addresses only when its operator allows it (`SYNC_FETCH_ALLOW_PRIVATE=1`).
"""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".png": "image/png", ".txt": "text/plain"}


def file_content(path: str, size: int = 2048) -> bytes:
    seed = hashlib.sha256(path.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
        path = self.path.split("?", 1)[0]
        extension = path[path.rfind("."):].lower() if "." in path else ""
        body = file_content(path)
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(extension, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.hits += 1  # type: ignore[attr-defined]

    def log_message(self, *args) -> None:  # quiet
        pass


class FileServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.hits = 0  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> int:
        return self._server.hits  # type: ignore[attr-defined]

    def __enter__(self) -> "FileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
