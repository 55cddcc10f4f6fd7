"""An http:// MJPEG open is bounded by ``open_timeout_s`` as a whole: the name lookup, the
connection (to every address the name has) and the camera's response share one bound. Each
had the whole timeout of its own, so a slow DNS followed by a camera that accepts and never
answers took about twice the timeout, and a name with two unanswering addresses twice too,
before ResilientSource could count the failure and retry.

The bound is checked against the step times the tests arrange (a lookup that takes 70% of
the timeout, a connect that waits as long as its socket timeout allows), with a margin of a
third of the timeout for the machine's scheduling; the old code overran it by 40% or more.
"""

from __future__ import annotations

import socket
import time

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture import mjpeg_http
from edgefill.errors import CaptureError

from .conftest import tcp_server
from .test_device_thread import within

TIMEOUT = 1.0


def _timed_open(src) -> tuple[float, BaseException | None]:
    start = time.monotonic()
    try:
        within(src.open)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - handed to the test
        return time.monotonic() - start, exc
    finally:
        src.close()
    return time.monotonic() - start, None


def test_a_slow_lookup_and_a_silent_camera_share_one_open_timeout(monkeypatch):
    """A lookup taking 0.7 s, then a camera that accepts and never answers: the open ends at
    1 s, not at 1.7 s."""
    conns: list[socket.socket] = []
    real = socket.getaddrinfo

    def slow_getaddrinfo(host, port, *args, **kwargs):
        time.sleep(0.7 * TIMEOUT)
        return real("127.0.0.1", port, *args, **kwargs)

    with tcp_server(conns.append) as port:
        monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
        took, error = _timed_open(open_source(f"http://camera.test:{port}/s.mjpg",
                                              CaptureOptions(open_timeout_s=TIMEOUT)))
    for c in conns:
        c.close()
    assert isinstance(error, CaptureError), error
    assert "cannot connect to http://camera.test" in str(error)
    assert 0.9 * TIMEOUT <= took < 1.33 * TIMEOUT, f"open took {took:.2f} s with open_timeout_s={TIMEOUT}"


class _UnansweredSocket:
    """A socket whose connect waits out its timeout, as one to an address that drops SYNs."""

    connects: list[tuple[object, float]] = []

    def __init__(self, *args):
        self.timeout = None

    def settimeout(self, t):
        self.timeout = t

    def connect(self, address):
        _UnansweredSocket.connects.append((address, self.timeout))
        time.sleep(self.timeout)
        raise socket.timeout("timed out")

    def close(self):
        pass


@pytest.fixture
def unanswered(monkeypatch):
    _UnansweredSocket.connects = []
    monkeypatch.setattr(mjpeg_http.socket, "socket", _UnansweredSocket)
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", port, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", port)),
    ])
    return _UnansweredSocket.connects


def test_a_name_with_two_unanswering_addresses_takes_one_open_timeout(unanswered):
    took, error = _timed_open(open_source("http://camera.test/s.mjpg", CaptureOptions(open_timeout_s=TIMEOUT)))
    assert isinstance(error, CaptureError) and "timed out" in str(error), error
    assert 0.9 * TIMEOUT <= took < 1.33 * TIMEOUT, f"open took {took:.2f} s with open_timeout_s={TIMEOUT}"
    assert unanswered and unanswered[0][0][0] == "2001:db8::1"  # the first address got the time


def test_the_second_address_gets_what_the_first_left():
    """A first address that refuses at once leaves the rest of the bound to the next one."""
    calls: list[float] = []

    class Refusing(_UnansweredSocket):
        def connect(self, address):
            calls.append(self.timeout)
            if address[0] == "192.0.2.1":
                raise ConnectionRefusedError("refused")
            raise socket.timeout("timed out")

    real = mjpeg_http.socket.socket
    mjpeg_http.socket.socket = Refusing
    try:
        addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 80)),
                     (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.2", 80))]
        with pytest.raises(socket.timeout):
            mjpeg_http._connect(addresses, time.monotonic() + 5.0, None)
    finally:
        mjpeg_http.socket.socket = real
    assert len(calls) == 2 and 4.0 < calls[1] <= 5.0


def test_an_answering_camera_opens_as_before():
    """The shared bound leaves a normal open alone: a camera answering at once is read."""
    import cv2
    import numpy as np

    jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()

    def serve(conn):
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n"
                     b"--f\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg + b"\r\n")
        conn.close()

    with tcp_server(serve) as port:
        src = open_source(f"http://127.0.0.1:{port}/s.mjpg", CaptureOptions(open_timeout_s=TIMEOUT))
        try:
            within(src.open)
            frame = within(src.read)
        finally:
            src.close()
    assert frame.shape == (48, 64, 3)
