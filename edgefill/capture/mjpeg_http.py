"""MJPEG over HTTP (``http://host:port/path``), the format of most IP cameras' preview
streams and of edgefill's own preview server. Pure Python, with socket timeouts for
connecting and for reading, so a stalled camera is noticed in ``read_timeout_s``: each
``read()`` returns a frame, or raises a :class:`~edgefill.errors.CaptureError`, within that
time, also while the camera sends data that holds no frame."""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
import threading
import time
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

import cv2
import numpy as np

from ..errors import CaptureError, ConfigError
from ..socket_deadline import SocketDeadline
from .base import FrameSource, redact_uri, register_source

_SOI = b"\xff\xd8"
#: in entropy-coded image data, the first marker: 0xFF followed by a byte that is not 0x00 (a stuffed
#: 0xFF), a restart marker 0xD0-0xD7 or a fill 0xFF (a literal first byte: found at memchr speed)
_DATA_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
MAX_FRAME_BYTES = 32 << 20
#: printable ASCII: kept as it is in the request path; anything else (spaces, non-ASCII) is percent-encoded
_PATH_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


class JpegSplitter:
    """Cuts whole JPEGs out of a byte stream by their marker structure, ignoring the multipart
    boundaries and part headers around them (so a missing boundary parameter, a quoted one, or a
    missing or wrong ``Content-Length`` changes nothing).

    The segments before the image data are skipped by their declared lengths: an EXIF thumbnail
    in APP1 holds an SOI and an EOI of its own, and cutting at the first 0xFFD9 cut every frame
    short. The image data ends at its first marker that is not a restart marker or a stuffed
    0xFF. A JPEG cut short (the camera dropped part of it) is given up where the next one starts,
    so the next one is not lost with it, nor glued to it."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self._pos = -1  # where parsing the JPEG at buf[0] goes on; -1: no JPEG start found yet
        self._in_data = False  # _pos is inside entropy-coded data (after an SOS header)

    def feed(self, data: bytes) -> None:
        self.buf += data

    def _drop(self) -> None:
        """Give up the JPEG at buf[0] (corrupt) and look for the next start after its SOI."""
        del self.buf[:2]
        self._pos = -1

    def next(self) -> bytes | None:
        """The next complete JPEG (encoded), or None until more data comes."""
        buf = self.buf
        while True:
            if self._pos < 0:
                start = buf.find(_SOI)
                if start < 0:
                    del buf[:-1]  # a last 0xFF may begin the next SOI
                    return None
                del buf[:start]
                self._pos, self._in_data = 2, False
            i, n = self._pos, len(buf)
            if self._in_data:
                if i >= n:
                    return None
                m = _DATA_MARKER.search(buf, i)
                if m is None:
                    self._pos = max(i, n - 1)  # a last 0xFF may begin a marker
                    return None
                i, self._in_data = m.start(), False
            if i + 2 > n:
                self._pos = i
                return None
            if buf[i] != 0xFF:
                self._drop()
                continue
            code = buf[i + 1]
            if code == 0xFF:  # a fill byte before a marker
                self._pos = i + 1
            elif code == 0xD9:  # EOI
                jpeg = bytes(buf[: i + 2])
                del buf[: i + 2]
                self._pos = -1
                return jpeg
            elif code == 0xD8:  # the next JPEG starts: the one before was cut short
                del buf[:i]
                self._pos, self._in_data = 2, False
            elif 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
                self._pos = i + 2
            else:
                if i + 4 > n:
                    self._pos = i
                    return None
                length = (buf[i + 2] << 8) | buf[i + 3]
                if length < 2:
                    self._drop()
                    continue
                self._pos, self._in_data = i + 2 + length, code == 0xDA  # SOS: image data follows


def _connect(addresses: list[tuple], deadline: float, source: tuple | None) -> socket.socket:
    """A socket connected to the first of ``addresses`` (``getaddrinfo`` results) that accepts,
    as ``socket.create_connection`` does, without looking the name up again. All the attempts
    together end by ``deadline`` (``time.monotonic()``): create_connection gives each address
    the whole timeout, so a name with an IPv6 and an IPv4 address that both go unanswered took
    twice ``open_timeout_s``."""
    error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            if source:
                sock.bind(source)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    if error is None:
        raise socket.timeout("timed out") if addresses else OSError("getaddrinfo returned no address")
    raise error


def _close_quietly(conn: http.client.HTTPConnection | None) -> None:
    """Close a connection whose request failed; its own errors do not hide the first one."""
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


@register_source("http", "https")
class MjpegHttpSource(FrameSource):
    live = True

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.conn: http.client.HTTPConnection | None = None
        self.resp: http.client.HTTPResponse | None = None
        self.sock: socket.socket | None = None
        self._open_deadline = 0.0  # time.monotonic() by which open() ends, one bound for all its steps
        self._first_read = False
        self.jpegs = JpegSplitter()

    def _parse(self) -> tuple[str, int, SplitResult]:
        """(host, port, urlsplit result); ConfigError for a URL that names no host or a bad port."""
        try:
            u = urlsplit(self.uri)
            host, port = u.hostname, u.port  # .port raises ValueError for a non-numeric or out-of-range port
        except ValueError as exc:  # said in words of its own: urlsplit's quote the "port", the start of a password
            why = "the port is out of range" if "range" in str(exc) else \
                "the port is not a number (a password with a raw '/', '?' or '#' must be percent-encoded)"
            raise ConfigError(f"bad MJPEG URL {self.description}: {why}") from None
        if not host:
            raise ConfigError(f"bad MJPEG URL {self.description}: no host (expected http://host[:port]/path)")
        # always a port: given none, http.client takes the end of an IPv6 address for one ([::1] -> "::", port 1)
        return host, port or (443 if u.scheme == "https" else 80), u

    def open(self) -> None:
        self.close()
        host, port, u = self._parse()
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        headers = {"Accept": "multipart/x-mixed-replace, image/jpeg"}
        if u.username is not None:  # user:password@ is percent-encoded in a URL; Basic auth sends it decoded
            cred = f"{unquote(u.username)}:{unquote(u.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        # as a browser does: a space or a non-ASCII letter in the path is percent-encoded (http.client
        # raised UnicodeEncodeError); what is already percent-encoded stays as it is
        path = quote(u.path or "/", safe=_PATH_SAFE) + (f"?{quote(u.query, safe=_PATH_SAFE)}" if u.query else "")
        conn = deadline = None
        # one bound for the whole open: the name lookup, the connection and the response each had
        # open_timeout_s of their own, so a slow DNS, a slow connect and a camera that accepts and
        # does not answer took up to three times the timeout before ResilientSource could retry
        self._open_deadline = time.monotonic() + self.options.open_timeout_s
        try:
            conn = cls(host, port, timeout=self.options.open_timeout_s)
            conn._create_connection = self._create_connection  # the name lookup bounded too (http.client's hook)
            conn.request("GET", path, headers=headers)
            # kept here: a response that ends with the connection (HTTP/1.0, or no Content-Length, as
            # every MJPEG stream) takes the socket from conn, and conn.sock is None after getresponse()
            sock = conn.sock
            left = self._time_left(host)
            sock.settimeout(left)  # for the response: what is left of the open's bound
            with SocketDeadline(sock, left) as deadline:  # ... for all of it, however slowly its bytes come
                resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            _close_quietly(conn)  # a socket connected before the request or the response failed
            why = f"no complete answer within {self.options.open_timeout_s:g} s" \
                if deadline is not None and deadline.expired else exc
            raise CaptureError(f"cannot connect to {self.description}: {why}") from exc
        except UnicodeError as exc:  # IDNA, for the Host header or the lookup: an empty label (a..b), a bad character
            _close_quietly(conn)
            raise ConfigError(f"bad MJPEG URL {self.description}: not a valid host name "
                              f"({exc.__cause__ or exc})") from exc
        if deadline.expired:  # cut mid-headers, http.client took the end of the socket for their end
            resp.close()
            conn.close()
            raise CaptureError(f"cannot connect to {self.description}: no complete answer within "
                               f"{self.options.open_timeout_s:g} s")
        ctype = resp.getheader("Content-Type", "")
        if resp.status != 200 or ctype.lower().startswith("text/"):
            resp.close()
            conn.close()
            if resp.status != 200:
                location = resp.getheader("Location")
                to = (f" (redirects to {redact_uri(urljoin(self.uri, location))}: give that URL)"
                      if location and 300 <= resp.status < 400 else "")
                raise CaptureError(f"{self.description} answered HTTP {resp.status} {resp.reason}{to}")
            raise CaptureError(f"{self.description} answered {ctype.split(';')[0]} (a web page?), not an MJPEG "
                               "stream (multipart/x-mixed-replace): check the stream's path")
        self.conn, self.resp, self.sock, self.jpegs = conn, resp, sock, JpegSplitter()
        self._first_read = True

    def _create_connection(self, address: tuple[str, int], timeout: float,
                           source_address: tuple[str, int] | None = None) -> socket.socket:
        """``socket.create_connection`` for http.client, with the name looked up by :meth:`_resolve`."""
        return _connect(self._resolve(*address), self._open_deadline, source_address)

    def _time_left(self, host: str) -> float:
        """Seconds left of the open's bound; a ``socket.timeout`` (said by open()) when none are."""
        left = self._open_deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no answer from {host} within {self.options.open_timeout_s:g} s")
        return left

    def _resolve(self, host: str, port: int) -> list[tuple]:
        """``getaddrinfo(host, port)`` within ``open_timeout_s``. The connect timeout does not bound
        the name lookup, which the C library makes in one blocking call (a DNS server that does not
        answer held up open() for its own retries, 10 s and more): it runs in a daemon thread,
        which is left to finish in the background when it takes too long."""
        found: list = []
        done = threading.Event()

        def lookup() -> None:
            try:
                found.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
            except Exception as exc:  # noqa: BLE001 - handed to the caller below
                found.append(exc)
            finally:
                done.set()

        threading.Thread(target=lookup, name=f"edgefill-dns {host}", daemon=True).start()
        if not done.wait(max(0.0, self._open_deadline - time.monotonic())):
            raise CaptureError(f"cannot connect to {self.description}: looking up {host} took more than "
                               f"{self.options.open_timeout_s:g} s (DNS)")
        if isinstance(found[0], BaseException):
            raise found[0]  # said by open(), as any error of the connection
        return found[0]

    def _fill(self, left_s: float, wait_s: float, deadline: SocketDeadline | None) -> None:
        """Read more of the stream, waiting at most ``left_s`` (of the read's ``wait_s``); a
        chunked stream's read is also cut by ``deadline`` (see :meth:`read`)."""
        if self.sock is not None:
            self.sock.settimeout(left_s)
        try:
            chunk = self.resp.read1(65536)
        except (socket.timeout, TimeoutError) as exc:
            raise CaptureError(f"{self.description} stalled: no frame for {wait_s:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            if deadline is not None and deadline.expired:
                raise CaptureError(f"{self.description} stalled: no frame for {wait_s:g} s") from exc
            raise CaptureError(f"{self.description} dropped: {exc}") from exc
        if deadline is not None and deadline.expired:
            raise CaptureError(f"{self.description} stalled: no frame for {wait_s:g} s")
        if not chunk:
            raise CaptureError(f"{self.description} closed the connection")
        self.jpegs.feed(chunk)
        if len(self.jpegs.buf) > MAX_FRAME_BYTES:
            raise CaptureError(f"{self.description} sent {len(self.jpegs.buf)} bytes without a complete JPEG frame")

    def read(self) -> np.ndarray | None:
        """The next frame within ``read_timeout_s`` (the first one after opening: within the
        larger of the two timeouts, as the OpenCV sources wait for it). A timeout on each socket
        read alone let a camera that keeps sending data without a frame in it (corrupt JPEGs,
        text parts) block the caller for ever."""
        if self.resp is None:
            raise CaptureError(f"{self.description} is not open")
        wait = self.options.read_wait_s(self._first_read)
        end = time.monotonic() + wait
        # A chunked stream's read1() reads a chunk-size line with several receives, each given the
        # socket timeout again (a camera trickling that line held a read of 1 s for 12 s): its whole
        # read is cut at ``wait`` (one timer thread per read, only for chunked streams).
        chunked = self.sock is not None and self.resp.chunked
        with SocketDeadline(self.sock, wait) if chunked else contextlib.nullcontext() as deadline:
            while True:
                jpeg = self.jpegs.next()
                if jpeg is not None:
                    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                    if frame is not None:
                        self._first_read = False
                        return frame
                    continue  # a corrupt frame: skip it
                left = end - time.monotonic()
                if left <= 0:
                    raise CaptureError(f"{self.description} stalled: data but no decodable JPEG frame for {wait:g} s")
                self._fill(left, wait, deadline)

    def close(self) -> None:
        if self.resp is not None:
            self.resp.close()  # it holds the socket once conn has handed it over
        if self.conn is not None:
            self.conn.close()
        self.conn = self.resp = self.sock = None
