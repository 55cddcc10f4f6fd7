"""Every registered backend honours the same contract (timm-style: parametrized over the registry)."""

import numpy as np
import pytest

from edgefill import create_backend, list_backends
from edgefill.backends import backend_class
from edgefill.errors import InputError, ShapeError

from ..conftest import natural_image


def _make(name):
    cls = backend_class(name)
    avail = cls.is_available()
    if not avail:
        pytest.skip(f"{name} unavailable here: {avail.reason}")
    return create_backend(name, model="nano") if cls.uses_model else create_backend(name)


@pytest.fixture(params=list_backends())
def backend(request):
    b = _make(request.param)
    yield b
    b.close()


def _case(h=256, w=320):
    img = natural_image(h, w, seed=3)
    mask = np.zeros((h, w), np.uint8)
    mask[60:140, 100:200] = 255
    img[mask > 0] = (255, 0, 255)  # a magenta "object" to remove
    return img, mask


def test_known_pixels_untouched_and_hole_filled(backend):
    img, mask = _case()
    out = backend.infer(img, mask)
    assert out.shape == img.shape and out.dtype == np.uint8
    keep = mask == 0
    assert np.array_equal(out[keep], img[keep])
    hole_err = np.abs(out[~keep].astype(int) - img[~keep].astype(int)).mean()
    assert hole_err > 40, "the hole still looks like the removed object"
    assert backend.last_inference_time > 0


def test_metadata(backend):
    info = backend.input_info
    assert info.multiple >= 1 and info.channels == 3 and info.dtype == "uint8"
    assert backend.is_available()


def test_rejects_mismatched_mask(backend):
    img, mask = _case()
    with pytest.raises(ShapeError):
        backend.infer(img, mask[:128])


@pytest.mark.parametrize("bad", ["float_image", "gray_image", "float_mask", "3d_mask"])
def test_rejects_bad_dtypes(backend, bad):
    img, mask = _case()
    if bad == "float_image":
        img = img.astype(np.float32)
    elif bad == "gray_image":
        img = img[..., 0]
    elif bad == "float_mask":
        mask = mask.astype(np.float32)
    else:
        mask = mask[..., None]
    with pytest.raises(InputError):
        backend.infer(img, mask)


def test_rejects_shape_off_multiple(backend):
    m = backend.input_info.multiple
    if m == 1:
        pytest.skip("backend accepts any size")
    img, mask = _case(m * 2 + 1, m * 2)
    with pytest.raises(ShapeError):
        backend.infer(img, mask)


def test_closed_backend_refuses(backend):
    img, mask = _case()
    backend.close()
    with pytest.raises(InputError):
        backend.infer(img, mask)


def test_context_manager():
    name = list_backends()[-1]
    with _make(name) as b:
        img, mask = _case()
        b.infer(img, mask)
