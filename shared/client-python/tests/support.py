"""What the tests share: the server under test (AIRLOCK_URL, started by test/python-client.test.ts), a
loopback port nothing listens on, and the running-executions gauge of the server's metrics."""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def server_url() -> str:
    url = os.environ.get("AIRLOCK_URL")
    if not url:
        raise RuntimeError("AIRLOCK_URL is not set: run these tests through test/python-client.test.ts")
    return url


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def settled_running_executions(limit: float = 20.0) -> int:
    """The running-executions gauge once it reads 0, or its value after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        running = running_executions()
        if running == 0 or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def running_executions() -> int:
    with urllib.request.urlopen(server_url() + "/metrics") as response:
        text = response.read().decode()
    match = re.search(r"^airlock_executions_running (\d+)$", text, re.MULTILINE)
    if match is None:
        raise AssertionError("no airlock_executions_running gauge in /metrics")
    return int(match.group(1))
