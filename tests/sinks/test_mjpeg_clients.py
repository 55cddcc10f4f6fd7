"""The MJPEG preview under awkward viewers: early, silent, stalled, too many, garbage, odd tokens."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest

from edgefill.errors import ConfigError
from edgefill.sinks import FrameResult, MjpegPreviewSink, mjpeg


def _result(index, value=128, shape=(48, 64, 3)):
    image = np.full(shape, value, np.uint8)
    return FrameResult(index, image, np.zeros(shape[:2], np.uint8), time.monotonic())


def _connect(sink, request: bytes | None = None, timeout=3.0):
    c = socket.create_connection(("127.0.0.1", sink.port), timeout=timeout)
    if request is not None:
        c.sendall(request)
    return c


def _read_until(conn, marker: bytes, limit=1 << 20) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_viewer_that_comes_before_the_first_frame_waits_for_it():
    """It was dropped at once with a TypeError (len(None)) in the server thread."""
    sink = MjpegPreviewSink(port=0, max_fps=1000)
    try:
        c = _connect(sink, b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        assert b"200 OK" in _read_until(c, b"\r\n\r\n")
        time.sleep(0.2)  # the server thread now waits for a frame
        sink.write(_result(0))
        data = _read_until(c, b"\xff\xd9")  # the end of the first JPEG
        assert b"--edgefillframe" in data and b"Content-Type: image/jpeg" in data and b"\xff\xd8" in data
        c.close()
    finally:
        sink.close()


def test_a_silent_connection_is_dropped_after_the_client_timeout():
    """A connection that never sent a request held its thread for ever."""
    sink = MjpegPreviewSink(port=0, client_timeout_s=0.3)
    try:
        c = _connect(sink)
        t = time.monotonic()
        assert c.recv(1024) == b""  # the server closed it
        assert time.monotonic() - t < 2.5
        c.close()
    finally:
        sink.close()


def test_connections_beyond_max_clients_are_refused_with_503_and_slots_come_back():
    """Every connection got a thread, without bound."""
    sink = MjpegPreviewSink(port=0, max_clients=2, client_timeout_s=5)
    try:
        held = [_connect(sink) for _ in range(2)]
        time.sleep(0.2)
        extra = _connect(sink)
        assert _read_until(extra, b"\r\n\r\n").startswith(b"HTTP/1.0 503")
        extra.close()
        for c in held:
            c.close()  # their threads end, so their slots come back
        time.sleep(0.3)
        assert urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/", timeout=3).status == 200
    finally:
        sink.close()


def _both_served(sink) -> bool:
    """Whether two connections at once are both served (the sinks here have 2 slots)."""
    conns = [_connect(sink) for _ in range(2)]  # both held open before either asks
    try:
        time.sleep(0.1)
        for c in conns:
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return all(_read_until(c, b"\r\n\r\n").startswith(b"HTTP/1.0 200") for c in conns)
    except OSError:  # reset: refused
        return False
    finally:
        for c in conns:
            c.close()


def test_a_stalled_viewer_blocks_neither_the_pipeline_nor_other_viewers_and_is_dropped():
    """A viewer that stopped reading held its thread (and now its slot) for ever."""
    sink = MjpegPreviewSink(port=0, max_fps=1000, quality=100, max_clients=2, client_timeout_s=0.5)
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(4)]  # ~100 KB JPEGs
    try:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", sink.port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")  # and never reads
        time.sleep(0.1)
        t = time.monotonic()
        for i in range(40):
            sink.write(FrameResult(i, noise[i % 4], np.zeros((240, 320), np.uint8), 0.0))
            time.sleep(0.002)
        assert time.monotonic() - t < 2.0  # write() never waits on a viewer
        good = _connect(sink, b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        _read_until(good, b"\r\n\r\n")
        sink.write(_result(99, 7))
        assert b"\xff\xd9" in _read_until(good, b"\xff\xd9")
        good.close()
        # the stalled viewer's thread gives up after the timeout, so both slots are free again. The
        # probe's answer is kept: probing once more at once could find the slots of the probe just
        # closed not yet given back (their threads end a moment after) and fail the test by chance
        deadline = time.monotonic() + 5
        served = False
        while not served and time.monotonic() < deadline:
            sink.write(FrameResult(100, noise[0], np.zeros((240, 320), np.uint8), 0.0))  # frames keep coming
            time.sleep(0.05)
            served = _both_served(sink)
        assert served
        stalled.close()
    finally:
        sink.close()


def test_a_viewer_that_leaves_while_no_frames_come_frees_its_slot(monkeypatch):
    """A closed tab kept its thread until the next frame: with the source paused, reloads used up
    every slot."""
    monkeypatch.setattr(mjpeg, "IDLE_CHECK_S", 0.1)
    sink = MjpegPreviewSink(port=0, max_clients=2)
    try:
        for _ in range(4):  # more viewers than slots, one after another, and no frame at all
            c = _connect(sink, b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
            assert _read_until(c, b"\r\n\r\n").startswith(b"HTTP/1.0 200")
            c.close()
            time.sleep(0.3)
        assert _both_served(sink)
    finally:
        sink.close()


def test_garbage_requests_are_answered_and_the_server_keeps_serving():
    sink = MjpegPreviewSink(port=0)
    try:
        for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n",
                     b"BREW /pot HTTP/1.0\r\n\r\n"):
            c = _connect(sink, junk)
            reply = _read_until(c, b"\r\n\r\n")
            assert reply == b"" or re.search(rb"\b(400|414|501)\b", reply), reply[:80]
            c.close()
        assert urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/", timeout=3).status == 200
    finally:
        sink.close()


def test_the_index_page_links_the_stream_with_a_token_that_needs_escaping():
    """The token was pasted into the page raw: '&', '#' or '"' broke the stream's URL."""
    token = 'a&b=c#d"e<f>+ g%h-0123456789'
    sink = MjpegPreviewSink(port=0, token=token, max_fps=1000)
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{sink.port}/", headers={"Authorization": f"Bearer {token}"})
        page = urllib.request.urlopen(req, timeout=3).read().decode()
        src = html.unescape(re.search(r'<img src="([^"]*)"', page).group(1))
        c = _connect(sink, f"GET {src} HTTP/1.0\r\n\r\n".encode())
        assert _read_until(c, b"\r\n\r\n").startswith(b"HTTP/1.0 200")
        c.close()
    finally:
        sink.close()


@pytest.mark.parametrize("kwargs,says", [
    ({"max_fps": 0}, "max_fps"), ({"max_fps": -5}, "max_fps"), ({"max_fps": float("nan")}, "max_fps"),
    ({"quality": 101}, "quality"), ({"quality": -1}, "quality"), ({"quality": 80.5}, "quality"),
    ({"max_clients": 0}, "max_clients"), ({"client_timeout_s": 0}, "client_timeout_s"),
])
def test_bad_settings_are_config_errors(kwargs, says):
    """max_fps=0 raised ZeroDivisionError; the others were accepted."""
    with pytest.raises(ConfigError, match=says):
        MjpegPreviewSink(port=0, **kwargs)


def test_close_is_prompt_with_viewers_connected():
    sink = MjpegPreviewSink(port=0, client_timeout_s=30)
    conns = [_connect(sink, b"GET /stream.mjpg HTTP/1.0\r\n\r\n") for _ in range(3)] + [_connect(sink)]
    time.sleep(0.2)
    t = time.monotonic()
    sink.close()
    assert time.monotonic() - t < 2.0
    assert not any(th.name == "edgefill-preview" and th.is_alive() for th in threading.enumerate())
    for c in conns:
        c.close()


def test_frames_are_encoded_only_while_someone_watches(monkeypatch):
    """A JPEG encode per frame costs milliseconds of a Pi's CPU: it was done with no viewer too."""
    encodes = []
    real = mjpeg.cv2.imencode
    monkeypatch.setattr(mjpeg.cv2, "imencode", lambda *a, **k: encodes.append(1) or real(*a, **k))
    sink = MjpegPreviewSink(port=0, max_fps=1000)
    try:
        for i in range(5):
            sink.write(_result(i))
        assert encodes == []
        c = _connect(sink, b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        assert b"200 OK" in _read_until(c, b"\r\n\r\n")
        deadline = time.monotonic() + 3
        while not sink._viewers and time.monotonic() < deadline:
            time.sleep(0.01)
        sink.write(_result(5))
        assert b"\xff\xd8" in _read_until(c, b"\xff\xd9") and len(encodes) == 1
        c.close()
    finally:
        sink.close()


def test_a_client_trickling_its_request_is_dropped_after_the_client_timeout():
    """The socket timeout restarts with every byte: a client sending a header byte every 0.2 s held
    its slot for as long as it liked (with 16 of them, the preview was no one else's)."""
    sink = MjpegPreviewSink(port=0, client_timeout_s=0.5, max_clients=1)
    try:
        c = _connect(sink, b"GET / HTTP/1.0\r\nX-A: ")
        t = time.monotonic()
        closed = False
        while time.monotonic() - t < 4.0:
            time.sleep(0.2)
            try:
                c.sendall(b"a")
            except OSError:
                closed = True
                break
            if mjpeg._readable_now(c) and c.recv(1024) == b"":
                closed = True
                break
        assert closed and time.monotonic() - t < 2.5
        c.close()
        with urllib.request.urlopen(sink.url, timeout=3) as r:  # the slot is free for a viewer
            assert r.status == 200
    finally:
        sink.close()


def test_a_reset_connection_prints_no_traceback_and_the_token_is_not_logged(capfd, caplog):
    """socketserver printed a traceback to stderr for a peer that reset its connection (any peer
    could fill a service's log); the request line, token and all, was logged at -vv."""
    import logging
    import struct

    sink = MjpegPreviewSink(port=0, token="s3cret-token-0123456789")
    try:
        c = _connect(sink, b"GET / HTTP/1.0\r\nX-A: b")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        c.close()
        with caplog.at_level(logging.DEBUG, logger="edgefill.sinks.mjpeg"):
            with urllib.request.urlopen(sink.url + "?token=s3cret-token-0123456789", timeout=3) as r:
                assert r.status == 200
            time.sleep(0.3)
    finally:
        sink.close()
    assert "Traceback" not in capfd.readouterr().err
    assert "s3cret" not in caplog.text and "token=***" in caplog.text
