"""The TensorRT backend on a CPU, against fake ``tensorrt`` / ``pycuda`` packages (fake_gpu/).

What runs here is edgefill's own logic around TensorRT: engine-file checks, optimisation
profile selection, padding of crops below a profile's minimum, the CUDA context being made
current on whichever thread calls ``infer`` (pycuda's is per thread), error translation
and clean-up. The real thing runs in test_tensorrt_runtime.py wherever TensorRT does.
"""

import hashlib
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import edgefill
from edgefill.errors import BackendUnavailableError, ConfigError, InferenceError, ShapeError

FAKES = Path(__file__).parent / "fake_gpu"


@pytest.fixture
def fake_gpu(monkeypatch):
    """Import the fake tensorrt and pycuda in place of any real ones, for this test only."""
    def fake_names():
        return [m for m in sys.modules if m.split(".")[0] in ("tensorrt", "pycuda")]

    for name in fake_names():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(FAKES))
    import pycuda.driver as cuda
    import tensorrt

    cuda.STATE.update(initialised=False, fail_copies=False, retained=0, released=0, multiprocessors=8,
                      no_device=False, fail_alloc=False)
    cuda.MEMORY.clear()
    cuda.HOST.clear()
    cuda.STREAMS.clear()
    tensorrt.STATE.update(contexts_left=None, dla_cores=2, built=[], configs=[])
    yield cuda
    for name in fake_names():
        sys.modules.pop(name, None)


def make_engine(folder: Path, profiles, multiprocessors=8) -> Path:
    """A fake engine file with the sidecar edgefill writes (edgefill.trt.build.SaveEngine)."""
    data = b"FAKE" + json.dumps({"profiles": profiles}).encode()
    path = folder / "fake.engine"
    path.write_bytes(data)
    side = {"format": "edgefill-engine/1", "tensorrt": "10.3.0", "compute_capability": "8.7",
            "multiprocessors": multiprocessors, "gpu": "Fake Orin", "multiple": 64,
            "config": {"precision": "fp16"}, "engine_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.with_suffix(".json").write_text(json.dumps(side))
    return path


def backend(path):
    from edgefill.backends.tensorrt import TensorRTBackend

    return TensorRTBackend(model=str(path))


def frame(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4: h // 2, w // 4: w // 2] = 255
    return img, mask


def check_fill(img, mask, out):
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], img[mask == 0])
    assert (out[mask > 0] == 128).all()


def test_infer_works_from_another_thread(fake_gpu, tmp_path):
    """Pipeline runs inference on its own thread; pycuda's context is current per thread."""
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 512, 512]]))
    img, mask = frame(256, 384)
    result, error = {}, []

    def work():
        try:
            result["out"] = b.infer(img, mask)
        except Exception as exc:  # reported below
            error.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert not error, error
    check_fill(img, mask, result["out"])
    check_fill(img, mask, b.infer(img, mask))  # and on the constructing thread
    assert fake_gpu._stack() == []  # every push popped
    b.close()


def test_profile_choice_and_padding_below_the_minimum(fake_gpu, tmp_path):
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 384, 384]]))
    assert b.input_info.buckets == (256, 384) and b.input_info.max_size == 384
    small = b.slots[0].context
    for h, w in ((128, 128), (64, 256), (256, 256)):  # below the profiles' minimum: padded up to it
        img, mask = frame(h, w, seed=h + w)
        check_fill(img, mask, b.infer(img, mask))
    assert small.runs == 3
    img, mask = frame(256, 384)
    check_fill(img, mask, b.infer(img, mask))
    assert b.slots[1].context.runs == 1
    with pytest.raises(ShapeError, match="at most 384x384"):
        b.infer(*frame(448, 384))
    b.close()


def test_static_profiles_pad_every_crop(fake_gpu, tmp_path):
    """DLA engines are built with min = opt = max (edgefill.trt.build.static_profiles)."""
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [384, 384, 384, 384]]))
    img, mask = frame(320, 192)
    check_fill(img, mask, b.infer(img, mask))
    assert b.slots[1].context.shapes["image"] == (1, 384, 384, 3)
    b.close()


def test_padding_mirrors_the_hole_too(fake_gpu, tmp_path):
    """A hole at the crop's edge must not be mirrored into the padding as known pixels."""
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    img, mask = frame(128, 128)
    mask[:] = 0
    mask[100:, 100:] = 255  # touches the bottom-right corner, where the padding starts
    seen = {}
    original = type(b)._run

    def spy(self, slot, image, m):
        seen["mask"] = m.copy()
        return original(self, slot, image, m)

    type(b)._run = spy
    try:
        b.infer(img, mask)
    finally:
        type(b)._run = original
    padded = seen["mask"]
    assert padded.shape == (256, 256)
    assert padded[128:155, 100:128].all() and padded[100:128, 128:155].all()
    b.close()


def test_cuda_errors_become_inference_errors(fake_gpu, tmp_path):
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    fake_gpu.STATE["fail_copies"] = True
    with pytest.raises(InferenceError, match="illegal memory access"):
        b.infer(*frame(256, 256))
    assert fake_gpu._stack() == []
    fake_gpu.STATE["fail_copies"] = False
    check_fill(*frame(256, 256), b.infer(*frame(256, 256)))
    b.close()


def test_close_frees_buffers_and_releases_the_context(fake_gpu, tmp_path):
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 512, 512]]))
    assert len(fake_gpu.MEMORY) == 6
    b.close()
    assert fake_gpu.MEMORY == {} and (fake_gpu.STATE["retained"], fake_gpu.STATE["released"]) == (1, 0)
    assert fake_gpu._stack() == []
    with pytest.raises(edgefill.errors.InputError, match="closed"):
        b.infer(*frame(256, 256))
    b.close()  # twice is harmless


def test_engine_for_another_gpu_is_refused(fake_gpu, tmp_path):
    """Every Orin is sm 8.7; the multiprocessor count tells an AGX Orin engine from an Orin Nano."""
    path = make_engine(tmp_path, [[256, 256, 256, 256]], multiprocessors=16)
    with pytest.raises(BackendUnavailableError, match="multiprocessors 16.*multiprocessors 8"):
        backend(path)


def test_inpainter_plans_crops_with_the_engine_buckets(fake_gpu, tmp_path):
    b = backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 384, 384]]))
    inp = edgefill.Inpainter(backend=b, thin_hole_px=0)
    assert inp.roi_config.buckets == (256, 384)
    img, mask = frame(720, 1280)
    mask[:] = 0
    mask[100:600, 200:900] = 255  # tiled with 384 crops, never 512
    out = inp.inpaint(img, mask)
    assert np.array_equal(out[mask == 0], img[mask == 0]) and (out[mask > 0] == 128).all()
    with pytest.raises(ConfigError, match="bucket 512 is larger than the backend takes"):
        edgefill.Inpainter(backend=b, roi_config=edgefill.RoiConfig(buckets=(256, 512)))
    inp.close()


@pytest.mark.parametrize("bad", ['[1, 2]', '{"format": "edgefill-engine/1", "multiple": null}',
                                 '{"format": "edgefill-engine/1", "multiple": 0}', 'not json'])
def test_a_bad_sidecar_is_a_model_error(fake_gpu, tmp_path, bad):
    path = make_engine(tmp_path, [[256, 256, 256, 256]])
    path.with_suffix(".json").write_text(bad)
    with pytest.raises(edgefill.errors.ModelError, match="fake.json|sidecar"):
        backend(path)


@pytest.mark.parametrize("foreign", ["i32", "int64", "b"])
def test_an_engine_with_foreign_tensor_types_is_refused_by_name(fake_gpu, tmp_path, monkeypatch, foreign):
    """An engine whose image is int32 / int64 / bool would get the frame cast into it unchecked;
    it is refused by name (int64 is not a type the dtype table knows: no TypeError escapes)."""
    import tensorrt

    monkeypatch.setattr(tensorrt._Engine, "get_tensor_dtype",
                        lambda self, name: foreign if name == "image" else tensorrt.uint8)
    with pytest.raises(edgefill.errors.ModelError, match="'image' tensor is " + foreign):
        backend(make_engine(tmp_path, [[256, 256, 256, 256]]))
    assert fake_gpu._stack() == [] and fake_gpu.STATE["released"] == 0
