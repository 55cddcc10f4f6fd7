"""The MJPEG preview's bad ports are ConfigErrors (the CLI's one line, exit 2), not tracebacks;
IPv6 hosts bind; closing gives the port back."""

import socket
import time

import numpy as np
import pytest

from edgefill.errors import ConfigError
from edgefill.sinks import FrameResult, MjpegPreviewSink


@pytest.mark.parametrize("port", [65536, 99999, -1])
def test_port_out_of_range_is_a_config_error(port):
    """99999 raised OverflowError from the socket layer."""
    with pytest.raises(ConfigError, match="0..65535"):
        MjpegPreviewSink("127.0.0.1", port)


def test_port_in_use_is_a_config_error():
    """A taken port raised OSError (EADDRINUSE)."""
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            MjpegPreviewSink("127.0.0.1", port)
    finally:
        taken.close()


def test_port_zero_still_picks_a_free_port():
    sink = MjpegPreviewSink("127.0.0.1", 0)
    try:
        assert 0 < sink.port <= 65535
    finally:
        sink.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_loopback_host_is_served():
    """--preview-host ::1 passed the loopback check, then failed to bind: 'Address family for
    hostname not supported' (the server's socket was IPv4 only)."""
    sink = MjpegPreviewSink("::1", 0)
    try:
        with socket.create_connection(("::1", sink.port), timeout=3) as c:
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert c.recv(64).startswith(b"HTTP/1.0 200")
    finally:
        sink.close()


def test_an_ipv6_wildcard_needs_allow_remote_and_a_token():
    with pytest.raises(ConfigError, match="not loopback"):
        MjpegPreviewSink("::", 0)


def test_close_frees_the_port_with_a_viewer_still_connected():
    sink = MjpegPreviewSink("127.0.0.1", 0)
    port = sink.port
    viewer = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        viewer.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        time.sleep(0.2)
        sink.write(FrameResult(0, np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), 0.0))
        time.sleep(0.1)
        sink.close()
        again = MjpegPreviewSink("127.0.0.1", port)  # a restarted run gets its port back at once
        again.close()
    finally:
        viewer.close()
