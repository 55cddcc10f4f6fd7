"""edgefill.socket_deadline: one deadline for a whole exchange on a socket (the preview's request
read, an MJPEG camera's answer and chunked reads use it)."""

from __future__ import annotations

import socket
import time

from edgefill.socket_deadline import SocketDeadline


def test_a_read_still_blocked_at_the_deadline_returns_and_says_why():
    a, b = socket.socketpair()
    try:
        a.settimeout(5)
        t = time.monotonic()
        with SocketDeadline(a, 0.2) as deadline:
            assert a.recv(10) == b""  # shut down under the read
        assert deadline.expired and time.monotonic() - t < 2
    finally:
        a.close()
        b.close()


def test_a_cancel_that_comes_first_wins():
    a, b = socket.socketpair()
    try:
        deadline = SocketDeadline(a, 0.1)
        deadline.cancel()
        time.sleep(0.3)
        b.sendall(b"x")
        assert not deadline.expired and a.recv(1) == b"x"  # still usable
    finally:
        a.close()
        b.close()
