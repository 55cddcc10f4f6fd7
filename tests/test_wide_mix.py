import json

import cv2
import numpy as np
import pytest

import edgefill
from edgefill.errors import ConfigError
from edgefill.models import MODELS_DIR
from edgefill.wide_mix import (DEFAULT_WIDE_NS_MAX_STD, DEFAULT_WIDE_NS_WEIGHT, NS_RADIUS, NS_SCALE, UNGATED_STD, coarse_ns,
                               gated_share, mix_wide, mix_wide_in_place, ring_std)

from .conftest import natural_image, unsteady_fills


def _blob(h=160, w=200, y=50, x=60, size=60):
    hole = np.zeros((h, w), np.uint8)
    hole[y : y + size, x : x + size] = 255
    return hole


def test_coarse_ns_at_full_scale_is_opencv_ns():
    img, hole = natural_image(160, 200, seed=1), _blob()
    full = cv2.inpaint(img, hole, NS_RADIUS, cv2.INPAINT_NS).astype(np.float32)
    assert np.array_equal(coarse_ns(img, hole > 0, 1), full)


def test_coarse_ns_is_close_to_full_ns_inside_the_hole():
    """At 1/4 of the resolution the fill of a smooth image stays near the full-resolution one
    (a bug in the scaling, e.g. a shifted grid, moves it by tens of levels)."""
    yy, xx = np.mgrid[0:160, 0:200].astype(np.float32)
    img = np.stack([60 + 0.5 * xx, 40 + 0.6 * yy, 100 + 0.2 * (xx + yy)], -1).astype(np.uint8)
    hole = _blob() > 0
    full = coarse_ns(img, hole, 1)
    coarse = coarse_ns(img, hole, 4)
    assert coarse.shape == img.shape and coarse.dtype == np.float32
    assert np.abs(coarse[hole] - full[hole]).mean() < 3


def test_a_constant_image_is_mixed_exactly():
    img = np.full((120, 150, 3), (200, 100, 40), np.uint8)
    hole = _blob(120, 150, 30, 40, 50)
    black = np.zeros_like(img)
    for weight in (1.0, 0.5, 0.2):
        out = mix_wide(black, img, hole, weight)
        expected = np.rint(weight * np.array([200, 100, 40], np.float32)).astype(np.uint8)
        assert (out[hole > 0] == expected).all()
        assert not out[hole == 0].any()  # pixels outside the hole are left as the caller's
    assert not black.any()  # mix_wide works on a copy


def test_weight_zero_and_empty_holes_change_nothing():
    img, hole = natural_image(100, 100, seed=2), _blob(100, 100, 20, 20, 40)
    fill = np.zeros_like(img)
    assert mix_wide(fill, img, hole, 0.0) is fill
    assert not mix_wide_in_place(fill, img, hole, (20, 20, 40, 40), 0.0)
    assert mix_wide(fill, img, np.zeros_like(hole)) is fill


def test_a_hole_over_the_whole_image_is_not_mixed():
    """NS with no known pixel returns its input: ungated, the mix put half of the object being
    removed back into the fill (a red frame filled with grey came back (64, 64, 192))."""
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 2] = 255
    fill = np.full_like(red, 128)
    everything = np.full((64, 64), 255, np.uint8)
    assert mix_wide(fill, red, everything, 0.5, max_std=UNGATED_STD) is fill
    assert not mix_wide_in_place(fill.copy(), red, everything > 0, (0, 0, 64, 64), 0.5, max_std=UNGATED_STD)


@pytest.mark.parametrize("where", ["corner", "tiny", "thin-image"])
def test_holes_at_borders_and_small_images(where):
    """Windows at the image border, smaller than the scale allows, or a few px high are filled
    wholly and nothing outside the hole changes."""
    if where == "corner":
        img, hole = natural_image(90, 120, seed=3), _blob(90, 120, 0, 80, 40)
    elif where == "tiny":
        img, hole = natural_image(12, 12, seed=3), _blob(12, 12, 4, 4, 3)
    else:
        img, hole = natural_image(6, 300, seed=3), np.zeros((6, 300), np.uint8)
        hole[2:4, 100:200] = 255
    fill = np.zeros_like(img)
    out = mix_wide(fill, img, hole, 1.0, max_std=UNGATED_STD)
    assert (out[hole > 0] > 0).any(axis=-1).all()
    assert not out[hole == 0].any()


def test_the_mix_lowers_the_error_of_a_noisy_fill():
    """Diffusion and a fill with independent errors: the mix is nearer the truth than the fill."""
    img, hole = natural_image(160, 200, seed=4), _blob()
    rng = np.random.default_rng(0)
    noisy = np.clip(img.astype(np.int16) + rng.normal(0, 40, img.shape), 0, 255).astype(np.uint8)
    mixed = mix_wide(noisy, img, hole, 0.3, max_std=UNGATED_STD)
    err = lambda a: np.abs(a[hole > 0].astype(np.float32) - img[hole > 0]).mean()  # noqa: E731
    assert err(mixed) < 0.9 * err(noisy)


def _smooth(h=160, w=200):
    """A gradient: the known ring's std is far below the default gate."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([60 + 0.3 * xx, 40 + 0.4 * yy, 100 + 0.1 * (xx + yy)], -1).astype(np.uint8)


def _busy(h=160, w=200, seed=7):
    """A detailed image: bars of 6 px over a natural-looking one; the ring's std is above the gate."""
    img = natural_image(h, w, seed=seed).astype(np.int16)
    img[:, (np.arange(w) // 6) % 2 == 1] += 70
    return np.clip(img, 0, 255).astype(np.uint8)


def test_ring_std_reads_only_the_known_pixels_near_the_hole():
    img = np.full((100, 100, 3), 50, np.uint8)
    img[:, 50:] = 150  # the ring around a hole across the edge: half 50, half 150 -> std 50
    hole = np.zeros((100, 100), np.uint8)
    hole[40:60, 40:60] = 255
    img[40:60, 40:60] = 255  # the hole's own pixels are not read
    img[:5, :5] = 0  # nor pixels farther than 8 px from it
    assert ring_std(img, hole) == pytest.approx(50, abs=0.01)
    assert ring_std(img[:, :50], hole[:, :50]) == 0  # grey image (one channel) works too
    assert ring_std(img, np.full((100, 100), 255, np.uint8)) == float("inf")


def test_gated_share_falls_from_half_the_gate_to_the_gate():
    assert gated_share(0.5, 0.0, 20) == gated_share(0.5, 10.0, 20) == 0.5
    assert gated_share(0.5, 15.0, 20) == pytest.approx(0.25)
    assert gated_share(0.5, 20.0, 20) == gated_share(0.5, 90.0, 20) == 0
    assert gated_share(0.5, 120.0, UNGATED_STD) == 0.5


def test_the_gate_keeps_textured_surroundings_and_mixes_smooth_ones():
    hole = _blob()
    busy = _busy()
    assert ring_std(busy, hole) > DEFAULT_WIDE_NS_MAX_STD  # the fixture is detailed enough to test the gate
    fill = np.zeros_like(busy)
    assert mix_wide(fill, busy, hole) is fill  # closed: nothing mixed
    assert not mix_wide_in_place(fill, busy, hole, (60, 50, 60, 60))
    assert (mix_wide(fill, busy, hole, max_std=UNGATED_STD)[hole > 0] > 0).any()
    smooth = _smooth()
    assert mix_wide_in_place(fill, smooth, hole, (60, 50, 60, 60)) == DEFAULT_WIDE_NS_WEIGHT
    expected = np.rint(DEFAULT_WIDE_NS_WEIGHT * coarse_ns(smooth, hole > 0)[hole > 0])
    assert np.abs(fill[hole > 0] - expected).max() <= 3  # window vs whole image: the grid may shift
    assert np.array_equal(fill, mix_wide(np.zeros_like(smooth), smooth, hole))


def test_inpainter_mixes_before_the_thin_refill():
    from edgefill.thin import refill_thin

    img = natural_image(160, 200, seed=5)
    hole = _blob()
    hole[20, 10:190] = 255  # a scratch, refilled after the mix
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=0, wide_ns_weight=0) as inp:
        raw = inp.inpaint(img, hole)
    with edgefill.Inpainter(model="nano", backend="onnxruntime", wide_ns_weight=0.5, thin_hole_px=3,
                            wide_ns_max_std=UNGATED_STD) as inp:
        assert inp.wide_ns_weight == 0.5 and inp.wide_ns_max_std == UNGATED_STD
        out = inp.inpaint(img, hole)
    assert np.array_equal(out, refill_thin(mix_wide(raw, img, hole, 0.5, max_std=UNGATED_STD), img, hole, 3))
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=0, wide_ns_weight=0.2,
                            wide_ns_scale=1, wide_ns_max_std=UNGATED_STD) as inp:
        full = inp.inpaint(img, hole)
        assert np.array_equal(full, mix_wide(raw, img, hole, 0.2, 1, UNGATED_STD))
        assert not np.array_equal(full, mix_wide(raw, img, hole, 0.2, 4, UNGATED_STD))
    for bad in (-0.1, 1.5):
        with pytest.raises(ConfigError, match="wide_ns_weight"):
            edgefill.Inpainter(model="nano", backend="onnxruntime", wide_ns_weight=bad)
    for bad in (0, 2.5, 17):
        with pytest.raises(ConfigError, match="wide_ns_scale"):
            edgefill.Inpainter(model="nano", backend="onnxruntime", wide_ns_scale=bad)
    with pytest.raises(ConfigError, match="wide_ns_max_std"):
        edgefill.Inpainter(model="nano", backend="onnxruntime", wide_ns_max_std=0)


def test_inpainter_mixes_by_default_where_the_surroundings_are_smooth():
    """With the setting the model records in its sidecar (lite: share 0.4, gate 20 since the
    thirty-first session), else the runtime's defaults."""
    assert (DEFAULT_WIDE_NS_WEIGHT, DEFAULT_WIDE_NS_MAX_STD) == (0.5, 25)
    sidecar = json.loads((MODELS_DIR / "lite.json").read_text())
    recorded = (sidecar.get("wide_ns_weight", DEFAULT_WIDE_NS_WEIGHT), sidecar.get("wide_ns_scale", NS_SCALE),
                sidecar.get("wide_ns_max_std", DEFAULT_WIDE_NS_MAX_STD))
    hole = _blob()
    with edgefill.Inpainter(model="lite", backend="onnxruntime", thin_hole_px=0) as inp:
        assert (inp.wide_ns_weight, inp.wide_ns_scale, inp.wide_ns_max_std) == recorded
        busy, smooth = _busy(), _smooth()
        outs = {name: inp.inpaint(im, hole) for name, im in (("busy", busy), ("smooth", smooth))}
    with edgefill.Inpainter(model="lite", backend="onnxruntime", thin_hole_px=0, wide_ns_weight=0) as inp:
        raws = {name: inp.inpaint(im, hole) for name, im in (("busy", busy), ("smooth", smooth))}
    assert np.array_equal(outs["busy"], raws["busy"])  # gate closed
    assert np.array_equal(outs["smooth"], mix_wide(raws["smooth"], smooth, hole, *recorded))
    assert not np.array_equal(outs["smooth"], raws["smooth"])


def test_classical_backends_are_not_mixed():
    img, hole = natural_image(100, 120, seed=6), _blob(100, 120, 20, 30, 40)
    with edgefill.Inpainter(backend="opencv-telea", wide_ns_weight=0) as inp:
        plain = inp.inpaint(img, hole)
    with edgefill.Inpainter(backend="opencv-telea", wide_ns_weight=1) as inp:
        assert np.array_equal(inp.inpaint(img, hole), plain)



@pytest.mark.parametrize("shape", [(1, 1000), (1000, 1)])
def test_a_frame_one_pixel_high_or_wide_is_mixed_the_same_every_time(shape):
    """OpenCV's NS reads memory outside an image one pixel high (or wide), so the mix of the same
    hole changed from call to call; it is now run with that row (column) repeated."""
    assert unsteady_fills(lambda fill, img, hole: mix_wide(fill, img, hole, 1.0, max_std=UNGATED_STD), shape, seed=1) == 0
