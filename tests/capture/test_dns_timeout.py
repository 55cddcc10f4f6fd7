"""The name lookup of an http:// MJPEG source is bounded by ``open_timeout_s`` (http.client's
connect timeout does not cover ``getaddrinfo``), and a host name DNS cannot take is one error.

A fake ``socket.getaddrinfo`` blocks until the test lets it go, the way a resolver whose DNS
server does not answer does; open() runs in a helper thread with a deadline, so that code
without the bound fails instead of hanging.
"""

from __future__ import annotations

import socket
import threading

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import CaptureError, ConfigError

from .test_device_thread import DEADLINE, within


def _open_within(src):
    """The exception open() raised (None if it returned), failing the test if it has not returned."""
    try:
        within(src.open)
    except AssertionError:  # it did not return
        raise
    except Exception as exc:  # noqa: BLE001 - handed to the test
        return exc
    return None


@pytest.fixture
def hanging_dns(monkeypatch):
    """socket.getaddrinfo blocks (until the test ends) for names other than IP literals."""
    release = threading.Event()
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        release.wait(DEADLINE + 5)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked
    release.set()


def test_a_lookup_that_hangs_is_bounded_by_the_open_timeout(hanging_dns):
    src = open_source("http://admin:hunter2@camera.invalid:8080/s.mjpg", CaptureOptions(open_timeout_s=0.3))
    error = _open_within(src)
    assert isinstance(error, CaptureError), error
    assert "camera.invalid" in str(error) and "0.3 s" in str(error) and "hunter2" not in str(error)
    assert hanging_dns == ["camera.invalid"]
    src.close()


def test_a_failed_lookup_is_a_capture_error(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    error = _open_within(open_source("http://camera.invalid/s.mjpg", CaptureOptions(open_timeout_s=1.0)))
    assert isinstance(error, CaptureError) and "cannot connect to http://camera.invalid/s.mjpg" in str(error)


@pytest.mark.parametrize("url", ["http://cam..local/s.mjpg", "http://" + "a" * 64 + ".local/s.mjpg",
                                 "http://ca\u2028m/s.mjpg"])
def test_a_host_name_dns_cannot_take_is_a_config_error(url):
    """An empty label (a typo), a label over 63 characters or a character IDNA refuses was a
    UnicodeError traceback from http.client or getaddrinfo."""
    with pytest.raises(ConfigError, match="not a valid host name"):
        open_source(url, CaptureOptions(open_timeout_s=1.0)).open()


def test_the_resolved_address_is_the_one_connected_to():
    """The lookup is made once, in the bounded thread; the connection uses what it found."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def answer():
        conn = srv.accept()[0]
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    try:
        with pytest.raises(CaptureError, match="answered HTTP 404"):
            open_source(f"http://localhost:{port}/s.mjpg", CaptureOptions(open_timeout_s=2.0)).open()
    finally:
        srv.close()
    t.join(DEADLINE)
