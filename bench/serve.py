"""A real `kb serve` (waitress) subprocess on loopback, and a keep-alive client for it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return json.loads(body)
        except OSError:
            pass
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError(f"kb serve on port {port} did not become healthy")
        time.sleep(0.1)


@contextmanager
def kb_serve(
    home: Path,
    threads: int = 8,
    port: int | None = None,
    log: Path | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[int]:
    """Yields the port of a `kb serve` for KB_HOME=home (plus `extra` options); stops it after."""
    with kb_serve_process(home, threads, port, log, extra) as (port, _):
        yield port


@contextmanager
def kb_serve_process(
    home: Path,
    threads: int = 8,
    port: int | None = None,
    log: Path | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[tuple[int, subprocess.Popen]]:
    """As kb_serve, yielding (port, process): the process, to read its memory (rss_mb)."""
    port = port or free_port()
    env = {**os.environ, "KB_HOME": str(home)}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--threads",
            str(threads),
            *extra,
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(port, proc)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


def rss_mb(pid: int, field: str = "VmHWM") -> float | None:
    """A running process's peak resident memory so far (VmHWM; VmRSS: now), in MiB, from
    Linux's /proc; None where there is no such figure. Gone once the process exits."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def search_path(params: dict) -> str:
    pairs = [("q", params["q"])]
    for name in ("doc_type", "status", "document"):
        pairs.extend((name, v) for v in params.get(name) or [])
    return "/api/v1/search?" + urllib.parse.urlencode(pairs)


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects if the server closed it."""

    def __init__(self, port: int, timeout: float = 30):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0  # load tests require 0: a dropped connection is a failure there

    def get(self, path: str) -> tuple[int, bytes]:
        status, body, _ = self.get_full(path)
        return status, body

    def get_full(self, path: str) -> tuple[int, bytes, str | None]:
        """Status, body and the Retry-After header."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                return response.status, response.read(), response.getheader("Retry-After")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server has since closed: retry once on a new one.
                self.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
