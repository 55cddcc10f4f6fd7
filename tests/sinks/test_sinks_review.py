"""Output sinks under failures a deployed camera meets: a full disk while recording, a source that
reports an impossible frame rate, a preview token sent in a header."""

from __future__ import annotations

import http.client
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgefill.errors import ConfigError, InputError
from edgefill.sinks import FrameResult, MjpegPreviewSink, VideoFileSink
from edgefill.sinks import files as files_module


def _result(i, source_fps=None, shape=(48, 64, 3)):
    rng = np.random.default_rng(i)
    img = rng.integers(0, 255, shape, dtype=np.uint8)
    return FrameResult(i, img, np.zeros(shape[:2], np.uint8), 0.0, source_fps=source_fps)


def _frames_decoded(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    n = 0
    while cap.read()[0]:
        n += 1
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, fps


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import numpy as np
    from edgefill.errors import InputError
    from edgefill.sinks import FrameResult, VideoFileSink
    out = Path(sys.argv[1])
    sink = VideoFileSink(out, fps=25)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
    rng = np.random.default_rng(0)
    for i in range(40):
        img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        sink.write(FrameResult(i, img, np.zeros((120, 160), np.uint8), 0.0))
    try:
        sink.close()
    except InputError as exc:
        print("InputError:", exc)
    else:
        print("closed")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE stands in for a full disk on Linux")
@pytest.mark.parametrize("ext", [".mp4", ".avi", ".mkv"])
def test_a_video_whose_writes_failed_is_kept_as_partial_not_under_the_final_name(tmp_path, ext):
    """OpenCV's VideoWriter.write returns nothing: with the disk full, close() used to rename the
    unfinished file (mp4: no index, unreadable) to the final name and report success, replacing
    a good output of an earlier run."""
    out = tmp_path / f"out{ext}"
    out.write_bytes(b"a good video of an earlier run")
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "InputError:" in proc.stdout and "failed part-way" in proc.stdout, proc.stdout
    assert out.read_bytes() == b"a good video of an earlier run"
    assert (tmp_path / f"out.partial{ext}").exists() and not (tmp_path / f"out.part{ext}").exists()


def test_frames_the_writer_dropped_make_close_fail(tmp_path, monkeypatch):
    """Any frame OpenCV's writer silently loses (a failed write) shows up at close, not as a
    shorter video under the final name."""
    real = cv2.VideoWriter

    class LosesFramesAfterFive:
        def __init__(self, *args):
            self._w, self._n = real(*args), 0

        def write(self, img):
            self._n += 1
            if self._n <= 5:
                self._w.write(img)

        def __getattr__(self, name):
            return getattr(self._w, name)

    monkeypatch.setattr(files_module.cv2, "VideoWriter", LosesFramesAfterFive)
    sink = VideoFileSink(tmp_path / "o.mp4", fps=25)
    for i in range(30):
        sink.write(_result(i))
    with pytest.raises(InputError, match=r"30 frames were written, FFmpeg finds 5 in it.*o\.partial\.mp4"):
        sink.close()
    assert not (tmp_path / "o.mp4").exists() and (tmp_path / "o.partial.mp4").exists()


@pytest.mark.parametrize("ext", [".mp4", ".avi", ".mkv", ".mov"])
@pytest.mark.parametrize("fps", [29.97, 1.0, 0.5])
def test_a_complete_video_closes_normally(tmp_path, ext, fps):
    sink = VideoFileSink(tmp_path / f"o{ext}", fps=fps)
    for i in range(7):
        sink.write(_result(i))
    sink.close()
    assert _frames_decoded(tmp_path / f"o{ext}")[0] == 7


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_a_source_rate_no_video_can_have_gives_25_fps_and_keeps_every_frame(tmp_path, ext, caplog):
    """OpenCV reports the RTP clock (90000) as the frame rate of some RTSP streams: the .avi
    writer then silently dropped about a quarter of the frames, the .mp4 one refused to open."""
    sink = VideoFileSink(tmp_path / f"o{ext}")
    with caplog.at_level(logging.WARNING):
        for i in range(40):
            sink.write(_result(i, source_fps=90000.0))
        sink.close()
    n, fps = _frames_decoded(tmp_path / f"o{ext}")
    assert (n, fps) == (40, 25.0)
    assert "90000 fps" in caplog.text


@pytest.mark.parametrize("fps", [1001, 5000, 90000])
def test_an_fps_above_what_video_files_keep_is_a_config_error(tmp_path, fps):
    """fps=5000 into .avi kept 11 of 50 frames, without a word."""
    with pytest.raises(ConfigError, match=rf"at most 1000, got {fps}"):
        VideoFileSink(tmp_path / "o.avi", fps=fps)


def test_the_highest_fps_allowed_keeps_every_frame(tmp_path):
    sink = VideoFileSink(tmp_path / "o.avi", fps=1000)
    for i in range(30):
        sink.write(_result(i))
    sink.close()
    assert _frames_decoded(tmp_path / "o.avi")[0] == 30


def _status(sink, path, headers=()):
    c = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
    try:
        c.putrequest("GET", path)
        for k, v in headers:
            c.putheader(k, v)
        c.endheaders()
        return c.getresponse().status
    finally:
        c.close()


def test_a_non_ascii_token_in_the_authorization_header_is_accepted():
    """http.server decodes headers as Latin-1: a UTF-8 token sent as ``Authorization: Bearer``
    (curl -H) was compared as mojibake and refused with 401."""
    token = "pässwörd-0123456789-ü"
    sink = MjpegPreviewSink(port=0, token=token)
    try:
        assert _status(sink, "/", [("Authorization", ("Bearer " + token).encode())]) == 200
        assert _status(sink, "/", [("Authorization", ("bearer " + token).encode())]) == 200
        assert _status(sink, "/", [("Authorization", ("Bearer " + token[:-1]).encode())]) == 401
        assert _status(sink, "/", [("Authorization", b"Bearer \xff\xfe")]) == 401
        assert _status(sink, "/") == 401
    finally:
        sink.close()
