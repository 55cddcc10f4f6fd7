"""Review of the inference core: cases an engineer feeding real frames hit (each failed before)."""

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.roi import RoiConfig

from .conftest import natural_image


@pytest.mark.parametrize("backend,flag", [("opencv-telea", cv2.INPAINT_TELEA), ("opencv-ns", cv2.INPAINT_NS)])
@pytest.mark.parametrize("margin", [0, 2])
def test_a_small_margin_still_gives_a_classical_backend_the_pixels_it_reads(backend, flag, margin):
    """A classical backend is given each hole's box grown by the margin, unpadded. With
    ``--margin 0`` a rectangular hole was a crop of hole alone: OpenCV had nothing to fill it
    from and it came back as it went in (the object not removed); with a margin below the
    radius the fill differed from OpenCV's on the frame. The pipeline's fallback takes the
    model's RoiConfig, so a tight margin chosen for the model reached it too."""
    img = natural_image(200, 300, seed=3)
    mask = np.zeros((200, 300), np.uint8)
    mask[50:90, 100:180] = 255
    cv2.circle(mask, (230, 150), 15, 255, -1)
    with edgefill.Inpainter(backend=backend, roi_config=RoiConfig(margin=margin)) as inp:
        out = inp.inpaint(img, mask)
        assert inp.roi_config.margin == margin  # the caller's config is left as given
    assert np.array_equal(out, cv2.inpaint(img, mask, 5, flag))


@pytest.mark.parametrize("radius", [float("nan"), float("inf"), True, "3", None, 0.5])
def test_a_classical_radius_that_is_no_finite_number_is_refused_up_front(radius):
    """NaN and inf were taken (OpenCV then used radius 1), "3" and None were a TypeError
    traceback, and True an OpenCV error at the first frame."""
    from edgefill.errors import ConfigError

    with pytest.raises(ConfigError, match="radius must be a finite number >= 1"):
        edgefill.Inpainter(backend="opencv-telea", radius=radius)
    assert edgefill.create_backend("opencv-ns", radius=2.5).radius == 2.5


@pytest.mark.parametrize("model", ["", " "])
def test_an_empty_model_name_is_named_as_such(model):
    """``--model ""`` (an unset variable in a script) said "'.' is a folder without a bundle.json"."""
    from edgefill.errors import ModelError
    from edgefill.models import resolve_model

    with pytest.raises(ModelError, match="the model name is empty") as err:
        resolve_model(model)
    assert "lite" in str(err.value)


@pytest.mark.parametrize("backend", ["opencv-telea", "opencv-ns"])
@pytest.mark.parametrize("shape", [(1, 300), (300, 1)])
def test_a_classical_fill_of_a_frame_one_pixel_high_or_wide_is_the_same_every_time(backend, shape):
    """OpenCV's Telea and NS read memory outside an image one pixel high (a line-scan camera's
    frame) or wide: the fallback's fill of the same frame and hole changed from call to call
    (the thin-hole refill already worked around it, the OpenCV backends did not)."""
    from .conftest import unsteady_fills

    inp = edgefill.Inpainter(backend=backend)
    backend_ = edgefill.create_backend(backend)
    assert unsteady_fills(lambda fill, img, hole: inp.inpaint(img, hole), shape, seed=0) == 0
    assert unsteady_fills(lambda fill, img, hole: backend_.infer(img, hole), shape, seed=0) == 0
