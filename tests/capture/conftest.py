"""Loopback TCP servers for the network sources' tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest


@contextlib.contextmanager
def tcp_server(on_connect: Callable[[socket.socket], None]) -> Iterator[int]:
    """A server on 127.0.0.1 that hands every connection it accepts to ``on_connect`` (on its accept
    thread); yields its port. Shut down before it is closed: close() alone left the accept thread
    blocked, listening, and a later test's client could reach it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def accept():
        while True:
            try:
                on_connect(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        with contextlib.suppress(OSError):
            srv.shutdown(socket.SHUT_RDWR)
        srv.close()


@pytest.fixture
def silent_server():
    """The port of a TCP server that accepts connections and never answers (a wedged camera)."""
    conns: list[socket.socket] = []
    with tcp_server(conns.append) as port:
        yield port
    for c in conns:
        c.close()
