"""MJPEG over HTTP (``http://host:port/path``), the format of most IP cameras' preview
streams and of edgefill's own preview server. Pure Python, with socket timeouts for
connecting and for each read, so a stalled camera is noticed in ``read_timeout_s``."""

from __future__ import annotations

import base64
import http.client
import socket
from urllib.parse import SplitResult, unquote, urlsplit

import cv2
import numpy as np

from ..errors import CaptureError, ConfigError
from .base import FrameSource, register_source

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
MAX_FRAME_BYTES = 32 << 20


@register_source("http", "https")
class MjpegHttpSource(FrameSource):
    live = True

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.conn: http.client.HTTPConnection | None = None
        self.resp: http.client.HTTPResponse | None = None
        self.buf = b""

    def _parse(self) -> tuple[str, int | None, SplitResult]:
        """(host, port, urlsplit result); ConfigError for a URL that names no host or a bad port."""
        try:
            u = urlsplit(self.uri)
            host, port = u.hostname, u.port  # .port raises ValueError for a non-numeric or out-of-range port
        except ValueError as exc:
            raise ConfigError(f"bad MJPEG URL {self.description}: {exc}") from exc
        if not host:
            raise ConfigError(f"bad MJPEG URL {self.description}: no host (expected http://host[:port]/path)")
        return host, port, u

    def open(self) -> None:
        self.close()
        host, port, u = self._parse()
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        headers = {"Accept": "multipart/x-mixed-replace, image/jpeg"}
        if u.username is not None:  # user:password@ is percent-encoded in a URL; Basic auth sends it decoded
            cred = f"{unquote(u.username)}:{unquote(u.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        try:
            conn = cls(host, port, timeout=self.options.open_timeout_s)
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise CaptureError(f"cannot connect to {self.description}: {exc}") from exc
        if resp.status != 200:
            conn.close()
            raise CaptureError(f"{self.description} answered HTTP {resp.status} {resp.reason}")
        if conn.sock is not None:
            conn.sock.settimeout(self.options.read_timeout_s)
        self.conn, self.resp, self.buf = conn, resp, b""

    def _fill(self) -> None:
        try:
            chunk = self.resp.read1(65536)
        except (socket.timeout, TimeoutError) as exc:
            raise CaptureError(f"{self.description} stalled: no data for {self.options.read_timeout_s:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise CaptureError(f"{self.description} dropped: {exc}") from exc
        if not chunk:
            raise CaptureError(f"{self.description} closed the connection")
        self.buf += chunk
        if len(self.buf) > MAX_FRAME_BYTES:
            raise CaptureError(f"{self.description} sent {len(self.buf)} bytes without a complete JPEG frame")

    def read(self) -> np.ndarray | None:
        if self.resp is None:
            raise CaptureError(f"{self.description} is not open")
        while True:
            start = self.buf.find(_SOI)
            if start >= 0:
                end = self.buf.find(_EOI, start + 2)
                if end >= 0:
                    jpeg, self.buf = self.buf[start : end + 2], self.buf[end + 2 :]
                    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                    if frame is not None:
                        return frame
                    continue  # a corrupt frame: skip it
                self.buf = self.buf[start:]
            else:
                self.buf = self.buf[-1:]
            self._fill()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = self.resp = None
