"""MJPEG-over-HTTP URLs: malformed ones are ConfigErrors at open(); Basic auth sends the
user and password decoded, as typed before percent-encoding them into the URL."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import CaptureError, ConfigError


@pytest.mark.parametrize("uri,message", [
    ("http://:abc/x", "port is not a number"),  # ValueError from urlsplit's .port
    ("http://cam:99999/x", "port is out of range"),
    ("http:///x", "no host"),  # AttributeError inside http.client
    ("http://user:pw@/x", "no host"),
])
def test_malformed_urls_are_config_errors(uri, message):
    src = open_source(uri, CaptureOptions(open_timeout_s=1))
    with pytest.raises(ConfigError, match=message):
        src.open()


def test_malformed_url_error_hides_credentials():
    src = open_source("http://admin:secret@:abc/x", CaptureOptions(open_timeout_s=1))
    with pytest.raises(ConfigError) as exc:
        src.open()
    assert "secret" not in str(exc.value)


def test_basic_auth_sends_decoded_credentials():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_error(401)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        src = open_source(f"http://us%40er:p%3Ass%2Fw%25rd@127.0.0.1:{port}/s.mjpg", CaptureOptions(open_timeout_s=5))
        with pytest.raises(CaptureError, match="401"):
            src.open()
    finally:
        server.shutdown()
        server.server_close()
    assert seen and seen[0] == "Basic " + base64.b64encode(b"us@er:p:ss/w%rd").decode()
