"""Frames of a user's own FrameSource: grey, BGRA and 16-bit frames reach the pipeline as BGR
uint8 (capture.frame_format); what it cannot take is a CaptureError naming the source."""

import logging

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.capture import CaptureOptions, FrameSource
from edgefill.capture.frame_format import SequenceScale, as_bgr_frame
from edgefill.errors import CaptureError
from edgefill.sinks import CallbackSink, ImageFolderSink


def test_a_bgr_uint8_frame_passes_as_it_is():
    frame = np.zeros((4, 6, 3), np.uint8)
    assert as_bgr_frame(frame, SequenceScale(), "cam") is frame


@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 1)])
def test_grey_frames_become_bgr_with_equal_channels(shape):
    grey = np.arange(24, dtype=np.uint8).reshape(shape)
    out = as_bgr_frame(grey, SequenceScale(), "cam")
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert all(np.array_equal(out[..., c], grey.reshape(4, 6)) for c in range(3))


def test_bgra_frames_lose_their_alpha():
    bgra = np.random.default_rng(0).integers(0, 256, (4, 6, 4)).astype(np.uint8)
    assert np.array_equal(as_bgr_frame(bgra, SequenceScale(), "cam"), bgra[..., :3])


def test_16_bit_frames_share_the_first_frames_scale_until_one_uses_more_bits(caplog):
    scale = SequenceScale()
    first = np.full((4, 6), 4095, np.uint16)  # 12 bits
    assert as_bgr_frame(first, scale, "cam").max() == 255 and scale.scale == pytest.approx(4095 / 255)
    darker = np.full((4, 6, 3), 1023, np.uint16)  # 10 bits: still divided by the 12-bit scale
    assert as_bgr_frame(darker, scale, "cam").max() == round(1023 * 255 / 4095)
    assert "uses more bits" not in caplog.text
    with caplog.at_level(logging.WARNING):
        brighter = as_bgr_frame(np.full((4, 6), 65535, np.uint16), scale, "cam")
    assert brighter.max() == 255 and scale.scale == pytest.approx(257)
    assert "uses more bits" in caplog.text and "cam" in caplog.text


@pytest.mark.parametrize("frame", [np.zeros((4, 6, 3), np.float32), np.zeros((4, 6, 3), np.int16),
                                   np.zeros((4, 6, 2), np.uint8), np.zeros((0, 6, 3), np.uint8),
                                   np.zeros((2, 4, 6, 3), np.uint8), [[0, 1]], None])
def test_frames_it_cannot_take_are_a_capture_error_naming_the_source(frame):
    with pytest.raises(CaptureError, match="my-camera gave a frame of .*frames must be grey"):
        as_bgr_frame(frame, SequenceScale(), "my-camera")


class _MonoCamera(FrameSource):
    """A 12-bit mono camera's SDK, as a user would wrap it: HxW uint16 frames."""

    def __init__(self, frames):
        super().__init__("mono12://0", CaptureOptions())
        self.frames = list(frames)

    def open(self):
        pass

    def read(self):
        return self.frames.pop(0) if self.frames else None


@pytest.mark.parametrize("stabilize", [True, False])
def test_a_pipeline_runs_a_12_bit_mono_camera(stabilize):
    """Before, its frames reached the stabiliser (and the sinks) as they were: an InputError."""
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 4096, (48, 64)).astype(np.uint16) for _ in range(4)]
    frames[0][0, 0] = 4095  # the first frame uses all 12 bits
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 10:30] = 255
    got = []
    with edgefill.Pipeline(_MonoCamera(frames), mask=mask, sinks=[CallbackSink(got.append)],
                           backend="opencv-telea", stabilize=stabilize) as pipe:
        assert pipe.wait(timeout=30)
    assert [r.index for r in got] == [0, 1, 2, 3]
    for r, f in zip(got, frames, strict=True):
        assert r.image.shape == (48, 64, 3) and r.image.dtype == np.uint8
        expected = np.minimum(np.rint(f / np.float32(4095 / 255)), 255).astype(np.uint8)
        if not stabilize:  # the stabiliser may blend the known pixels near the hole over time
            assert np.array_equal(r.image[mask == 0][:, 0], expected[mask == 0])
        assert np.array_equal(r.image[..., 0], r.image[..., 2])  # a grey frame's fill is grey


def _mono12(seed: int, n: int = 3, shape=(48, 64)):
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 4096, shape).astype(np.uint16) for _ in range(n)]
    for f in frames:
        f[0, 0] = 4095  # every frame uses all 12 bits: one scale
    return frames


def _hole(shape=(48, 64)):
    mask = np.zeros(shape, np.uint8)
    mask[10:20, 10:30] = 255
    return mask


@pytest.mark.parametrize("flip", [0, 2, 1])
def test_a_16_bit_sources_frames_reach_the_sinks_at_their_depth_too(flip):
    """FrameResult.wide: the frame at the camera's depth (turned as the 8-bit frame is), every
    pixel the pipeline did not change with all of its bits, the fill scaled back."""
    from edgefill.capture.base import apply_flip

    frames = _mono12(2)
    cam = _MonoCamera([f.copy() for f in frames])
    cam.options = CaptureOptions(flip=flip)
    mask = _hole((64, 48) if flip in (1, 3) else (48, 64))
    got = []
    with edgefill.Pipeline(cam, mask=mask, sinks=[CallbackSink(got.append)], backend="opencv-telea",
                           stabilize=False) as pipe:
        assert pipe.wait(timeout=30)
    assert len(got) == 3
    for r, f in zip(got, frames, strict=True):
        turned = apply_flip(f, flip)
        assert r.wide is not None and r.wide.dtype == np.uint16 and r.wide.shape == turned.shape
        assert np.array_equal(r.wide[mask == 0], turned[mask == 0])  # every bit, low ones included
        filled = np.rint(r.image[..., 0][mask > 0] * np.float32(4095 / 255)).astype(np.uint16)
        assert np.array_equal(r.wide[mask > 0], filled) and not np.array_equal(filled, turned[mask > 0])


def test_an_8_bit_source_has_no_wide_frame():
    cam = _MonoCamera([np.full((48, 64), 7, np.uint8)])
    got = []
    with edgefill.Pipeline(cam, mask=_hole(), sinks=[CallbackSink(got.append)], backend="opencv-telea") as pipe:
        assert pipe.wait(timeout=30)
    assert len(got) == 1 and got[0].wide is None


@pytest.mark.parametrize("ext, depth", [(".png", np.uint16), (".tif", np.uint16), (".jpg", np.uint8)])
def test_an_image_folder_sink_writes_a_16_bit_source_at_its_depth_where_the_format_holds_it(tmp_path, ext, depth):
    frames = _mono12(4, n=2)
    with edgefill.Pipeline(_MonoCamera(frames), mask=_hole(), sinks=[ImageFolderSink(tmp_path / "out", ext=ext)],
                           backend="opencv-telea") as pipe:
        assert pipe.wait(timeout=30)
    written = [cv2.imread(str(tmp_path / "out" / f"{i:06d}{ext}"), cv2.IMREAD_UNCHANGED) for i in range(2)]
    assert all(w.dtype == depth for w in written)
    if depth == np.uint16:
        assert all(w.ndim == 2 and np.array_equal(w[_hole() == 0], f[_hole() == 0]) for w, f in zip(written, frames))


def test_last_wide_describes_the_last_frame_converted():
    scale = SequenceScale()
    as_bgr_frame(np.full((4, 6), 4095, np.uint16), scale, "cam")
    assert scale.last_wide is not None and scale.last_wide.stored.dtype == np.uint16
    as_bgr_frame(np.zeros((4, 6, 3), np.uint8), scale, "cam")  # the pass-through path
    assert scale.last_wide is None
