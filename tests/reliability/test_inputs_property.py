"""Property tests: whatever arrays reach the API, the result is a valid image or a clear
EdgeFillError; nothing else escapes."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import edgefill  # noqa: E402
from edgefill.errors import EdgeFillError  # noqa: E402

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.float32, np.float64, np.bool_, np.int64])
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12),
    st.tuples(st.integers(1, 300), st.integers(1, 300), st.sampled_from([1, 2, 3, 4])),
    st.tuples(st.integers(1, 300), st.integers(1, 300)),
)


def arrays():
    return st.builds(lambda dt, shape, seed: _make(dt, shape, seed), DTYPES, SHAPES, st.integers(0, 2**16))


def _make(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    a = (rng.random(shape) * 300 - 20)
    if np.dtype(dtype).kind == "f" and a.size:
        a.flat[rng.integers(0, a.size)] = rng.choice([np.nan, np.inf, -np.inf])
    return a.astype(dtype) if np.dtype(dtype) != np.bool_ else a > 100


@pytest.fixture(scope="module")
def inpainters():
    out = [edgefill.Inpainter(backend="opencv-telea")]
    if edgefill.backends.backend_class("onnxruntime").is_available():
        out.append(edgefill.Inpainter(model="nano", backend="onnxruntime"))
    yield out
    for i in out:
        i.close()


def _check(inp, image, mask, invert=False):
    try:
        out = inp.inpaint(image, mask, invert=invert)
    except EdgeFillError:
        return
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == np.asarray(image).shape


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(image=arrays(), mask=arrays(), invert=st.booleans())
def test_arbitrary_arrays(inpainters, image, mask, invert):
    for inp in inpainters:
        _check(inp, image, mask, invert)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(1, 260), w=st.integers(1, 260), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["zeros", "ones", "random", "full255", "inverted", "strided"]))
def test_valid_images_with_any_mask(inpainters, h, w, seed, kind):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = {"zeros": np.zeros((h, w), np.uint8), "ones": np.ones((h, w), np.uint8),
            "full255": np.full((h, w), 255, np.uint8),
            "random": (rng.random((h, w)) > 0.7).astype(np.uint8) * 255,
            "inverted": (rng.random((h, w)) > 0.05).astype(np.uint8) * 255,
            "strided": (rng.random((2 * h, 2 * w)) > 0.8).astype(np.uint8)[::2, ::2] * 255}[kind]
    if kind == "strided":
        image = np.repeat(np.repeat(image, 2, 0), 2, 1)[::2, ::2]  # non-contiguous views
    for inp in inpainters:
        out = inp.inpaint(image, mask)
        assert out.shape == image.shape and out.dtype == np.uint8
        if not mask.any():
            assert np.array_equal(out, image)


def test_huge_declared_image_is_refused(tmp_path):
    """A PNG header declaring 20000 x 20000 pixels is refused before it is decoded."""
    import struct
    import zlib

    from edgefill.imageio import read_image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    p = tmp_path / "bomb.png"
    p.write_bytes(png)
    with pytest.raises(EdgeFillError, match="pixels"):
        read_image(p)
