"""An MJPEG open that fails after the connection was made closes it (a camera that accepts and
never answers: each reconnect attempt left a connected socket open until garbage collection)."""

from __future__ import annotations

import http.client

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import CaptureError


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
