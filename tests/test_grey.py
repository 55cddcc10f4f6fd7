"""Grey frames get grey fills (edgefill.grey), and single-channel images come back single-channel."""

import cv2
import numpy as np
import pytest

import edgefill
from edgefill import maskgen
from edgefill.grey import SUBSAMPLE, is_grey, make_grey_in_place, single_channel

from .conftest import LEARNED, natural_image


def _grey_case(seed: int = 5):
    grey = cv2.cvtColor(natural_image(256, 256, seed=seed), cv2.COLOR_BGR2GRAY)
    mask = maskgen.objects(256, 256, np.random.default_rng(seed), 0.3, 0.4)
    return grey, mask


def _spread(img: np.ndarray, where: np.ndarray) -> int:
    px = img[where].astype(int)
    return int((px.max(axis=1) - px.min(axis=1)).max())


def test_make_grey_rounds_the_channel_mean_half_up_inside_the_box_only():
    out = np.zeros((4, 5, 3), np.uint8)
    out[1, 1] = (1, 2, 2)  # mean 1.67 -> 2
    out[1, 2] = (1, 1, 2)  # mean 1.33 -> 1
    out[2, 1] = (255, 255, 255)
    out[2, 2] = (7, 7, 7)
    out[0, 0] = (0, 0, 9)  # outside the box: left alone
    make_grey_in_place(out, (1, 1, 2, 2))
    assert out[1, 1].tolist() == [2, 2, 2] and out[1, 2].tolist() == [1, 1, 1]
    assert out[2, 1].tolist() == [255, 255, 255] and out[2, 2].tolist() == [7, 7, 7]
    assert out[0, 0].tolist() == [0, 0, 9]


def test_is_grey_looks_at_the_subsample_and_at_the_whole_window():
    img = cv2.cvtColor(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8), cv2.COLOR_GRAY2BGR)
    assert is_grey(img, (0, 0, 64, 64))
    off_grid = img.copy()
    off_grid[SUBSAMPLE + 1, SUBSAMPLE + 1, 2] ^= 1  # not on the subsample's grid
    assert is_grey(off_grid, (0, 0, 8, 8))  # the coloured pixel is outside the window
    assert not is_grey(off_grid, (10, 10, 20, 20))
    on_grid = img.copy()
    on_grid[SUBSAMPLE, 0, 0] ^= 1
    assert not is_grey(on_grid, (40, 40, 8, 8))


def test_is_grey_leaves_out_the_hole():
    """The hole's own pixels are what the fill removes: a red marker drawn over a mono frame's
    defect made the frame colour, and its fill tinted."""
    img = cv2.cvtColor(np.random.default_rng(1).integers(0, 256, (64, 64), np.uint8), cv2.COLOR_GRAY2BGR)
    hole = np.zeros((64, 64), np.uint8)
    hole[SUBSAMPLE - 4 : SUBSAMPLE + 20, 8:30] = 255  # on the subsample's grid too
    img[hole > 0] = (0, 0, 255)
    assert not is_grey(img, (4, 8, 30, 30))
    assert is_grey(img, (4, 8, 30, 30), hole)
    img[40, 40, 1] ^= 1  # a coloured known pixel in the window still counts
    assert not is_grey(img, (30, 30, 20, 20), hole)


def test_single_channel_is_uint8_or_uint16_hxw_or_hxwx1():
    assert single_channel(np.zeros((4, 4), np.uint8)) and single_channel(np.zeros((4, 4, 1), np.uint8))
    assert single_channel(np.zeros((4, 4), np.uint16)) and single_channel(np.zeros((4, 4, 1), np.uint16))
    assert not single_channel(np.zeros((4, 4, 3), np.uint16))
    assert not single_channel(np.zeros((4, 4, 3), np.uint8))
    assert not single_channel(np.zeros((4, 4), np.float32))
    assert not single_channel([[0]])


@LEARNED
def test_a_grey_bgr_frame_gets_a_grey_fill():
    """The model alone tints a grey frame's fill (the check that the test can fail); the
    Inpainter's output is grey everywhere and keeps every known pixel."""
    grey, mask = _grey_case()
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    hole = mask > 0
    backend = edgefill.create_backend("onnxruntime", model="nano")
    assert _spread(backend.infer(img, mask), hole) > 0
    with edgefill.Inpainter(model="nano", backend="onnxruntime") as inp:
        out = inp.inpaint(img, mask)
    assert _spread(out, np.ones_like(hole)) == 0
    assert np.array_equal(out[~hole], img[~hole])
    assert not np.array_equal(out[hole], img[hole])


@LEARNED
def test_a_grey_frame_with_a_coloured_object_in_the_hole_gets_a_grey_fill():
    grey, mask = _grey_case(seed=6)
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    hole = mask > 0
    img[hole] = (40, 60, 220)  # a red part on a mono inspection camera's frame, drawn as BGR
    with edgefill.Inpainter(model="nano", backend="onnxruntime") as inp:
        out = inp.inpaint(img, mask)
    assert _spread(out, np.ones_like(hole)) == 0
    assert np.array_equal(out[~hole], img[~hole])


@LEARNED
@pytest.mark.parametrize("shape", ["hw", "hw1"])
def test_a_single_channel_image_comes_back_in_its_own_shape(shape):
    grey, mask = _grey_case(seed=7)
    arg = grey if shape == "hw" else grey[..., None]
    with edgefill.Inpainter(model="nano", backend="onnxruntime") as inp:
        out = inp.inpaint(arg, mask)
        as_bgr = inp.inpaint(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), mask)
        unchanged = inp.inpaint(arg, np.zeros_like(mask))
    assert out.shape == arg.shape and out.dtype == np.uint8 and out.flags.c_contiguous  # OpenCV takes it as it is
    assert np.array_equal(out.reshape(grey.shape), as_bgr[..., 0])
    assert np.array_equal(unchanged, arg) and unchanged is not arg


@LEARNED
def test_a_colour_frame_keeps_its_colour_fill():
    img = natural_image(256, 256, seed=5)
    mask = maskgen.objects(256, 256, np.random.default_rng(5), 0.3, 0.4)
    backend = edgefill.create_backend("onnxruntime", model="nano")
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=0, wide_ns_weight=0) as inp:
        out = inp.inpaint(img, mask)
    assert np.array_equal(out, backend.infer(img, mask))
    assert _spread(out, mask > 0) > 0


def test_the_classical_backend_fills_a_single_channel_image():
    grey, mask = _grey_case(seed=9)
    with edgefill.Inpainter(backend="opencv-telea") as inp:
        out = inp.inpaint(grey, mask)
        as_bgr = inp.inpaint(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), mask)
    assert out.shape == grey.shape
    assert _spread(as_bgr, np.ones(grey.shape, bool)) == 0  # OpenCV fills each channel alike
    assert np.array_equal(out, as_bgr[..., 0])
    assert np.array_equal(out[mask == 0], grey[mask == 0]) and not np.array_equal(out[mask > 0], grey[mask > 0])
