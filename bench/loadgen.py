"""Load for the HTTP benchmarks.

- `open_loop`: requests at a fixed rate whatever the server does (an open model, like
  telephony systems that do not slow down when we do). Latency is measured from the
  moment each request was *due*, not from when a free connection sent it, so a server
  that falls behind shows it in its percentiles (no coordinated omission).
- `wrk_max`: the most requests per second the server answers (closed loop, wrk with a
  Lua script that gives every request a unique body), installing wrk from Debian's
  packages when it is missing.
"""
from __future__ import annotations

import http.client
import json
import math
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100.0 * len(ordered)) - 1))
    return ordered[k]


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    sent: int
    ok: int
    errors: int
    latencies_ms: list[float]
    statuses: dict

    @property
    def achieved_rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def open_loop(*, host: str, port: int, path: str, make_body: Callable[[int], dict], headers: dict,
              rate: float, seconds: float, connections: int = 16, ok_status: tuple = (200, 201, 202),
              timeout: float = 10.0) -> OpenLoopResult:
    total = int(rate * seconds)
    due_queue: queue.Queue = queue.Queue()
    latencies: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    counts = {"ok": 0, "errors": 0}
    base_headers = {"Content-Type": "application/json", **headers}

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        while True:
            item = due_queue.get()
            if item is None:
                conn.close()
                return
            index, due = item
            body = json.dumps(make_body(index))
            status = None
            try:
                conn.request("POST", path, body=body, headers=base_headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            done = time.perf_counter()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status in ok_status:
                    counts["ok"] += 1
                    latencies.append((done - due) * 1000.0)
                else:
                    counts["errors"] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for index in range(total):
        due = start + index / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        due_queue.put((index, due))
    for _ in threads:
        due_queue.put(None)
    for t in threads:
        t.join(timeout + seconds + 30)
    elapsed = time.perf_counter() - start
    return OpenLoopResult(rate=rate, seconds=elapsed, sent=total, ok=counts["ok"], errors=counts["errors"],
                          latencies_ms=latencies, statuses=statuses)


# ------------------------------------------------------------------------------------ wrk
def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    # Debian's package (the machine's ordinary package client); bounded in time.
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300)
        path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk is not installed and could not be installed (apt-get install wrk)")
    return path


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    raw: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk_max(*, url: str, lua: str, seconds: int = 15, connections: int = 16, threads: int = 2) -> WrkResult:
    wrk = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    done = subprocess.run([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                           "--timeout", "10s", "-s", script.name, url],
                          capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout + done.stderr
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) if "Requests/sec" in out else 0.0
    # Lines of the "Latency Distribution" block only ("86.50%" elsewhere must not match).
    p50_line = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99_line = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    p50 = _ms(p50_line.group(1)) if p50_line else float("nan")
    p99 = _ms(p99_line.group(1)) if p99_line else float("nan")
    requests_ = int(re.search(r"(\d+) requests in", out).group(1)) if "requests in" in out else 0
    non2xx = int(re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out).group(1)) if "Non-2xx" in out else 0
    errors = re.search(r"Socket errors:(.*)", out)
    return WrkResult(rps=rps, p50_ms=p50, p99_ms=p99, requests=requests_, non_2xx=non2xx,
                     socket_errors=errors.group(1).strip() if errors else "", raw=out)


def wrk_lua_post(*, path: str, headers: dict, body_lua: str, prelude: str = "") -> str:
    """A wrk script POSTing a unique body per request. ``body_lua`` is a Lua
    expression using ``n`` (this thread's counter) and ``tid`` (the thread number)."""
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{header_lines}
{prelude}
local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, "{path}", nil, {body_lua})
end
"""
