"""A live MJPEG preview over HTTP: open ``http://127.0.0.1:8090/`` in a browser.

Bound to 127.0.0.1 by default. Binding any other address needs ``allow_remote=True``
(CLI: ``--preview-host ADDR --preview-allow-remote``) **and** a token; clients then
pass ``?token=...`` or ``Authorization: Bearer ...``.

At most ``max_clients`` connections are served at once (more get a 503), and a connection that
has not sent its whole request within ``client_timeout_s`` (nothing, or its headers a byte at a
time), or a viewer that stops reading, is dropped: a stalled or hostile client holds no thread for
ever, and never slows the pipeline (frames are encoded once, in :meth:`MjpegPreviewSink.write`,
and each viewer's thread sends the latest one). A viewer that leaves mid-page logs at debug
level only, and the request lines logged at debug level carry no token.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import ipaddress
import logging
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import cv2

from ..capture.base import redact_uri
from ..checks import is_finite, is_whole
from ..errors import ConfigError
from ..socket_deadline import SocketDeadline
from .base import FrameResult, Sink

log = logging.getLogger(__name__)
BOUNDARY = "edgefillframe"
#: while no new frame comes (a paused or reconnecting source), a viewer's thread checks this often
#: whether the viewer left, so a closed tab does not keep its slot until the next frame
IDLE_CHECK_S = 5.0


def _authority(host: str, port: int) -> str:
    """``host:port`` as a URL writes it: an IPv6 address in brackets (``[::1]:8090``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _PreviewServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that serves at most ``max_clients`` connections at once: one more is
    answered 503 and closed at once, without a thread."""

    daemon_threads = True

    def __init__(self, address, handler, max_clients: int):
        self._slots = threading.BoundedSemaphore(max_clients)
        if ":" in address[0]:  # an IPv6 address (::1, ::): the IPv4 socket refused it ("Address family ...")
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            log.info("preview: too many viewers (max_clients), refusing %s", client_address[0])
            try:
                request.setblocking(False)  # never wait on a client that does not read
                request.send(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        """A viewer that resets its connection or leaves mid-page (an OSError): socketserver printed
        a traceback to stderr for it, at any log level (any peer could fill a service's log with
        them); it is a debug line. Any other error is edgefill's own, logged as one."""
        if isinstance(sys.exc_info()[1], OSError):
            log.debug("preview: connection from %s ended: %s", client_address[0], sys.exc_info()[1])
        else:
            log.exception("preview: serving %s failed", client_address[0])


def _viewer_left(conn: socket.socket) -> bool:
    """Whether the peer of a streaming connection closed it (it sends nothing after its request)."""
    try:
        return _readable_now(conn) and not conn.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


def _readable_now(conn: socket.socket) -> bool:
    """Whether ``conn`` has data (or an end of stream) to read now. poll(), where there is one:
    select() takes no descriptor at or above FD_SETSIZE (1024), and its ValueError counted every
    viewer of a process with that many files open (several cameras, a busy service) as gone."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(conn, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([conn], [], [], 0)
    return bool(readable)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MjpegPreviewSink(Sink):
    def __init__(self, host: str = "127.0.0.1", port: int = 8090, token: str | None = None,
                 allow_remote: bool = False, quality: int = 80, max_fps: float = 15.0,
                 max_clients: int = 16, client_timeout_s: float = 10.0):
        if not is_whole(port) or not 0 <= port <= 65535:
            raise ConfigError(f"the preview port must be 0..65535 (0: any free port), got {port!r}")
        port = int(port)
        if not is_whole(quality) or not 0 <= quality <= 100:
            raise ConfigError(f"the preview JPEG quality must be 0..100, got {quality!r}")
        for name, value in (("max_fps", max_fps), ("client_timeout_s", client_timeout_s)):
            if not (is_finite(value) and value > 0):
                raise ConfigError(f"the preview's {name} must be a number > 0, got {value!r}")
        if not is_whole(max_clients) or max_clients < 1:
            raise ConfigError(f"the preview's max_clients must be a whole number >= 1, got {max_clients!r}")
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
        self._viewers = 0  # streams being served: with none, frames are not encoded (CPU a Pi needs)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            timeout = float(client_timeout_s)  # socket timeout: a silent or stalled client is dropped

            def setup(self):
                super().setup()
                # One bound for the whole request: the socket timeout restarts with every byte, so a
                # client trickling its headers a byte at a time held its slot for hours (16 of them,
                # no token needed: headers come before the token check, the preview for no one else).
                self._deadline = SocketDeadline(self.connection, self.timeout)

            def parse_request(self):
                ok = super().parse_request()  # reads the headers
                self._deadline.cancel()
                return ok

            def finish(self):
                self._deadline.cancel()
                super().finish()

            def log_message(self, fmt, *args):  # keep the console quiet; no token in the log
                if log.isEnabledFor(logging.DEBUG):  # a client's request line, cut short: work done only when asked
                    log.debug("preview: %s", redact_uri((fmt % args)[:300]))

            def _authorised(self) -> bool:
                if sink.token is None:
                    return True
                h = self.headers.get("Authorization", "")
                if h[:7].lower() == "bearer ":  # the scheme is case-insensitive (RFC 7235)
                    # http.server decodes header bytes as Latin-1: this gives back the bytes sent (UTF-8)
                    given = h[7:].encode("latin-1", "replace")
                else:
                    given = parse_qs(urlsplit(self.path).query).get("token", [""])[0].encode()
                return hmac.compare_digest(given, sink.token.encode())

            def do_GET(self):  # noqa: N802 - http.server's naming
                if not self._authorised():
                    self.send_error(401, "token required")
                    return
                route = urlsplit(self.path).path
                if route == "/":
                    q = html.escape(f"?token={quote(sink.token, safe='')}") if sink.token else ""
                    body = f'<html><body style="margin:0;background:#000"><img src="/stream.mjpg{q}" ' \
                           f'style="max-width:100%"></body></html>'.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif route == "/stream.mjpg":
                    with sink._watching():  # counted before the headers: a frame written once the
                        self.send_response(200)  # viewer has them is encoded for it
                        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                        self.send_header("Cache-Control", "no-store")
                        self.end_headers()
                        sink._stream(self.wfile, self.connection)
                else:
                    self.send_error(404)

        try:
            self.server = _PreviewServer((host, port), Handler, int(max_clients))
        except OSError as exc:  # the port is taken, the address is not this machine's, a privileged port ...
            raise ConfigError(f"cannot serve the preview on {_authority(host, port)}: {exc.strerror or exc}") from exc
        self.port = self.server.server_address[1]
        #: the address to open in a browser
        self.url = f"http://{_authority(host, self.port)}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="edgefill-preview", daemon=True)
        self.thread.start()
        log.info("preview on %s", self.url)

    @contextlib.contextmanager
    def _watching(self):
        """Counts a viewer of the stream while the block runs."""
        with self._cond:
            self._viewers += 1
        try:
            yield
        finally:
            with self._cond:
                self._viewers -= 1

    def _stream(self, wfile, conn: socket.socket | None = None) -> None:
        seen = 0  # no frame yet: a viewer that comes before the first one waits for it
        while True:
            with self._cond:
                self._cond.wait_for(lambda s=seen: self._closed or self._seq != s, timeout=IDLE_CHECK_S)
                if self._closed:
                    return
                fresh = self._seq != seen
                if fresh:
                    frame, seen = self._frame, self._seq
            if not fresh:
                if conn is not None and _viewer_left(conn):
                    return
                continue
            try:
                wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n".encode())
                wfile.write(frame + b"\r\n")
                wfile.flush()
            except OSError:
                return  # the viewer went away

    def write(self, result: FrameResult) -> None:
        if self._closed:  # its server is shut down: frames would go nowhere, and no viewer be told
            raise ConfigError(f"the preview on {self.url} was closed (a Pipeline closes its sinks at the end of its "
                              "run); give each run a new MjpegPreviewSink (the port is free again)")
        now = time.monotonic()
        if now - self._last_encode < self.min_interval or not self._viewers:
            return  # no one watching: a JPEG encode per frame (ms of a Pi's CPU) for nothing
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
