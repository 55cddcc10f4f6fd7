"""The MJPEG-over-HTTP source against awkward cameras: odd multipart framing, EXIF thumbnails,
truncated and non-JPEG parts, streams without frames, slow and stalled servers, web pages,
redirects, IPv6 hosts and non-ASCII paths. Each camera is a raw socket server on loopback."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture import mjpeg_http
from edgefill.capture.mjpeg_http import JpegSplitter
from edgefill.errors import CaptureError

FAST = CaptureOptions(open_timeout_s=3, read_timeout_s=0.5, max_backoff_s=0.2)
HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n"


def jpeg(value: int, size=(64, 48)) -> bytes:
    return cv2.imencode(".jpg", np.full((size[1], size[0], 3), value, np.uint8))[1].tobytes()


def with_thumbnail(main: bytes, thumb: bytes) -> bytes:
    """``main`` with an APP1 (EXIF) segment holding ``thumb``, as many cameras write it: the
    thumbnail's SOI and EOI sit inside the main image's header."""
    payload = b"Exif\x00\x00" + thumb
    return main[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + main[2:]


def part(data: bytes, headers: bytes = b"Content-Type: image/jpeg\r\n") -> bytes:
    return b"--f\r\n" + headers + b"\r\n" + data + b"\r\n"


class Camera:
    """A raw HTTP server: each connection's request is recorded, then ``script(conn)`` answers it."""

    def __init__(self, script, host="127.0.0.1", family=socket.AF_INET):
        self.script, self.requests = script, []
        self.sock = socket.socket(family)
        self.sock.bind((host, 0))
        self.sock.listen()
        port = self.sock.getsockname()[1]
        self.url = f"http://[{host}]:{port}/s.mjpg" if family == socket.AF_INET6 else f"http://{host}:{port}/s.mjpg"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            self.requests.append(conn.recv(65536))
            self.script(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # shut down first: close() alone left the accept thread blocked on the listening socket,
        # which went on accepting; after a stop signal (SIGSTOP/SIGCONT) the kernel restarts that
        # accept on the same descriptor number, which a later test's camera may hold by then,
        # and this camera's script answered that test's connection
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _frames(script, n, options=FAST):
    with Camera(script) as cam, open_source(cam.url, options) as src:
        return [src.read() for _ in range(n)]


def test_frames_with_an_exif_thumbnail_are_read_whole():
    """Frames were cut at the thumbnail's EOI, failed to decode and were skipped: a camera that
    writes EXIF thumbnails delivered no frame at all."""
    frame = with_thumbnail(jpeg(200, (320, 240)), jpeg(50, (32, 24)))

    def script(c):
        c.sendall(HEAD + part(frame) * 3)
        time.sleep(2)

    frames = _frames(script, 3)
    assert all(f.shape == (240, 320, 3) and abs(f.mean() - 200) < 2 for f in frames)


def test_a_truncated_frame_is_dropped_and_the_next_one_kept():
    """A frame cut short was glued to the next one up to its EOI: a corrupt picture came out and
    the next frame was lost."""
    a, b = jpeg(30, (320, 240)), jpeg(220, (320, 240))

    def script(c):
        c.sendall(HEAD + part(a[: len(a) // 2]) + part(b) + part(jpeg(120, (320, 240))))
        time.sleep(2)

    first, second = _frames(script, 2)
    assert abs(first.mean() - 220) < 2 and abs(second.mean() - 120) < 2


@pytest.mark.parametrize("head,parts", [
    # no boundary parameter at all, a quoted one, a part without Content-Length, a wrong Content-Length,
    # a part that is not a JPEG, no CRLF between parts
    (b"Content-Type: multipart/x-mixed-replace\r\n", [part(jpeg(10)), part(jpeg(20))]),
    (b'Content-Type: multipart/x-mixed-replace; boundary="f"\r\n', [part(jpeg(10)), part(jpeg(20))]),
    (b"Content-Type: multipart/x-mixed-replace;boundary=--f\r\n",
     [part(jpeg(10), b"Content-Type: image/jpeg\r\nContent-Length: 7\r\n"), part(jpeg(20))]),
    (b"Content-Type: multipart/x-mixed-replace; boundary=f\r\n",
     [part(b"not a picture", b"Content-Type: text/plain\r\n"), part(jpeg(10)), part(b"\x00" * 5000), part(jpeg(20))]),
    (b"", [jpeg(10), jpeg(20)]),
])
def test_odd_multipart_framing_still_gives_every_frame(head, parts):
    def script(c):
        c.sendall(b"HTTP/1.0 200 OK\r\n" + head + b"\r\n" + b"".join(parts))
        time.sleep(2)

    frames = _frames(script, 2)
    assert [round(f.mean()) for f in frames] == [10, 20]


def test_splitter_is_byte_exact_whatever_the_chunking():
    """Markers split across reads (0xFF at the end of one chunk) are parsed on the next one."""
    frames = [with_thumbnail(jpeg(v, (96, 64)), jpeg(0, (16, 16))) for v in (10, 90, 170)]
    stream = b"".join(part(f) for f in frames)
    for step in (1, 2, 7, 1000):
        s, out = JpegSplitter(), []
        for k in range(0, len(stream), step):
            s.feed(stream[k:k + step])
            while (f := s.next()) is not None:
                out.append(f)
        assert out == frames, step


def test_data_without_frames_is_a_stall_within_the_read_timeout():
    """Only each socket read had a timeout: a camera that kept sending data without a frame in it
    blocked read() for as long as it sent (for ever, for a live camera)."""
    stop = threading.Event()

    def script(c):
        c.sendall(HEAD + part(jpeg(10)))
        t0 = time.monotonic()
        while not stop.is_set() and time.monotonic() - t0 < 4:  # (the old code waited all this time)
            c.sendall(part(b"keep-alive", b"Content-Type: text/plain\r\n"))
            time.sleep(0.05)

    try:
        with Camera(script) as cam, open_source(cam.url, FAST) as src:
            src.read()
            t = time.monotonic()
            with pytest.raises(CaptureError, match=r"stalled: .*frame for 0\.5 s"):
                src.read()
            assert time.monotonic() - t < 2
    finally:
        stop.set()


def test_a_silent_camera_stalls_after_the_read_timeout_not_the_open_timeout():
    """An MJPEG response ends with its connection, so http.client hands the socket to the
    response and conn.sock is None: the read timeout was never set, and every read waited the
    open timeout (10 s by default) while the error said read_timeout_s."""
    def script(c):
        c.sendall(HEAD + part(jpeg(10)))
        time.sleep(6)

    with Camera(script) as cam, open_source(cam.url, CaptureOptions(open_timeout_s=5, read_timeout_s=0.5)) as src:
        src.read()
        t = time.monotonic()
        with pytest.raises(CaptureError, match="stalled"):
            src.read()
        assert time.monotonic() - t < 2


def test_a_web_page_is_refused_with_a_clear_error():
    """The camera's HTML page (the stream's path left out) was read as a stream that closed,
    then reconnected to for ever."""
    def script(c):
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html>login</html>")

    with Camera(script) as cam:
        with pytest.raises(CaptureError, match="text/html.*not an MJPEG stream"):
            open_source(cam.url, FAST).open()


def test_a_redirect_names_its_target():
    def script(c):
        c.sendall(b"HTTP/1.0 302 Found\r\nLocation: /video?x=1\r\nContent-Length: 0\r\n\r\n")

    with Camera(script) as cam:
        with pytest.raises(CaptureError, match=r"302 Found \(redirects to http://127\.0\.0\.1:\d+/video\?x=1"):
            open_source(cam.url, FAST).open()


@pytest.mark.parametrize("status", [b"401 Unauthorized", b"404 Not Found", b"500 Internal Server Error"])
def test_http_errors_are_capture_errors(status):
    def script(c):
        c.sendall(b"HTTP/1.0 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    with Camera(script) as cam:
        with pytest.raises(CaptureError, match=status.decode()):
            open_source(cam.url, FAST).open()


def test_a_non_ascii_path_is_percent_encoded():
    """http.client raised UnicodeEncodeError (a traceback) for a path with a non-ASCII letter."""
    def script(c):
        c.sendall(HEAD + part(jpeg(10)))
        time.sleep(1)

    with Camera(script) as cam:
        url = cam.url.replace("/s.mjpg", "/kamera ström.mjpg?name=vor%20tür")
        with open_source(url, FAST) as src:
            src.read()
    assert cam.requests[0].startswith(b"GET /kamera%20str%C3%B6m.mjpg?name=vor%20t%C3%BCr HTTP/1.1\r\n")


def test_an_ipv6_host_without_a_port_connects_to_port_80(monkeypatch):
    """http://[::1]/x connected to '::' port 1: given no port, http.client takes the last group
    of an IPv6 address for one."""
    seen = []

    class Recorder(http.client.HTTPConnection):
        def connect(self):
            seen.append((self.host, self.port))
            raise ConnectionRefusedError(111, "refused")

    monkeypatch.setattr(mjpeg_http.http.client, "HTTPConnection", Recorder)
    for url, expected in [("http://[::1]/x", ("::1", 80)), ("http://[fe80::1234]/x", ("fe80::1234", 80)),
                          ("http://cam/x", ("cam", 80))]:
        with pytest.raises(CaptureError, match="cannot connect"):
            open_source(url, FAST).open()
        assert seen[-1] == expected


def test_an_ipv6_literal_with_a_port_reads_frames():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        cam = Camera(lambda c: (c.sendall(HEAD + part(jpeg(10))), time.sleep(1)), "::1", socket.AF_INET6)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with cam, open_source(cam.url, FAST) as src:
        assert src.read().shape == (48, 64, 3)


def test_a_frame_that_never_ends_is_bounded(monkeypatch):
    monkeypatch.setattr(mjpeg_http, "MAX_FRAME_BYTES", 1 << 20)

    def script(c):
        c.sendall(HEAD + b"--f\r\n\r\n" + jpeg(10)[:-2])
        for _ in range(40):
            c.sendall(b"\x00" * 65536)

    with Camera(script) as cam, open_source(cam.url, CaptureOptions(open_timeout_s=3, read_timeout_s=3)) as src:
        with pytest.raises(CaptureError, match="without a complete JPEG frame"):
            src.read()


def test_the_first_frame_may_take_the_open_timeout():
    """As for the OpenCV sources: a camera may take a moment to send its first frame."""
    def script(c):
        c.sendall(HEAD)
        time.sleep(1)
        c.sendall(part(jpeg(10)))
        time.sleep(2)

    with Camera(script) as cam, open_source(cam.url, CaptureOptions(open_timeout_s=3, read_timeout_s=0.3)) as src:
        assert src.read().shape == (48, 64, 3)
        with pytest.raises(CaptureError, match="stalled: no frame for 0.3 s"):
            src.read()


def test_a_server_closing_mid_frame_is_reported():
    def script(c):
        c.sendall(HEAD + part(jpeg(10)) + b"--f\r\n\r\n" + jpeg(20)[:100])

    with Camera(script) as cam, open_source(cam.url, FAST) as src:
        src.read()
        with pytest.raises(CaptureError, match="closed the connection"):
            src.read()


def _trickle(c, data: bytes, every_s: float) -> None:
    for b in data:
        c.sendall(bytes([b]))
        time.sleep(every_s)


def test_a_camera_trickling_its_answer_is_cut_at_the_open_timeout():
    """The socket timeout bounds each receive alone: a camera sending its status line and headers a
    byte every 0.1 s held an open() of 1 s for 7 s, and one with longer headers for ever."""
    def script(c):
        _trickle(c, HEAD[:-2] + b"X-Pad: " + b"p" * 200 + b"\r\n\r\n", 0.05)

    with Camera(script) as cam:
        src = open_source(cam.url, CaptureOptions(open_timeout_s=1.0, read_timeout_s=0.5))
        t = time.monotonic()
        with pytest.raises(CaptureError, match="no complete answer within 1 s"):
            src.open()
        assert time.monotonic() - t < 2.5
        src.close()


def test_a_chunked_stream_trickling_its_chunk_sizes_stalls_within_the_read_timeout():
    """read1() reads a chunk-size line with several receives, each with the socket timeout: a read
    of 1 s took 12 s against a camera trickling that line."""
    frame = part(jpeg(10))

    def script(c):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(frame) + frame + b"\r\n")
        time.sleep(0.2)
        _trickle(c, b"%x;" % len(frame) + b"e" * 60 + b"\r\n", 0.2)

    with Camera(script) as cam, open_source(cam.url, CaptureOptions(open_timeout_s=2, read_timeout_s=1.0)) as src:
        src.read()
        t = time.monotonic()
        with pytest.raises(CaptureError, match=r"stalled: no frame for 1 s"):
            src.read()
        assert time.monotonic() - t < 2.5
