"""rtsp:// transport (CaptureOptions.rtsp_transport, --rtsp-transport): what reaches FFmpeg, and
that OPENCV_FFMPEG_CAPTURE_OPTIONS is set only for the open and put back after it.

A fake RTSP server answers OPTIONS and DESCRIBE, records the Transport header of every SETUP and
refuses it: FFmpeg tries each transport it is allowed, so the list says which ones it was given.
Other tests replace ``cv2.VideoCapture`` with a recorder of the environment at call time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

import cv2
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture import rtsp
from edgefill.errors import CaptureError, ConfigError

from .conftest import tcp_server

ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
SDP = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=fake\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n")
DEADLINE = 10.0  # generous: only code that never returns gets near it


def _answer(conn: socket.socket, setups: list[str]) -> None:
    """Answer one RTSP client: OPTIONS and DESCRIBE succeed, every SETUP is refused (461)."""
    reader = conn.makefile("rb")
    with contextlib.suppress(OSError), conn:
        while True:
            lines = []
            while True:  # one request: lines up to an empty one (no request here has a body)
                raw = reader.readline()
                if not raw:
                    return  # the client hung up
                line = raw.decode("latin-1").rstrip("\r\n")
                if not line:
                    break
                lines.append(line)
            if not lines:
                continue
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            method, cseq = lines[0].split()[0], headers.get("cseq", "0")
            if method == "DESCRIBE":
                reply = (f"200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                         f"Content-Length: {len(SDP)}\r\n\r\n{SDP}")
            elif method == "SETUP":
                setups.append(headers.get("transport", ""))
                reply = f"461 Unsupported Transport\r\nCSeq: {cseq}\r\n\r\n"
            else:
                reply = f"200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
            conn.sendall(f"RTSP/1.0 {reply}".encode())


@pytest.fixture
def rtsp_server():
    """(port, list of the SETUP Transport headers received)."""
    setups: list[str] = []

    def answer_on_a_thread(conn):
        threading.Thread(target=_answer, args=(conn, setups), daemon=True).start()

    with tcp_server(answer_on_a_thread) as port:
        yield port, setups


def _ffmpeg() -> bool:
    return any("FFMPEG:" in line and "YES" in line for line in cv2.getBuildInformation().splitlines())


@pytest.mark.skipif(not _ffmpeg(), reason="OpenCV built without FFmpeg")
@pytest.mark.parametrize("transport, expected", [("udp", "RTP/AVP/UDP;unicast"), ("tcp", "RTP/AVP/TCP;unicast")])
def test_the_transport_reaches_ffmpeg(rtsp_server, monkeypatch, transport, expected):
    """OpenCV's default tries TCP, then UDP, then multicast; asked for one, FFmpeg tries that one only."""
    port, setups = rtsp_server
    monkeypatch.delenv(ENV, raising=False)
    src = open_source(f"rtsp://127.0.0.1:{port}/live", CaptureOptions(open_timeout_s=3.0, rtsp_transport=transport))
    with pytest.raises(CaptureError, match="cannot open"):
        src.open()
    src.close()
    assert setups and all(s.startswith(expected) for s in setups), setups
    assert ENV not in os.environ


@pytest.mark.skipif(not _ffmpeg(), reason="OpenCV built without FFmpeg")
def test_without_a_transport_opencv_chooses(rtsp_server, monkeypatch):
    port, setups = rtsp_server
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(CaptureError, match="cannot open"):
        open_source(f"rtsp://127.0.0.1:{port}/live", CaptureOptions(open_timeout_s=3.0)).open()
    assert {s.split(";")[0] for s in setups} >= {"RTP/AVP/TCP", "RTP/AVP/UDP"}, setups


class Recorder:
    """Stands in for cv2.VideoCapture: records the environment variable at call time, then fails,
    blocks until ``go`` is set, or raises, as told."""

    def __init__(self, block: threading.Event | None = None, error: BaseException | None = None):
        self.seen: list[str | None] = []
        self.entered = threading.Event()
        self.block, self.error = block, error

    def __call__(self, uri, api, params):
        self.seen.append(os.environ.get(ENV))
        self.entered.set()
        if self.block is not None:
            self.block.wait(DEADLINE)
        if self.error is not None:
            raise self.error
        return None  # "cannot open"


def _wait_for_opens_to_end():
    """Until the abandoned open, let go, has returned in its thread (failing after DEADLINE)."""
    with rtsp._CAPTURE_OPTIONS.changed:
        assert rtsp._CAPTURE_OPTIONS.changed.wait_for(lambda: rtsp._CAPTURE_OPTIONS.running == 0, DEADLINE)


def _abandoned_open(transport, monkeypatch):
    """(go, recorder, source): an open asking for ``transport`` given up on while it blocks in
    cv2.VideoCapture, until ``go`` is set."""
    go = threading.Event()
    rec = Recorder(block=go)
    monkeypatch.setattr(rtsp.cv2, "VideoCapture", rec)
    src = _open(transport, open_timeout_s=0.3)
    try:
        with pytest.raises(CaptureError, match="did not return"):
            src.open()
    except BaseException:
        go.set()
        raise
    assert rec.entered.is_set()
    return go, rec, src


def _open(transport, **kw):
    return open_source("rtsp://admin:hunter2@cam.invalid/live",
                       CaptureOptions(rtsp_transport=transport, **{"open_timeout_s": 2.0, **kw}))


@pytest.mark.parametrize("before, transport, during", [
    (None, "udp", "rtsp_transport;udp"),
    ("", "tcp", "rtsp_transport;tcp"),
    ("max_delay;500000|rtsp_transport;tcp| stimeout;5000000", "udp",
     "max_delay;500000| stimeout;5000000|rtsp_transport;udp"),
    ("max_delay;500000", None, "max_delay;500000"),
    (None, None, None),
])
def test_the_variable_is_set_for_the_open_only(monkeypatch, before, transport, during):
    """The user's own entries survive; the variable is as it was afterwards (unset stays unset)."""
    if before is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, before)
    rec = Recorder()
    monkeypatch.setattr(rtsp.cv2, "VideoCapture", rec)
    src = _open(transport)
    with pytest.raises(CaptureError, match="cannot open"):
        src.open()
    src.close()
    assert rec.seen == [during]
    assert os.environ.get(ENV) == before


def test_the_variable_is_put_back_when_the_open_raises(monkeypatch):
    monkeypatch.setenv(ENV, "max_delay;1")
    monkeypatch.setattr(rtsp.cv2, "VideoCapture", Recorder(error=cv2.error("boom")))
    with pytest.raises(cv2.error):
        _open("udp").open()
    assert os.environ[ENV] == "max_delay;1"
    assert rtsp._CAPTURE_OPTIONS.running == 0


def test_an_abandoned_open_puts_the_variable_back_when_it_returns(monkeypatch):
    """The open runs in the capture thread; given up on, it keeps the variable until FFmpeg
    returns, then puts it back. A source asking for another transport meanwhile neither sees the
    first one's value nor hangs: it waits at most half its open timeout and says why."""
    monkeypatch.delenv(ENV, raising=False)
    go, first, src = _abandoned_open("udp", monkeypatch)
    try:
        assert first.seen == ["rtsp_transport;udp"]

        second = Recorder()
        monkeypatch.setattr(rtsp.cv2, "VideoCapture", second)
        other = _open(None, open_timeout_s=0.4)
        with pytest.raises(CaptureError, match="another rtsp:// source opening with another transport") as err:
            other.open()
        other.close()
        assert second.seen == [] and "hunter2" not in str(err.value)
    finally:
        go.set()
    src.close()
    _wait_for_opens_to_end()
    assert ENV not in os.environ


def test_opens_asking_for_the_same_transport_run_together(monkeypatch):
    """Several cameras of one process (same transport) still open at the same time."""
    monkeypatch.setenv(ENV, "max_delay;1")
    go, _, src = _abandoned_open("tcp", monkeypatch)
    try:
        second = Recorder()
        monkeypatch.setattr(rtsp.cv2, "VideoCapture", second)
        with pytest.raises(CaptureError, match="cannot open rtsp"):
            _open("tcp", open_timeout_s=5.0).open()
        assert second.seen == ["max_delay;1|rtsp_transport;tcp"]
        assert os.environ[ENV] == "max_delay;1|rtsp_transport;tcp"  # the first open is still running
    finally:
        go.set()
    src.close()
    _wait_for_opens_to_end()
    assert os.environ[ENV] == "max_delay;1"


def test_a_bad_transport_is_one_config_error():
    with pytest.raises(ConfigError, match="rtsp_transport must be one of tcp, udp, udp_multicast, http.*'tpc'"):
        CaptureOptions(rtsp_transport="tpc")


def test_rtsps_refuses_a_transport_other_than_tcp(monkeypatch):
    """FFmpeg runs rtsps:// over TCP whatever it is asked: udp would be silently ignored."""
    monkeypatch.setattr(rtsp.cv2, "VideoCapture", Recorder())
    with pytest.raises(ConfigError, match="rtsps:// always runs over TCP"):
        open_source("rtsps://cam.invalid/live", CaptureOptions(rtsp_transport="udp")).open()
    with pytest.raises(CaptureError, match="cannot open"):
        open_source("rtsps://cam.invalid/live", CaptureOptions(rtsp_transport="tcp")).open()


@pytest.fixture
def stop_at_inpainter(monkeypatch):
    """Record the CaptureOptions `edgefill run` opens its source with, then stop (exit 2)."""
    import edgefill.capture
    import edgefill.inpainter
    from edgefill.errors import InputError

    seen = {}

    def fake_open_source(uri, options=None):
        seen["options"] = options
        return object()

    def fake_inpainter(**kwargs):
        raise InputError("stopped here")

    monkeypatch.setattr(edgefill.capture, "open_source", fake_open_source)
    monkeypatch.setattr(edgefill.inpainter, "Inpainter", fake_inpainter)
    return seen


def test_the_cli_option_reaches_the_capture_options(tmp_path, stop_at_inpainter, capsys):
    from edgefill.cli import main

    common = ["--mask", "rect:0,0,5,5", "--stats-json", str(tmp_path / "s.json")]
    assert main(["run", "rtsp://cam/live", *common, "--rtsp-transport", "udp"]) == 2
    assert "stopped here" in capsys.readouterr().err
    assert stop_at_inpainter["options"].rtsp_transport == "udp"
    assert main(["run", "rtsp://cam/live", *common]) == 2
    assert stop_at_inpainter["options"].rtsp_transport is None


def test_the_cli_refuses_the_option_for_other_sources(tmp_path, stop_at_inpainter, capsys):
    from edgefill.cli import main

    code = main(["run", "http://admin:hunter2@cam/s.mjpg", "--mask", "rect:0,0,5,5", "--stats-json",
                 str(tmp_path / "s.json"), "--rtsp-transport", "tcp"])
    err = capsys.readouterr().err
    assert code == 2 and "--rtsp-transport applies to rtsp:// sources only" in err and "hunter2" not in err
    assert "options" not in stop_at_inpainter


def test_an_opencv_without_the_timeout_properties_still_opens(monkeypatch):
    """OpenCV < 4.5.4 (Raspberry Pi OS Bullseye's 4.5.1) has no CAP_PROP_OPEN_TIMEOUT_MSEC: the
    open was an AttributeError in the capture thread, not a CaptureError the source reconnects on."""
    calls = []

    def capture(*args):
        calls.append(args)
        return None  # "cannot open"

    monkeypatch.delattr(cv2, "CAP_PROP_OPEN_TIMEOUT_MSEC")
    monkeypatch.setattr(rtsp.cv2, "VideoCapture", capture)
    src = _open("tcp")
    with pytest.raises(CaptureError, match="cannot open"):
        src.open()
    src.close()
    assert calls == [("rtsp://admin:hunter2@cam.invalid/live", cv2.CAP_FFMPEG)]
