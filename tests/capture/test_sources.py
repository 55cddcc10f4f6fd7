import logging
import sys
import time

import numpy as np
import pytest

from edgefill.capture import CaptureOptions, ResilientSource, list_schemes, open_source, redact_uri, scheme_of
from edgefill.capture.base import FrameSource
from edgefill.capture.gstreamer import csi_pipeline
from edgefill.errors import BackendUnavailableError, CaptureError, ConfigError
from edgefill.opencv_check import opencv_info

from ..fakes import FakeMjpegCamera, FakePicamera2, write_video

FAST = CaptureOptions(open_timeout_s=2, read_timeout_s=0.5, max_backoff_s=0.2)


def read_all(src, limit=10_000):
    frames = []
    while len(frames) < limit:
        f = src.read()
        if f is None:
            break
        frames.append(f)
    return frames


def test_all_schemes_registered():
    assert {"file", "images", "v4l2", "csi", "gst", "rtsp", "http", "picam"} <= set(list_schemes())


@pytest.mark.parametrize("uri,scheme", [("clip.mp4", "file"), ("file:///x.avi", "file"), ("v4l2:///dev/video0", "v4l2"),
                                         ("csi://0", "csi"), ("RTSP://h/s", "rtsp"), ("frames/*.png", "images"),
                                         ("picam://1", "picam"), ("gst://videotestsrc ! appsink", "gst")])
def test_scheme_of(uri, scheme):
    assert scheme_of(uri) == scheme


def test_unknown_scheme():
    with pytest.raises(ConfigError, match="unknown source scheme"):
        open_source("ftp://x/y")


@pytest.mark.parametrize("uri,leak", [("rtsp://admin:hunter2@10.1.1.1/live", "hunter2"),
                                      ("http://cam/stream?token=abc123&x=1", "abc123"),
                                      ("rtsp://user@host/s?password=pw9", "pw9")])
def test_redaction(uri, leak):
    red = redact_uri(uri)
    assert leak not in red and "***" in red


def test_video_file_reads_every_frame(tmp_path):
    path = write_video(tmp_path / "c.avi", 23)
    for uri in (str(path), f"file://{path}"):
        with open_source(uri) as src:
            frames = read_all(src)
        assert len(frames) == 23 and frames[0].shape == (240, 320, 3) and src.fps == pytest.approx(25)


def test_missing_video_file(tmp_path):
    with pytest.raises(CaptureError, match="does not exist"):
        open_source(str(tmp_path / "nope.mp4")).open()


def test_image_folder_and_glob_sorted(tmp_path):
    import cv2

    for i in (3, 1, 2):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    for uri in (str(tmp_path), str(tmp_path / "f*.png")):
        with open_source(uri) as src:
            assert [int(f[0, 0, 0]) for f in read_all(src)] == [1, 2, 3]
    with open_source(str(tmp_path), CaptureOptions(loop=True)) as src:
        assert len(read_all(src, limit=7)) == 7


def test_image_folder_numbers_frames_naturally_and_skips_hidden_files(tmp_path):
    """img_2 comes before img_10 (frames numbered without padding), and macOS's ._img_1.png
    resource files are not frames."""
    import cv2

    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "._img_1.png").write_bytes(b"\x00\x05\x16\x07 not an image")
    for uri in (str(tmp_path), str(tmp_path / "img_*.png"), str(tmp_path / "*")):
        with open_source(uri) as src:
            assert [int(f[0, 0, 0]) for f in read_all(src)] == [1, 2, 10]


def test_csi_pipeline_has_size_fps_flip():
    p = csi_pipeline(1, CaptureOptions(width=1280, height=720, fps=60, flip=2))
    assert "nvarguscamerasrc sensor-id=1" in p and "width=1280, height=720" in p
    assert "framerate=60/1" in p and "flip-method=2" in p and p.rstrip().endswith("sync=false")


@pytest.mark.skipif(opencv_info().gstreamer, reason="this OpenCV has GStreamer; the error path cannot be shown")
@pytest.mark.parametrize("uri", ["csi://0", "gst://videotestsrc ! appsink"])
def test_gstreamer_schemes_say_opencv_lacks_gstreamer(uri):
    with pytest.raises(CaptureError, match="built without it"):
        open_source(uri).open()


def test_picam_without_picamera2_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(BackendUnavailableError, match=r"edgefill\[picamera\]"):
        open_source("picam://0").open()


def test_picam_passes_rgb888_through_as_bgr(monkeypatch):
    module = FakePicamera2.module()
    monkeypatch.setitem(sys.modules, "picamera2", module)
    src = open_source("picam://1", CaptureOptions(width=640, height=480, fps=30))
    with src:
        cam = src.cam
        f = src.read()
    assert f[0, 0].tolist() == [10, 0, 0]  # blue stays in channel 0 (BGR): no swap
    assert cam.num == 1 and cam.calls["main"] == {"size": (640, 480), "format": "RGB888"}
    assert cam.calls["controls"]["FrameDurationLimits"] == (33333, 33333)
    assert cam.calls["stopped"] and cam.calls["closed"]


def test_picam_gives_the_camera_back_when_it_fails_to_start(monkeypatch):
    """Picamera2() claims the camera; a configure() or start() that fails must release it, or
    every reconnect finds the camera busy (it did: cam.close() was never called)."""
    module = FakePicamera2.module(fail_configure=True)
    monkeypatch.setitem(sys.modules, "picamera2", module)
    src = open_source("picam://0")
    with pytest.raises(CaptureError, match="configure failed"):
        src.open()
    module.Picamera2.fail_configure = False  # e.g. the camera's driver recovered
    src.open()  # not "Device or resource busy"
    assert src.read().shape == (4, 6, 3)
    module.Picamera2.fail_stop = True
    src.close()  # close() still runs when stop() fails
    assert not module.Picamera2.claimed


def test_picam_read_honours_the_read_timeout(monkeypatch):
    """The first read after start() may wait as long as opening (the sensor's first exposure), as
    the other cameras' first reads do; it was given read_timeout_s alone, and with a short one the
    first frame timed out into a reconnect loop. Every later read waits read_timeout_s."""
    module = FakePicamera2.module(stall=True)
    monkeypatch.setitem(sys.modules, "picamera2", module)
    with open_source("picam://0", CaptureOptions(read_timeout_s=0.25, open_timeout_s=0.5)) as src:
        for timeout in ("0.5", "0.25"):
            with pytest.raises(CaptureError, match=f"stalled: no frame for {timeout} s"):
                src.read()
        assert src.cam.waits == [0.5, 0.25]


def test_mjpeg_reads_frames():
    with FakeMjpegCamera() as cam, open_source(cam.url, FAST) as src:
        frames = [src.read() for _ in range(5)]
    assert all(f.shape == (120, 160, 3) for f in frames)


def test_mjpeg_stall_times_out():
    with FakeMjpegCamera(lambda conn, i: "stall" if i >= 2 else "ok") as cam, open_source(cam.url, FAST) as src:
        src.read(), src.read()
        with pytest.raises(CaptureError, match="stalled"):
            src.read()


def test_mjpeg_disconnect_is_reported():
    with FakeMjpegCamera(lambda conn, i: "drop" if i >= 2 else "ok") as cam, open_source(cam.url, FAST) as src:
        src.read(), src.read()
        with pytest.raises(CaptureError, match="closed|dropped"):
            src.read()


def test_refused_connection():
    with pytest.raises(CaptureError, match="cannot connect"):
        open_source("http://127.0.0.1:9/x.mjpg", FAST).open()


@pytest.mark.parametrize("fault", ["drop", "stall"])
def test_resilient_source_reconnects(fault, caplog):
    # The first two connections fail after 3 frames; the third one works.
    behaviour = lambda conn, i: fault if conn < 2 and i >= 3 else "ok"  # noqa: E731
    with FakeMjpegCamera(behaviour) as cam:
        url = cam.url.replace("http://", "http://viewer:s3cr3tpw@")
        # a read timeout of 1 s (not FAST's 0.5 s): the healthy third connection must never time out,
        # and half a second's stall of a loaded machine made it reconnect a third time
        src = ResilientSource(open_source(url, CaptureOptions(open_timeout_s=2, read_timeout_s=1.0, max_backoff_s=0.2)))
        src.open()
        with caplog.at_level(logging.INFO):
            frames = [src.read() for _ in range(12)]
        src.close()
    assert all(f is not None for f in frames)
    assert src.reconnects == 2 and cam.connections == 3
    assert "s3cr3tpw" not in caplog.text and "reconnect" in caplog.text


class _FrozenSource(FrameSource):
    live = True

    def __init__(self, options):
        super().__init__("fake://frozen", options)
        self.opens = 0
        self.n = 0

    def open(self):
        self.opens += 1

    def read(self):
        self.n += 1
        return np.zeros((16, 16, 3), np.uint8) if self.opens == 1 else np.full((16, 16, 3), self.n % 255, np.uint8)


def test_frozen_frames_trigger_reconnect():
    src = _FrozenSource(CaptureOptions(frozen_timeout_s=0.05, max_backoff_s=0.05))
    r = ResilientSource(src)
    r.open()

    t_end = time.monotonic() + 5
    while r.frozen_events == 0 and time.monotonic() < t_end:
        assert r.read() is not None
    assert r.frozen_events == 1 and src.opens == 2
    assert r.read().max() > 0  # fresh frames after the reconnect


def test_finite_sources_are_not_reconnected(tmp_path):
    path = write_video(tmp_path / "c.avi", 3)
    r = ResilientSource(open_source(str(path)))
    r.open()
    assert len(read_all(r)) == 3 and r.reconnects == 0
    r.close()


class _StaticSource(_FrozenSource):
    """A healthy source showing a static scene: the same picture before and after reconnecting."""

    def read(self):
        self.n += 1
        return np.zeros((16, 16, 3), np.uint8)


def _read_through_a_stall(r: ResilientSource, reported, at_least_s: float) -> None:
    """Read a static scene for ``at_least_s`` and for 0.3 s (six watchdog periods) after
    ``reported()`` first holds, so a repeat would show; stop at a second frozen event, or 30 s.
    (A fixed window failed when the machine stalled for a moment before the stall was reported.)"""
    t0, seen = time.monotonic(), None
    while True:
        assert r.read() is not None
        now = time.monotonic()
        if seen is None and reported():
            seen = now
        if (seen is not None and now - t0 >= at_least_s and now - seen >= 0.3) or r.frozen_events > 1 or now - t0 > 30:
            return


def _counts_the_next_stall(r: ResilientSource) -> None:
    """A change of picture re-arms the watchdog: the next stall is a second frozen event."""
    r._check_frozen(np.ones((16, 16, 3), np.uint8))
    t_end = time.monotonic() + 5
    while r.frozen_events == 1 and time.monotonic() < t_end:
        r.read()
    assert r.frozen_events == 2


def test_a_static_scene_is_reconnected_once_not_in_a_loop(caplog):
    """The frozen-frame watchdog reconnects once per stall. A source that shows the same picture
    after reconnecting (a test pattern, a still scene) is healthy: it was reconnected every
    frozen_timeout_s for ever. A change of picture re-arms the watchdog."""
    src = _StaticSource(CaptureOptions(frozen_timeout_s=0.05, max_backoff_s=0.05))
    r = ResilientSource(src)
    r.open()
    with caplog.at_level(logging.WARNING):  # twelve watchdog periods at least
        _read_through_a_stall(r, lambda: "static scene" in caplog.text, 0.6)
    assert r.frozen_events == 1 and src.opens == 2
    assert caplog.text.count("static scene") == 1
    _counts_the_next_stall(r)
    assert src.opens == 3


def test_a_static_scene_without_reconnect_goes_on_and_is_logged_once_per_stall(caplog):
    """Without a reconnect there is no telling a static scene from a stuck driver; the watchdog
    raised, which ended every reconnect=False run on a still scene after frozen_timeout_s."""
    src = _StaticSource(CaptureOptions(frozen_timeout_s=0.05, reconnect=False))
    r = ResilientSource(src)
    r.open()
    with caplog.at_level(logging.WARNING):  # ten watchdog periods at least
        _read_through_a_stall(r, lambda: r.frozen_events > 0, 0.5)
    assert src.opens == 1 and r.reconnects == 0
    assert r.frozen_events == 1 and caplog.text.count("frozen, or a static scene") == 1
    _counts_the_next_stall(r)
    assert src.opens == 1
    r.close()


def test_frozen_timeout_must_not_be_negative():
    with pytest.raises(ConfigError, match="frozen_timeout_s"):
        CaptureOptions(frozen_timeout_s=-1)
    assert CaptureOptions(frozen_timeout_s=0).frozen_timeout_s == 0  # 0 turns the watchdog off


@pytest.mark.parametrize("field", ["open_timeout_s", "read_timeout_s", "max_backoff_s", "frozen_timeout_s"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "5", True])
def test_timeouts_must_be_finite_numbers(field, value):
    """A NaN read timeout made every read of a camera "time out" at once (reconnecting for ever);
    an infinite one raised OverflowError from the read."""
    with pytest.raises(ConfigError, match=field):
        CaptureOptions(**{field: value})


@pytest.mark.parametrize("flip,expected", [(0, None), (2, (1, 1)), (4, (1, 0)), (6, (0, 1))])
def test_picam_flips_with_libcamera_transform(monkeypatch, flip, expected):
    """--flip was ignored for picam:// (a camera mounted upside down stayed so); csi://'s numbers
    that a Pi sensor can follow become libcamera's Transform."""
    import types

    module = FakePicamera2.module()
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setitem(sys.modules, "libcamera", types.SimpleNamespace(
        Transform=lambda hflip=0, vflip=0: ("Transform", hflip, vflip)))
    with open_source("picam://0", CaptureOptions(flip=flip)) as src:
        got = src.cam.calls["transform"]
    assert got == (None if expected is None else ("Transform", *expected))


@pytest.mark.parametrize("flip", [1, 3, 5, 7])
def test_picam_refuses_a_90_degree_flip_before_claiming_the_camera(monkeypatch, flip):
    module = FakePicamera2.module()
    monkeypatch.setitem(sys.modules, "picamera2", module)
    from edgefill.errors import ConfigError

    with pytest.raises(ConfigError, match="does not rotate by 90"):
        open_source("picam://0", CaptureOptions(flip=flip)).open()
    assert not module.Picamera2.claimed


class _OneFrame(FrameSource):
    live = False

    def open(self):
        pass

    def read(self):
        return np.arange(24, dtype=np.uint8).reshape(2, 4, 3)


@pytest.mark.parametrize("flip", range(8))
def test_the_reader_flips_in_software_where_the_source_does_not(flip):
    """--flip was honoured by csi:// (nvvidconv) only: a USB camera, a stream or a file mounted
    upside down stayed so. The Pipeline's reader turns their frames as nvvidconv would."""
    import cv2

    frame = _OneFrame("x", CaptureOptions()).read()
    expected = {0: frame, 1: np.rot90(frame, 1), 2: np.rot90(frame, 2), 3: np.rot90(frame, -1), 4: frame[:, ::-1],
                5: np.rot90(frame, 2).transpose(1, 0, 2), 6: frame[::-1], 7: frame.transpose(1, 0, 2)}[flip]
    got = ResilientSource(_OneFrame("x", CaptureOptions(flip=flip))).read()
    assert np.array_equal(got, expected) and got.flags.c_contiguous
    hardware = type("Hardware", (_OneFrame,), {"flips_itself": True})  # csi://, picam://: never twice
    assert np.array_equal(ResilientSource(hardware("x", CaptureOptions(flip=flip))).read(), frame)
    assert cv2.imencode(".png", got)[0]


def test_a_flipped_file_runs_through_the_pipeline(tmp_path):
    import edgefill
    from edgefill.sinks import CallbackSink

    clip = write_video(tmp_path / "c.avi", 3)
    got = []
    edgefill.Pipeline(str(clip), "rect:0,0,4,4", [CallbackSink(lambda r: got.append(r.image))], backend="opencv-telea",
                      capture=CaptureOptions(flip=3), stabilize=False).run()
    plain = open_source(str(clip))
    with plain:
        first = plain.read()
    assert len(got) == 3 and got[0].shape == (first.shape[1], first.shape[0], 3)


@pytest.mark.parametrize("flip", [2.5, True, "2"])
def test_a_flip_that_is_no_whole_number_is_a_config_error(flip):
    """2.5 passed the 0..7 range check and broke apply_flip and nvvidconv's caps later."""
    with pytest.raises(ConfigError, match="flip must be a flip-method 0..7"):
        CaptureOptions(flip=flip)


@pytest.mark.parametrize("uri,shown", [
    ("rtsp://admin:p@ss@cam/s", "rtsp://***@cam/s"),  # FFmpeg splits at the last @: 'ss@cam' leaked
    ("rtsp://admin:pa/ss@cam/s", "rtsp://***@cam/s"),  # printed whole in "cannot open"
    ("rtsp://admin:pw@cam/s?x=a@b", "rtsp://***@cam/s?x=a@b"),
    ("http://cam:8080/stream.mjpg", "http://cam:8080/stream.mjpg"),
    # a raw '#' or '?' in the password: it was shown whole
    ("http://admin:hun#ter2@cam.invalid/s.mjpg", "http://***@cam.invalid/s.mjpg"),
    ("rtsp://admin:hun?ter2@cam:554/live", "rtsp://***@cam:554/live"),
    ("http://cam:8080/s?mail=a@b", "http://cam:8080/s?mail=a@b"),  # a port and a query's @: no userinfo
    ("rtsp://admin:1234#@cam/live", "rtsp://***@cam/live"),  # digits first: not a port
    ("http://a:b?c@d@e/x", "http://***@e/x"),
])
def test_credentials_are_redacted_up_to_the_last_at_sign(uri, shown):
    assert redact_uri(uri) == shown


@pytest.mark.parametrize("uri", ["http://admin:hun#ter2@cam.invalid/s.mjpg", "http://admin:hun/ter2@cam.invalid/s.mjpg",
                                 "http://admin:hun?ter2@cam.invalid/s.mjpg"])
def test_a_mjpeg_url_that_cannot_be_parsed_does_not_quote_its_password(uri):
    """urlsplit's error quoted the "port" it found, the start of the password ('hun')."""
    src = open_source(uri, CaptureOptions(open_timeout_s=1))
    with pytest.raises(ConfigError) as exc:
        src.open()
    src.close()
    assert "hun" not in str(exc.value) and "ter2" not in str(exc.value) and "percent-encoded" in str(exc.value)


@pytest.mark.parametrize("kwargs", [{"fps": float("nan")}, {"fps": -5}, {"fps": float("inf")},
                                    {"width": -640, "height": 480}, {"width": 640.5, "height": 480}])
def test_bad_sizes_and_rates_are_config_errors(kwargs):
    """NaN fps crashed picam:// in int(); a negative size or rate went on to libcamera / the caps."""
    with pytest.raises(ConfigError, match="width|height|fps"):
        CaptureOptions(**kwargs)


@pytest.mark.parametrize("attack", ["?a://u:" * 400, "?x=http://u:" + "?" * 65500, "a://u:@/" * 8000])
def test_redaction_takes_time_in_proportion_to_the_text(attack):
    """The pattern for passwords with a raw '?' or '#' backtracked cubically: a 3.5 KB request line
    to the preview (which logs redacted lines) held the process, GIL and all, for seconds, and a
    64 KB one for hours. Timed against a linear pass over the same text, side by side."""
    import time

    def seconds(fn):
        t = time.perf_counter()
        fn(attack)
        return time.perf_counter() - t

    baseline = min(seconds(lambda s: s.replace("@", "@").find("\0")) for _ in range(3))
    assert min(seconds(redact_uri) for _ in range(3)) < 0.5 + 2000 * baseline
