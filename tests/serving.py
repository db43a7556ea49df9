"""A real uvicorn server on a free port in a background thread, for tests that talk HTTP to a live app
(the dashboard in a browser, the inference service through its client)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(server: uvicorn.Server, stop_timeout_s: float = 30.0) -> Iterator[threading.Thread]:
    """Run ``server`` on a daemon thread until the block ends; fail if it never opens its socket."""
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started or not thread.is_alive(), timeout_s=20), "server did not start"
        assert server.started, "server thread died before it started listening"
        yield thread
    finally:
        server.should_exit = True
        thread.join(stop_timeout_s)


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0, interval_s: float = 0.1) -> bool:
    """Poll (bounded) until ``condition()`` is true: the engine works on its own thread."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return bool(condition())
