"""An MJPEG open that fails after the connection was made closes it (a camera that accepts and
never answers: each reconnect attempt left a connected socket open until garbage collection)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import CaptureError


@pytest.fixture
def silent_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []

    def accept():
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    with contextlib.suppress(OSError):
        srv.shutdown(socket.SHUT_RDWR)
    srv.close()
    for c in conns:
        c.close()


def test_a_response_that_never_comes_leaves_no_socket_open(silent_server, monkeypatch):
    made = []

    class Recording(http.client.HTTPConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(http.client, "HTTPConnection", Recording)
    src = open_source(f"http://127.0.0.1:{silent_server}/stream.mjpg", CaptureOptions(open_timeout_s=0.3))
    with pytest.raises(CaptureError, match="cannot connect"):
        src.open()
    assert len(made) == 1 and made[0].sock is None  # closed; was a connected socket
