"""Inpainter.inpaint on uint16 arrays (10-, 12- and 16-bit camera samples): the model sees them
scaled to 8 bits over the bits they use, the fill is scaled back, known pixels keep every bit."""

import cv2
import numpy as np
import pytest

import edgefill
from edgefill import maskgen
from edgefill.errors import InputError
from edgefill.imageio import image_scale, scaled_8bit

from .conftest import LEARNED, inpaint_file, natural_image


def _wide_case(bits: int, seed: int = 3, grey: bool = False):
    """A natural image stretched to ``bits`` bits, with odd low bits everywhere (noise that an
    8-bit round trip would lose), and an object mask."""
    img8 = natural_image(192, 224, seed=seed)
    if grey:
        img8 = cv2.cvtColor(img8, cv2.COLOR_BGR2GRAY)
    top = (1 << bits) - 1
    noise = np.random.default_rng(seed).integers(0, 8, img8.shape)
    wide = np.clip(img8.astype(np.int64) * top // 255 - noise, 0, top).astype(np.uint16)
    wide.flat[0] = top  # the image uses all of its bits
    mask = maskgen.objects(192, 224, np.random.default_rng(seed), 0.2, 0.3)
    return wide, mask


@pytest.mark.parametrize("bits", [10, 12, 16])
def test_a_16_bit_image_is_filled_at_its_own_scale_and_keeps_every_known_bit(bits):
    wide, mask = _wide_case(bits)
    hole = mask > 0
    scale = image_scale(wide)
    assert scale == pytest.approx(((1 << bits) - 1) / 255)
    with edgefill.Inpainter(backend="opencv-ns") as inp:
        out = inp.inpaint(wide, mask)
        as_8bit = inp.inpaint(scaled_8bit(wide, scale), mask)
    assert out.dtype == np.uint16 and out.shape == wide.shape
    assert np.array_equal(out[~hole], wide[~hole])  # odd low bits included
    # the hole: the fill of the 8-bit image the model saw, multiplied back
    assert np.array_equal(out[hole], np.rint(as_8bit[hole] * np.float32(scale)).astype(np.uint16))
    assert not np.array_equal(out[hole], wide[hole])
    assert int(out.max()) <= (1 << bits) - 1


@pytest.mark.parametrize("shape", ["hw", "hw1"])
def test_a_16_bit_grey_image_comes_back_grey_in_its_own_shape(shape):
    wide, mask = _wide_case(12, seed=4, grey=True)
    arg = wide if shape == "hw" else wide[..., None]
    with edgefill.Inpainter(backend="opencv-telea") as inp:
        out = inp.inpaint(arg, mask)
        unchanged = inp.inpaint(arg, np.zeros_like(mask))
        as_bgr = inp.inpaint(np.ascontiguousarray(np.repeat(wide[..., None], 3, axis=2)), mask)
    assert out.shape == arg.shape and out.dtype == np.uint16
    assert np.array_equal(out.reshape(wide.shape), as_bgr[..., 0])
    assert np.array_equal(as_bgr[..., 0], as_bgr[..., 2])  # a B = G = R frame's fill is grey too
    assert np.array_equal(unchanged, arg) and unchanged is not arg


@pytest.mark.parametrize("grey", [False, True])
def test_what_the_hole_holds_does_not_set_the_scale_of_its_fill(tmp_path, grey):
    """A saturated 16-bit marker drawn in the hole of a 12-bit frame made the image's scale 257,
    not 4095 / 255: the fill came back 16 times coarser (17 distinct levels) and unlike the fill
    of the same frame with a dark hole. The scale is the known pixels'; the CLI's too."""
    wide, mask = _wide_case(12, seed=5, grey=grey)
    hole = mask > 0
    wide.flat[0] = 4000  # the largest known sample sets the scale: 12 bits
    assert not hole.flat[0]
    dark, marked = wide.copy(), wide.copy()
    dark[hole], marked[hole] = 0, 65535
    with edgefill.Inpainter(backend="opencv-ns") as inp:
        out_dark, out_marked = inp.inpaint(dark, mask), inp.inpaint(marked, mask)
    assert np.array_equal(out_dark, out_marked)
    assert np.array_equal(out_marked[~hole], wide[~hole])
    assert np.diff(np.unique(out_marked[hole])).min() <= 17  # steps of 4095 / 255, not 257
    assert np.array_equal(inpaint_file(tmp_path, marked, mask, "out.png", "opencv-ns"), out_marked)


@LEARNED
def test_a_learned_model_fills_a_12_bit_image_as_the_cli_fills_the_file(tmp_path):
    """The API on the array and ``edgefill inpaint`` on the same samples as a 16-bit PNG give
    the same image (one scaling rule), and the model's fill is not a classical one."""
    wide, mask = _wide_case(12, seed=6)
    hole = mask > 0
    with edgefill.Inpainter(model="lite", backend="onnxruntime") as inp:  # the CLI's default model
        out = inp.inpaint(wide, mask)
        timing = inp.last_timing
    from_file = inpaint_file(tmp_path, wide, mask, "out.png", "onnxruntime")
    assert from_file.dtype == np.uint16
    assert np.array_equal(out, from_file)
    assert np.array_equal(out[~hole], wide[~hole])
    with edgefill.Inpainter(backend="opencv-telea") as classical:
        assert not np.array_equal(out[hole], classical.inpaint(wide, mask)[hole])
    assert timing.crops >= 1 and timing.total >= timing.post > 0


@pytest.mark.parametrize("image, message", [
    (np.zeros((0, 5), np.uint16), "empty"),
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((8, 8, 4), np.uint16), "HxWx3"),
    (np.zeros((8, 8, 3), np.float32), "uint8 or uint16, not float32"),
    (np.zeros((8, 8, 3), np.int16), "uint8 or uint16, not int16"),
])
def test_images_the_inpainter_cannot_take_are_refused_clearly(image, message):
    with edgefill.Inpainter(backend="opencv-telea") as inp:
        with pytest.raises(InputError, match=message):
            inp.inpaint(image, np.zeros(image.shape[:2], np.uint8))
