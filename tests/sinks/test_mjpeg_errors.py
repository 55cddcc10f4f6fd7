"""The MJPEG preview's bad ports are ConfigErrors (the CLI's one line, exit 2), not tracebacks."""

import socket

import pytest

from edgefill.errors import ConfigError
from edgefill.sinks import MjpegPreviewSink


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
