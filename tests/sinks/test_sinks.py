import urllib.error
import urllib.request

import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import ConfigError
from edgefill.sinks import FrameResult, ImageFolderSink, MjpegPreviewSink, VideoFileSink


def result(i=0, value=100):
    img = np.full((64, 96, 3), value, np.uint8)
    return FrameResult(i, img, np.zeros((64, 96), np.uint8), 0.0)


def test_image_folder_sink(tmp_path):
    s = ImageFolderSink(tmp_path / "o")
    for i in range(3):
        s.write(result(i))
    s.close()
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["000000.png", "000001.png", "000002.png"]


def test_video_sink_writes_under_temporary_name_until_closed(tmp_path):
    s = VideoFileSink(tmp_path / "v.avi", fps=10)
    s.write(result())
    assert not (tmp_path / "v.avi").exists() and (tmp_path / "v.part.avi").exists()
    s.close()
    assert (tmp_path / "v.avi").exists() and not (tmp_path / "v.part.avi").exists()
    with pytest.raises(ConfigError):
        VideoFileSink(tmp_path / "v.gif")


def test_preview_binds_loopback_and_round_trips_frames():
    sink = MjpegPreviewSink(port=0, max_fps=1000)
    try:
        assert sink.server.server_address[0] == "127.0.0.1"
        src = open_source(f"http://127.0.0.1:{sink.port}/stream.mjpg", CaptureOptions(read_timeout_s=2))
        sink.write(result(0, 200))
        src.open()
        sink.write(result(1, 50))
        frame = src.read()
        assert frame.shape == (64, 96, 3) and abs(int(frame.mean()) - 50) < 5 or abs(int(frame.mean()) - 200) < 5
        src.close()
    finally:
        sink.close()


def test_preview_refuses_non_loopback_without_flag_and_token():
    with pytest.raises(ConfigError, match="not loopback"):
        MjpegPreviewSink(host="0.0.0.0", port=0)
    with pytest.raises(ConfigError, match="token"):
        MjpegPreviewSink(host="0.0.0.0", port=0, allow_remote=True)


def test_preview_token_is_enforced():
    token = "t0ken-0123456789abcdef"
    sink = MjpegPreviewSink(host="127.0.0.1", port=0, token=token)
    try:
        base = f"http://127.0.0.1:{sink.port}/"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base, timeout=2)
        assert err.value.code == 401
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "?token=wrong", timeout=2)
        assert urllib.request.urlopen(base + f"?token={token}", timeout=2).status == 200
        req = urllib.request.Request(base, headers={"Authorization": f"Bearer {token}"})
        assert urllib.request.urlopen(req, timeout=2).status == 200
    finally:
        sink.close()
