import threading
import time

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.capture import CaptureOptions
from edgefill.capture.base import FrameSource
from edgefill.errors import InputError
from edgefill.pipeline import DeadlinePolicy, Pipeline
from edgefill.sinks import CallbackSink, ImageFolderSink, VideoFileSink

from .fakes import SlowBackend, write_video


def _live_pipeline_threads():
    return [t for t in threading.enumerate() if t.name.startswith("edgefill-") and t.is_alive()]


def collect():
    got = []
    return got, CallbackSink(lambda r: got.append(r))


@pytest.mark.parametrize("queue_size", [1, 4])
def test_file_source_frames_in_equal_frames_out(tmp_path, queue_size):
    clip = write_video(tmp_path / "c.avi", 37)
    got, sink = collect()
    slow = edgefill.Inpainter(backend=SlowBackend(delay=0.005))
    stats = Pipeline(str(clip), "key:255,0,255,60", [sink], inpainter=slow, queue_size=queue_size, stabilize=False).run()
    assert stats.frames_in == stats.frames_out == 37 == len(got)
    assert [r.index for r in got] == list(range(37)) and stats.dropped == 0


def test_video_sink_output_has_every_frame(tmp_path):
    clip = write_video(tmp_path / "c.avi", 20)
    out = tmp_path / "out.mp4"
    with Pipeline(str(clip), "rect:10,10,40,40", [VideoFileSink(out)], backend="opencv-telea",
                  stats_json=tmp_path / "s.json") as p:
        p.wait()
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20 and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25)
    assert not list(tmp_path.glob("*.part*"))
    import json

    assert json.loads((tmp_path / "s.json").read_text())["frames_out"] == 20


class FastLiveSource(FrameSource):
    """A live camera that produces frames as fast as it is read, forever."""

    live = True

    def __init__(self, size=(128, 128)):
        super().__init__("fake://live", CaptureOptions())
        self.size, self.i = size, 0

    def open(self):
        pass

    def read(self):
        self.i += 1
        f = np.full((*self.size, 3), self.i % 255, np.uint8)
        return f


@pytest.mark.parametrize("case", ["video over the source", "video over the mask video", "frames among the images",
                                  "statistics over the source", "source given as an opened object"])
def test_outputs_over_the_inputs_are_refused_from_python_too(tmp_path, case):
    """The CLI refused these; a Python caller's video sink over the clip being read replaced the
    clip when the finished video was moved into place. Nothing is opened or written."""
    from edgefill.capture import open_source

    clip = write_video(tmp_path / "c.avi", 3)
    mask_video = write_video(tmp_path / "m.avi", 3)
    source, mask, sinks, stats = str(clip), "rect:1,1,8,8", [], None
    if case == "video over the source":
        sinks = [VideoFileSink(clip)]
    elif case == "video over the mask video":
        mask, sinks = str(mask_video), [VideoFileSink(mask_video)]
    elif case == "frames among the images":
        frames = tmp_path / "frames"
        frames.mkdir()
        cv2.imwrite(str(frames / "0.png"), np.zeros((8, 8, 3), np.uint8))
        source, sinks = str(frames), [ImageFolderSink(frames)]
    elif case == "statistics over the source":
        stats = clip
    else:
        source, sinks = open_source(str(clip), CaptureOptions()), [VideoFileSink(clip)]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match="refusing"):
        Pipeline(source, mask, sinks, backend="opencv-telea", stats_json=stats)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    if not isinstance(source, str):
        source.close()


def test_live_source_drops_oldest_and_memory_stays_bounded():
    seen_depth = []
    got, sink = collect()
    slow = edgefill.Inpainter(backend=SlowBackend(delay=0.01))
    pipe = Pipeline(FastLiveSource(), "rect:10,10,30,30", [sink], inpainter=slow, queue_size=2, stabilize=False,
                    max_frames=300)
    orig_put = pipe._put

    def spy(q, item, drop_oldest):
        orig_put(q, item, drop_oldest)
        seen_depth.append(q.qsize())

    pipe._put = spy
    stats = pipe.run()
    assert stats.frames_in == 300 and stats.dropped > 0
    assert stats.frames_out == len(got) == 300 - stats.dropped
    assert max(seen_depth) <= 2  # queues never grow past their bound
    assert [r.index for r in got] == sorted(r.index for r in got)


def test_deadline_fallback_with_slow_backend(tmp_path):
    clip = write_video(tmp_path / "c.avi", 30)
    got, sink = collect()
    slow = edgefill.Inpainter(backend=SlowBackend(delay=0.08))
    stats = Pipeline(str(clip), "rect:20,20,60,60", [sink], inpainter=slow, deadline_ms=20, stabilize=False).run()
    paths = [r.path for r in got]
    assert paths[0] == "model"  # the first frame measures the model
    assert stats.fallbacks >= 25 and paths.count("fallback") == stats.fallbacks
    assert stats.frames_out == 30


def test_the_deadline_counts_the_thin_hole_refill(tmp_path, monkeypatch):
    """A fast model whose thin-hole refill (on by default) is slow: the frame's cost is the whole
    model path, so frames over the budget go to the fallback."""
    import edgefill.refill_settings as refill_module  # RefillSettings.refine_in_place calls it

    real = refill_module.refill_thin_in_place

    def slow_refill(*args, **kwargs):
        time.sleep(0.06)
        return real(*args, **kwargs)

    monkeypatch.setattr(refill_module, "refill_thin_in_place", slow_refill)
    clip = write_video(tmp_path / "c.avi", 20)
    got, sink = collect()
    fast = edgefill.Inpainter(backend=SlowBackend(delay=0.0))
    stats = Pipeline(str(clip), "rect:20,20,60,3", [sink], inpainter=fast, deadline_ms=20, stabilize=False).run()
    assert [r.path for r in got][0] == "model"
    assert stats.fallbacks >= 15 and stats.frames_out == 20


def test_deadline_policy_predicts_by_bucket_area():
    p = DeadlinePolicy(0.05, probe_every=3)
    assert p.use_model(256 * 256, 0.05)  # no estimate yet
    p.observe(256 * 256, 0.04)
    assert p.use_model(256 * 256, 0.05)
    assert not p.use_model(512 * 512, 0.05)
    assert not p.use_model(512 * 512, 0.05)
    assert p.use_model(512 * 512, 0.05)  # the periodic probe


def test_a_probe_replaces_the_estimate():
    """One slow run (a warm-up, a hiccup) is forgotten at the next probe, not after ten of them."""
    p = DeadlinePolicy(0.05, probe_every=3)
    p.observe(256 * 256, 0.5)  # ten times over the budget
    assert [p.use_model(256 * 256, 0.05) for _ in range(3)] == [False, False, True]
    p.observe(256 * 256, 0.01)  # the probe: fast again
    assert p.use_model(256 * 256, 0.05)
    p.observe(256 * 256, 0.5, warm_up=True)  # a warm-up run is not a measure of speed
    assert p.use_model(256 * 256, 0.05)


def test_one_slow_run_moves_no_prediction_but_a_lasting_slowdown_does():
    """A hiccup (one run five times the usual, at 60% of the budget) kept the model: an average
    lifted the estimate over the budget and sent the next 50 frames to the fallback."""
    p = DeadlinePolicy(0.05, probe_every=50)
    for seconds in (0.03, 0.15, 0.03, 0.03, 0.15):  # two hiccups, neither in a row
        p.observe(256 * 256, seconds)
        assert p.use_model(256 * 256, 0.05)
    p.observe(256 * 256, 0.15)  # three slow runs of the last five: the machine is slower now
    assert not p.use_model(256 * 256, 0.05)


class WarmUpBackend(SlowBackend):
    """Slow on its first call only, like a model whose first run pays for its set-up."""

    def _infer(self, image, mask):
        self.delay = 0.6 if self.calls == 0 else 0.0
        return super()._infer(image, mask)


def test_a_slow_first_run_does_not_send_the_stream_to_the_fallback(tmp_path):
    clip = write_video(tmp_path / "c.avi", 30)
    got, sink = collect()
    backend = WarmUpBackend()
    # a budget under the 0.6 s warm-up and far over an ordinary call (~ms): with 100 ms, a moment's
    # stall of the machine in the first measured call (or half a second in a later one) sent the
    # rest of the clip to the fallback
    stats = Pipeline(str(clip), "rect:20,20,60,60", [sink], inpainter=edgefill.Inpainter(backend=backend),
                     deadline_ms=400, stabilize=False).run()
    assert stats.frames_out == 30 and stats.fallbacks == 0 and backend.calls == 30


def test_the_stabiliser_never_reuses_a_fallback_fill(tmp_path):
    """A static scene whose mask changes while the model is over budget: the fallback's fill must
    not be reused for as long as the scene stays static; the model's probe runs and its fill is reused."""
    clip = write_video(tmp_path / "c.avi", 60, moving_object=False)
    boxes = [np.zeros((240, 320), np.uint8) for _ in range(3)]
    for box, x in zip(boxes, (20, 110, 200)):
        box[100:160, x:x + 60] = 255  # one box per frame for two frames (a warm-up, then a measure), then the third
    got, sink = collect()
    slow = SlowBackend(delay=0.08)
    stats = Pipeline(str(clip), lambda frame, i: boxes[min(i, 2)], [sink], inpainter=edgefill.Inpainter(backend=slow),
                     deadline_ms=20).run()
    paths = [r.path for r in got]
    assert paths[:3] == ["model", "model", "fallback"] and stats.frames_out == 60
    probe = paths.index("model", 2)  # the periodic probe, 50 fallbacks later
    assert set(paths[2:probe]) == {"fallback"} and set(paths[probe + 1:]) == {"reused"}
    hole = boxes[2] > 0
    assert np.array_equal(got[-1].image[hole], got[probe].image[hole])  # the model's fill, kept
    assert not np.array_equal(got[-1].image[hole], got[probe - 1].image[hole])  # not the fallback's


def test_static_scene_is_reused_by_the_stabiliser(tmp_path):
    clip = write_video(tmp_path / "c.avi", 15, moving_object=False)
    slow = SlowBackend(delay=0.0)
    got, sink = collect()
    stats = Pipeline(str(clip), "rect:100,60,60,60", [sink], inpainter=edgefill.Inpainter(backend=slow)).run()
    # The frame counter text changes each frame, but far from the hole: only a few recomputes.
    assert stats.reused >= 10 and slow.calls <= 5


def _mask_folder(tmp_path, n, size=(240, 320)):
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(n):
        cv2.imwrite(str(masks / f"{i:03d}.png"), np.zeros(size, np.uint8))
    return masks


def _frames_in(path):
    return int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FRAME_COUNT))


def test_mask_error_stops_the_pipeline_cleanly(tmp_path):
    clip = write_video(tmp_path / "c.avi", 10)
    masks = _mask_folder(tmp_path, 3)
    out = tmp_path / "o.mp4"
    with pytest.raises(InputError, match="frame 3 has none"):
        Pipeline(str(clip), str(masks), [VideoFileSink(out)], backend="opencv-ns").run()
    assert _frames_in(tmp_path / "o.partial.mp4") == 3  # what was processed before the error is kept, not lost
    assert not out.exists() and not list(tmp_path.glob("*.part.*"))
    assert not _live_pipeline_threads()


def test_a_failed_run_never_replaces_a_good_output(tmp_path, caplog):
    """A run that ends in error keeps its frames as NAME.partial.mp4 (then NAME.partial-2.mp4 ...),
    never under the final name: an existing good output stays as it was (it was replaced by
    the truncated video, and the run still exited with an error)."""
    clip = write_video(tmp_path / "c.avi", 10)
    masks = _mask_folder(tmp_path, 3)
    out = tmp_path / "o.mp4"
    Pipeline(str(clip), "rect:10,10,40,40", [VideoFileSink(out)], backend="opencv-ns").run()
    good = out.read_bytes()
    assert _frames_in(out) == 10
    for partial in ("o.partial.mp4", "o.partial-2.mp4"):
        with pytest.raises(InputError, match="frame 3 has none"):
            Pipeline(str(clip), str(masks), [VideoFileSink(out)], backend="opencv-ns").run()
        assert out.read_bytes() == good
        assert _frames_in(tmp_path / partial) == 3
    assert _frames_in(tmp_path / "o.partial.mp4") == 3  # the first partial file was not replaced either
    assert "o.partial-2.mp4" in caplog.text and "is left as it was" in caplog.text
    assert not list(tmp_path.glob("*.part.*"))


def test_a_failed_run_into_an_image_folder_deletes_nothing(tmp_path, caplog):
    """The image-folder sink writes each frame atomically as it comes: after an error the frames
    processed before it are there, and no file of an earlier run is deleted."""
    clip = write_video(tmp_path / "c.avi", 10)
    masks = _mask_folder(tmp_path, 3)
    out = tmp_path / "frames"
    out.mkdir()
    for i in range(10):
        cv2.imwrite(str(out / f"{i:06d}.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="frame 3 has none"):
        Pipeline(str(clip), str(masks), [ImageFolderSink(out)], backend="opencv-ns").run()
    shapes = [cv2.imread(str(out / f"{i:06d}.png")).shape for i in range(10)]
    assert shapes == [(240, 320, 3)] * 3 + [(8, 8, 3)] * 7
    assert "holds the 3 frames written by this run (000000.png to 000002.png)" in caplog.text


class _FailingSource(FrameSource):
    """A file-like source whose read fails after ``n`` frames (a truncated image in a folder)."""

    def __init__(self, n):
        super().__init__("fake://frames", CaptureOptions())
        self.n, self.i = n, 0

    def open(self):
        pass

    def read(self):
        if self.i == self.n:
            raise InputError(f"image frames/{self.i:04d}.png is not a readable image")
        self.i += 1
        return np.full((64, 64, 3), self.i, np.uint8)


def test_a_capture_failure_still_writes_the_frames_already_read(tmp_path):
    """Capture fails at frame 10 while inference (slower, as on any edge device) is still on the
    first frames: all ten frames read reach the sinks (the end marker was put straight into the
    sink's queue, ahead of them, and only 7 of 10 were written)."""
    got = []

    def slow_mask(frame, index):
        time.sleep(0.05)
        m = np.zeros(frame.shape[:2], np.uint8)
        m[:4, :4] = 255
        return m

    out = tmp_path / "o.avi"
    with pytest.raises(InputError, match="not a readable image"):
        Pipeline(_FailingSource(10), slow_mask, [CallbackSink(lambda r: got.append(r.index)), VideoFileSink(out)],
                 backend="opencv-telea", stabilize=False, queue_size=4).run()
    assert got == list(range(10))
    assert _frames_in(tmp_path / "o.partial.avi") == 10 and not out.exists()
    assert not _live_pipeline_threads()


def test_a_capture_failure_behind_a_slow_sink_loses_no_frame_and_ends_the_run(tmp_path):
    """Capture fails while the sink takes longer than the queues' 0.2 s put timeout per frame (an
    upload, a slow disk): the inference thread gave up on any frame it could not queue within
    0.2 s once an error was recorded, and on the end marker too, so frames were lost and the sink
    thread waited for ever (wait() never returned, the video stayed a .part file)."""
    got = []

    def slow_sink(r):
        time.sleep(0.3)
        got.append(r.index)

    out = tmp_path / "o.avi"
    pipe = Pipeline(_FailingSource(5), "rect:2,2,6,6", [VideoFileSink(out), CallbackSink(slow_sink)],
                    backend="opencv-telea", stabilize=False, queue_size=1).start()
    with pytest.raises(InputError, match="not a readable image"):
        assert pipe.wait(timeout=20), "the run did not end"
    assert got == list(range(5))
    assert _frames_in(tmp_path / "o.partial.avi") == 5 and not (tmp_path / "o.part.avi").exists()
    assert not _live_pipeline_threads()


def test_frames_processed_before_an_error_still_reach_the_sinks(tmp_path):
    """A mask error at frame 5 with a slow sink: frames 0-4, already filled and queued for the
    sink, are written, not dropped (they were, until the seventh session)."""
    clip = write_video(tmp_path / "c.avi", 12)

    def mask(frame, i):
        if i == 5:
            raise InputError("no mask for frame 5")
        return np.zeros(frame.shape[:2], np.uint8)

    got = []

    def slow_sink(r):
        time.sleep(0.05)
        got.append(r.index)

    with pytest.raises(InputError, match="frame 5"):
        Pipeline(str(clip), mask, [CallbackSink(slow_sink)], backend="opencv-ns", stabilize=False).run()
    assert got == [0, 1, 2, 3, 4]
    assert not _live_pipeline_threads()


def test_a_failing_sink_ends_the_pipeline(tmp_path):
    clip = write_video(tmp_path / "c.avi", 30)

    def bad_sink(r):
        if r.index == 2:
            raise InputError("disk full")

    with pytest.raises(InputError, match="disk full"):
        Pipeline(str(clip), "rect:10,10,20,20", [CallbackSink(bad_sink)], backend="opencv-ns", queue_size=1,
                 stabilize=False).run()
    assert not _live_pipeline_threads()


def test_stop_mid_stream_flushes_outputs(tmp_path):
    clip = write_video(tmp_path / "c.avi", 200)
    out = tmp_path / "o.avi"
    slow = edgefill.Inpainter(backend=SlowBackend(delay=0.01))
    with Pipeline(str(clip), "rect:0,0,40,40", [VideoFileSink(out)], inpainter=slow, stabilize=False) as p:
        p.wait(0.3)
    stats = p.stats
    assert 0 < stats.frames_out < 200 and stats.frames_out == stats.frames_in
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == stats.frames_out


class _StuckSource(FrameSource):
    """A live camera whose sixth read never returns (a driver call without a timeout)."""

    live = True

    def __init__(self):
        super().__init__("fake://stuck", CaptureOptions(read_timeout_s=0.2, open_timeout_s=0.2))
        self.n, self.closed, self.release = 0, False, threading.Event()

    def open(self):
        pass

    def read(self):
        self.n += 1
        if self.n > 5:
            self.release.wait()
        return np.full((64, 64, 3), self.n * 10, np.uint8)

    def close(self):
        self.closed = True


def test_stop_finishes_the_output_when_a_read_never_returns(tmp_path, caplog):
    """stop() abandons a capture thread stuck in read() after a grace period and ends the stream
    itself: the frames already read are finished and the video is finalised (stop() raised
    EdgeFillInternalError and the video stayed an unfinished .part file). The source is closed
    by the capture thread once its read returns, never under it."""
    src = _StuckSource()
    out = tmp_path / "o.avi"
    p = Pipeline(src, "rect:1,1,8,8", [VideoFileSink(out)], backend="opencv-telea", stabilize=False).start()
    t_end = time.monotonic() + 30
    while p.stats.frames_out + p.stats.dropped < 5 and time.monotonic() < t_end:
        time.sleep(0.02)
    stats = p.stop(timeout=10)
    assert stats.frames_in == 5 and stats.frames_out >= 1
    assert _frames_in(out) == stats.frames_out and not list(tmp_path.glob("*.part*"))
    assert "read() has not returned" in caplog.text
    assert not src.closed  # its read() is still running
    capture = next(t for t in threading.enumerate() if t.name == "edgefill-capture")
    src.release.set()
    capture.join(10)
    assert src.closed and not _live_pipeline_threads()


def test_an_unwritable_stats_path_is_refused_before_the_run(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    clip = write_video(tmp_path / "c.avi", 3)
    for bad, why in ((tmp_path / "file.txt" / "s.json", "is not a folder"), (tmp_path, "it is a folder")):
        with pytest.raises(InputError, match=f"cannot write the statistics to .*{why}"):
            Pipeline(str(clip), "rect:1,1,8,8", [], backend="opencv-telea", stats_json=bad)


def test_two_outputs_in_one_file_are_refused_before_the_run(tmp_path):
    """The statistics named as the output video replaced the finished video with JSON; two video
    sinks on one file interleaved their frames. The CLI refused the first; the API refuses both."""
    clip = write_video(tmp_path / "c.avi", 3)
    out = tmp_path / "o.avi"
    cases = (([VideoFileSink(out)], out, "the statistics .*o.avi is also the output video "),
             ([VideoFileSink(out)], tmp_path / "o.part.avi", "is also the output video's .part file"),
             ([VideoFileSink(out), VideoFileSink(out)], None, "the output video .*o.avi is also the output video "))
    for sinks, stats, why in cases:
        with pytest.raises(InputError, match=why):
            Pipeline(str(clip), "rect:1,1,8,8", sinks, backend="opencv-telea", stats_json=stats)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.avi"]


def test_a_failed_stats_write_is_an_input_error(tmp_path):
    """The statistics folder became unwritable during the run: an InputError naming the path
    (it was a raw OSError, so the CLI printed a traceback), after the outputs are written."""
    clip = write_video(tmp_path / "c.avi", 3)
    folder = tmp_path / "stats"
    folder.mkdir()
    out = tmp_path / "o.avi"
    pipe = Pipeline(str(clip), "rect:1,1,8,8", [VideoFileSink(out)], backend="opencv-telea",
                    stats_json=folder / "s.json")
    folder.rmdir()
    folder.write_text("now a file")
    with pytest.raises(InputError, match="cannot write the statistics to .*s.json"):
        pipe.run()
    assert _frames_in(out) == 3


def test_a_stabiliser_config_covers_the_feather_ring(tmp_path):
    """A StabilizerConfig given without the inpainter's feather still reuses the ring the fill touches."""
    from edgefill.stabilize import StabilizerConfig

    clip = write_video(tmp_path / "c.avi", 3)
    with Pipeline(str(clip), "rect:20,20,60,60", [], backend="opencv-telea", roi_config=edgefill.RoiConfig(feather=4),
                  stabilize=StabilizerConfig(blend=0.3)) as p:
        assert p.stabilizer.config.feather == 4 and p.stabilizer.config.blend == 0.3
