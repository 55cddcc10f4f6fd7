import numpy as np
import pytest

import edgefill
from edgefill.errors import ConfigError
from edgefill.thin import DEFAULT_NS_WEIGHT, DEFAULT_THIN_HOLE_PX, NS_RADIUS, refill_thin, thin_components

from .conftest import natural_image, unsteady_fills


def _scratch_and_blob():
    hole = np.zeros((120, 160), np.uint8)
    hole[30, 10:150] = 255  # a 1-px scratch
    hole[60:63, 10:150] = 255  # a 3-px crack
    hole[80:115, 60:110] = 255  # a wide blob
    return hole


def test_thin_parts_are_the_scratches_not_the_blob():
    hole = _scratch_and_blob()
    thin = thin_components(hole, 3)
    assert thin[30, 10:150].all() and thin[60:63, 20:140].all()
    assert not thin[90:105, 70:100].any()  # the blob's interior stays with the model
    assert not thin[hole == 0].any()
    assert not thin_components(hole, 0).any()


def test_refill_replaces_only_thin_pixels_with_navier_stokes():
    img = natural_image(120, 160, seed=3)
    hole = _scratch_and_blob()
    model_fill = np.zeros_like(img)  # a stand-in "model" output: black everywhere
    out = refill_thin(model_fill, img, hole, 3)
    thin = thin_components(hole, 3)
    assert out[thin].mean() > 20  # NS colours, not the black stand-in
    assert np.array_equal(out[~thin], model_fill[~thin])
    assert not model_fill.any()  # the caller's array is left alone


def test_the_in_place_refill_is_the_refill():
    import cv2

    from edgefill.thin import refill_thin_in_place

    img = natural_image(120, 160, seed=3)
    hole = _scratch_and_blob()
    model_fill = np.zeros_like(img)
    out = model_fill.copy()
    assert refill_thin_in_place(out, img, hole, cv2.boundingRect(hole), 3)
    assert np.array_equal(out, refill_thin(model_fill, img, hole, 3))
    blob = np.zeros_like(hole)
    blob[40:90, 50:120] = 255
    blob = cv2.morphologyEx(blob, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))  # no thin corners
    untouched = model_fill.copy()
    assert not refill_thin_in_place(untouched, img, blob, cv2.boundingRect(blob), 3)  # nothing thin
    assert not untouched.any()


@pytest.mark.parametrize("pad", [((0, 8), (0, 0)), ((70, 90), (100, 60))])
def test_inpainter_option(tmp_path, pad):
    """The Inpainter refills the thin parts within the hole's window; the result is the refill
    of the whole image (pad: the hole at the image border, and in the middle of a larger one)."""
    hole = np.pad(_scratch_and_blob(), pad)
    img = natural_image(*hole.shape, seed=4)
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=3) as inp:
        out = inp.inpaint(img, hole)
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=0) as inp:
        plain = inp.inpaint(img, hole)
    with edgefill.Inpainter(model="nano", backend="onnxruntime") as inp:
        assert inp.thin_hole_px == DEFAULT_THIN_HOLE_PX > 0  # on by default
        assert np.array_equal(inp.inpaint(img, hole), refill_thin(plain, img, hole, DEFAULT_THIN_HOLE_PX))
    thin = thin_components(hole, 3)
    assert np.array_equal(out, refill_thin(plain, img, hole, 3))  # the model's fill, thin parts by NS
    assert not np.array_equal(out[thin], plain[thin])
    with pytest.raises(ConfigError, match="thin_hole_px"):
        edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=-1)


@pytest.mark.parametrize("x0", [40, 80])
def test_refill_matches_navier_stokes_on_the_whole_image(x0):
    """The windowed refill is NS on the thin pixels of the whole image, reading the known pixels
    and, inside wide parts, the model's fill (at x0 = 80 the scratches run into the image border)."""
    import cv2

    img = natural_image(140, 200, seed=5)
    hole = np.zeros((140, 200), np.uint8)
    hole[10:130, x0 : x0 + 120] = _scratch_and_blob()[:120, :120]
    model_fill = img.copy()
    model_fill[hole > 0] = (20, 200, 90)
    thin = thin_components(hole, 3)
    source = np.where(hole[..., None] > 0, model_fill, img)
    ns = cv2.inpaint(source, thin.astype(np.uint8) * 255, NS_RADIUS, cv2.INPAINT_NS)
    expected = model_fill.copy()
    expected[thin] = ns[thin]
    assert np.array_equal(refill_thin(model_fill, img, hole, 3, ns_weight=1.0), expected)
    # by default NS and the model's own fill are mixed in the thin pixels, rounded
    mixed = model_fill.copy()
    mixed[thin] = np.rint(DEFAULT_NS_WEIGHT * ns[thin].astype(np.float32)
                          + (1 - DEFAULT_NS_WEIGHT) * model_fill[thin].astype(np.float32)).astype(np.uint8)
    assert 0 < DEFAULT_NS_WEIGHT < 1
    assert np.array_equal(refill_thin(model_fill, img, hole, 3), mixed)
    assert np.array_equal(refill_thin(model_fill, img, hole, 3, ns_weight=0.0), model_fill)


def test_inpainter_mixes_the_thin_pixels_as_told():
    hole = _scratch_and_blob()
    img = natural_image(*hole.shape, seed=7)
    with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=0) as inp:
        plain = inp.inpaint(img, hole)
    for weight in (1.0, 0.5):
        with edgefill.Inpainter(model="nano", backend="onnxruntime", thin_hole_px=3, thin_ns_weight=weight) as inp:
            assert np.array_equal(inp.inpaint(img, hole), refill_thin(plain, img, hole, 3, ns_weight=weight))
    for bad in (-0.1, 1.5):
        with pytest.raises(ConfigError, match="thin_ns_weight"):
            edgefill.Inpainter(model="nano", backend="onnxruntime", thin_ns_weight=bad)


def _nano_with_metadata(tmp_path, value):
    onnx = pytest.importorskip("onnx", reason="rewriting a model's metadata needs the onnx package (edgefill[export])")

    from edgefill.models import resolve_model

    m = onnx.load(str(resolve_model("nano").path))
    entry = m.metadata_props.add()
    entry.key, entry.value = "edgefill.thin_radius", value
    path = tmp_path / "nano-wide.onnx"  # no sidecar: its checksum is taken as it is
    onnx.save(m, str(path))
    return path


def test_inpainter_refills_with_the_radius_the_model_records(tmp_path):
    """A model that records a refill radius gets it (the result is refill_thin with that radius,
    not the default's); an explicit thin_radius wins; bad values are clear errors."""
    from edgefill.errors import ModelError

    hole = _scratch_and_blob()
    img = natural_image(*hole.shape, seed=6)
    path = _nano_with_metadata(tmp_path, "5")
    with edgefill.Inpainter(model=path, backend="onnxruntime", thin_hole_px=0) as inp:
        plain = inp.inpaint(img, hole)
    with edgefill.Inpainter(model=path, backend="onnxruntime", thin_hole_px=3) as inp:
        assert inp.thin_radius == 5.0
        wide = inp.inpaint(img, hole)
    assert np.array_equal(wide, refill_thin(plain, img, hole, 3, 5.0))
    assert not np.array_equal(wide, refill_thin(plain, img, hole, 3, NS_RADIUS))
    with edgefill.Inpainter(model=path, backend="onnxruntime", thin_hole_px=3, thin_radius=NS_RADIUS) as inp:
        assert np.array_equal(inp.inpaint(img, hole), refill_thin(plain, img, hole, 3, NS_RADIUS))
    with edgefill.Inpainter(model="nano", backend="onnxruntime") as inp:
        assert inp.backend.refill.thin_radius is None and inp.thin_radius == NS_RADIUS
    with pytest.raises(ConfigError, match="thin_radius"):
        edgefill.Inpainter(model="nano", backend="onnxruntime", thin_radius=0.5)
    with pytest.raises(ModelError, match="thin_radius 'x'"):
        edgefill.create_backend("onnxruntime", model=_nano_with_metadata(tmp_path, "x"))


def test_a_huge_half_width_is_capped_at_the_array(monkeypatch):
    """Any disk wider than the array removes every hole pixel; the kernel is capped there, so
    a silly value costs no more than a large one (it used to build a 10001 px kernel and run
    for minutes)."""
    import cv2

    hole = np.zeros((60, 80), np.uint8)
    hole[10:50, 10:70] = 255
    expected = thin_components(hole, 80)
    real, sizes = cv2.getStructuringElement, []

    def spy(shape, ksize):
        sizes.append(ksize)
        if max(ksize) > 2 * 80 + 1:
            raise AssertionError(f"a {ksize} kernel for an 80 px wide array")
        return real(shape, ksize)

    monkeypatch.setattr(cv2, "getStructuringElement", spy)
    assert np.array_equal(thin_components(hole, 5000), expected) and np.array_equal(expected, hole > 0)
    assert sizes == [(161, 161)]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, "5", True])
def test_inpainter_refuses_a_bad_thin_hole_px_before_loading(bad, monkeypatch):
    import edgefill.inpainter as module

    def no_load(*a, **k):
        raise AssertionError("the backend was loaded before the option was checked")

    monkeypatch.setattr(module, "create_backend", no_load)
    with pytest.raises(edgefill.errors.ConfigError, match="thin_hole_px"):
        edgefill.Inpainter(backend="onnxruntime", thin_hole_px=bad)



@pytest.mark.parametrize("shape", [(1, 300), (300, 1)])
def test_a_frame_one_pixel_high_or_wide_is_refilled_the_same_every_time(shape):
    """OpenCV's NS reads memory outside an image one pixel high (or wide): its fill of the same
    scratches changed from call to call. The refill runs it with that row (column) repeated."""
    assert unsteady_fills(lambda fill, img, hole: refill_thin(fill, img, hole, 3, ns_weight=1.0), shape, seed=0) == 0


def test_ns_of_an_image_one_pixel_high_is_that_of_the_row_twice():
    import cv2

    from edgefill.thin import inpaint_ns

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (1, 300, 3), np.uint8)
    hole = (rng.random((1, 300)) < 0.3).astype(np.uint8) * 255
    expected = cv2.inpaint(np.concatenate([img, img]), np.concatenate([hole, hole]), 2.0, cv2.INPAINT_NS)[:1]
    assert np.array_equal(inpaint_ns(img, hole, 2.0), expected)
    col, col_hole = img.transpose(1, 0, 2).copy(), hole.T.copy()
    expected = cv2.inpaint(np.concatenate([col, col], 1), np.concatenate([col_hole, col_hole], 1), 2.0, cv2.INPAINT_NS)
    assert np.array_equal(inpaint_ns(col, col_hole, 2.0), expected[:, :1])
    square = rng.integers(0, 255, (40, 50, 3), np.uint8)
    spot = np.zeros((40, 50), np.uint8)
    spot[10:14, 20:30] = 255
    assert np.array_equal(inpaint_ns(square, spot, 2.0), cv2.inpaint(square, spot, 2.0, cv2.INPAINT_NS))


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (3, 3)])
def test_tiny_holes_and_frames_are_refilled(shape):
    """A 1x1 frame with a hole raised cv2.error: OpenCV takes a 1x1 array for a scalar in
    cv2.compare (found by tests/reliability/test_inputs_property.py)."""
    img = np.full(shape + (3,), 100, np.uint8)
    hole = np.full(shape, 255, np.uint8)
    assert thin_components(hole, 5.0).shape == shape
    out = refill_thin(np.zeros_like(img), img, hole, 5.0, ns_weight=1.0)
    assert out.shape == img.shape


def test_inpainter_takes_a_numpy_thin_hole_px():
    """np.float32(5) (a value read from a NumPy config array) was refused as not a number."""
    with edgefill.Inpainter(backend="opencv-telea", thin_hole_px=np.float32(5)) as inp:
        assert inp.thin_hole_px == 5.0
