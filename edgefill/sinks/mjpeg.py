"""A live MJPEG preview over HTTP: open ``http://127.0.0.1:8090/`` in a browser.

Bound to 127.0.0.1 by default. Binding any other address needs ``allow_remote=True``
(CLI: ``--preview-host ADDR --preview-allow-remote``) **and** a token; clients then
pass ``?token=...`` or ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import numbers
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import cv2

from ..errors import ConfigError
from .base import FrameResult, Sink

log = logging.getLogger(__name__)
BOUNDARY = "edgefillframe"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MjpegPreviewSink(Sink):
    def __init__(self, host: str = "127.0.0.1", port: int = 8090, token: str | None = None,
                 allow_remote: bool = False, quality: int = 80, max_fps: float = 15.0):
        if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 0 <= port <= 65535:
            raise ConfigError(f"the preview port must be 0..65535 (0: any free port), got {port!r}")
        port = int(port)
        if not is_loopback(host):
            if not allow_remote:
                raise ConfigError(f"the preview binds {host}, which is not loopback: pass allow_remote=True "
                                  "(--preview-allow-remote) and a token to expose it")
            if not token or len(token) < 16:
                raise ConfigError("a preview bound beyond loopback needs a token of at least 16 characters")
        self.token, self.quality, self.min_interval = token, quality, 1.0 / max_fps
        self._frame: bytes | None = None
        self._seq = 0
        self._cond = threading.Condition()
        self._closed = False
        self._last_encode = 0.0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):  # keep the console quiet
                log.debug("preview: " + fmt, *args)

            def _authorised(self) -> bool:
                if sink.token is None:
                    return True
                q = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
                h = self.headers.get("Authorization", "")
                given = h[7:] if h.startswith("Bearer ") else q
                return hmac.compare_digest(given.encode(), sink.token.encode())

            def do_GET(self):  # noqa: N802 - http.server's naming
                if not self._authorised():
                    self.send_error(401, "token required")
                    return
                route = urlsplit(self.path).path
                if route == "/":
                    q = f"?token={sink.token}" if sink.token else ""
                    body = f'<html><body style="margin:0;background:#000"><img src="/stream.mjpg{q}" ' \
                           f'style="max-width:100%"></body></html>'.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif route == "/stream.mjpg":
                    self.send_response(200)
                    self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    sink._stream(self.wfile)
                else:
                    self.send_error(404)

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:  # the port is taken, the address is not this machine's, a privileged port ...
            raise ConfigError(f"cannot serve the preview on {host}:{port}: {exc.strerror or exc}") from exc
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="edgefill-preview", daemon=True)
        self.thread.start()
        log.info("preview on http://%s:%d/", host, self.port)

    def _stream(self, wfile) -> None:
        seen = -1
        while True:
            with self._cond:
                self._cond.wait_for(lambda s=seen: self._closed or self._seq != s, timeout=5.0)
                if self._closed:
                    return
                if self._seq == seen:
                    continue
                frame, seen = self._frame, self._seq
            try:
                wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n".encode())
                wfile.write(frame + b"\r\n")
                wfile.flush()
            except OSError:
                return  # the viewer went away

    def write(self, result: FrameResult) -> None:
        now = time.monotonic()
        if now - self._last_encode < self.min_interval:
            return
        ok, buf = cv2.imencode(".jpg", result.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self._last_encode = now
            with self._cond:
                self._frame, self._seq = buf.tobytes(), self._seq + 1
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
