import urllib.error
import urllib.request

import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import ConfigError, InputError
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


def test_video_sink_leaves_a_file_under_its_temporary_name_alone(tmp_path, caplog):
    """A file already named v.part.avi (a killed run's unfinished video, or the user's) was
    truncated by the writer and then moved over v.avi, gone without a word."""
    for name in ("v.part.avi", "v.part-2.avi"):
        (tmp_path / name).write_bytes(b"a killed run's frames")
    s = VideoFileSink(tmp_path / "v.avi", fps=10)
    assert s.tmp == tmp_path / "v.part-3.avi"
    assert "v.part.avi exists" in caplog.text
    s.write(result())
    s.close()
    assert (tmp_path / "v.avi").stat().st_size > 1000 and not s.tmp.exists()
    for name in ("v.part.avi", "v.part-2.avi"):
        assert (tmp_path / name).read_bytes() == b"a killed run's frames"


def test_unwritable_outputs_are_refused_when_the_sink_is_made(tmp_path):
    """-o under a file, or a video named like a folder: an InputError naming the path when the
    sink is made (the CLI's one-line error), not a traceback once frames arrive."""
    (tmp_path / "f.png").write_bytes(b"x")
    (tmp_path / "d.mp4").mkdir()
    with pytest.raises(InputError, match=r"f.png is not a folder"):
        VideoFileSink(tmp_path / "f.png" / "x.mp4")
    with pytest.raises(InputError, match=r"d.mp4: it is a folder"):
        VideoFileSink(tmp_path / "d.mp4")
    with pytest.raises(InputError, match=r"f.png is not a folder"):
        ImageFolderSink(tmp_path / "f.png" / "frames")
    VideoFileSink(tmp_path / "new" / "sub" / "v.avi")  # missing folders are made on the first frame
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".edgefill-write-check-*"))


def test_write_errors_are_input_errors_and_close_keeps_the_real_error(tmp_path, monkeypatch):
    """The output folder turned into a file after the sink was made, or OpenCV cannot open its
    writer: InputError naming the path, and close() after it has nothing to finalise (it tried
    to fsync a .part file that was never created and raised FileNotFoundError)."""
    d = tmp_path / "d"
    d.mkdir()
    video, images = VideoFileSink(d / "v.avi"), ImageFolderSink(d / "frames")
    d.rmdir()
    d.write_text("not a folder any more")
    with pytest.raises(InputError, match="cannot write .*v.avi"):
        video.write(result())
    with pytest.raises(InputError, match="cannot write .*000000.png"):
        images.write(result())
    video.close()

    class Unopenable:
        def __init__(self, *args):
            pass

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    import edgefill.sinks.files as files

    monkeypatch.setattr(files.cv2, "VideoWriter", Unopenable)
    sink = VideoFileSink(tmp_path / "v.mp4")
    with pytest.raises(InputError, match="OpenCV cannot write"):
        sink.write(result())
    sink.close()
    sink.close_partial()


def test_close_partial_keeps_frames_without_replacing_anything(tmp_path, caplog):
    target = tmp_path / "v.avi"
    target.write_bytes(b"a good video from an earlier run")
    kept = []
    for _ in range(2):
        s = VideoFileSink(target, fps=10)
        s.write(result(0))
        s.write(result(1))
        s.close_partial()
        kept.append(s.partial_path.name)
    assert kept == ["v.partial.avi", "v.partial-2.avi"]
    assert target.read_bytes() == b"a good video from an earlier run"
    assert not (tmp_path / "v.part.avi").exists()
    assert "the 2 frames written are kept in" in caplog.text and "is left as it was" in caplog.text
    s = VideoFileSink(tmp_path / "none.avi")
    s.close_partial()  # nothing written: no file at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.avi", "v.partial-2.avi", "v.partial.avi"]


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


@pytest.mark.parametrize("fps", [float("inf"), float("nan"), 0, -1, "30", True])
def test_video_sink_fps_must_be_a_finite_number(tmp_path, fps):
    """A string fps was a TypeError traceback from math.isfinite, and True was taken as 1 fps."""
    from edgefill.errors import ConfigError
    from edgefill.sinks import VideoFileSink

    with pytest.raises(ConfigError, match="fps must be a finite number > 0"):
        VideoFileSink(tmp_path / "o.mp4", fps=fps)
