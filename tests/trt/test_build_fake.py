"""Engine building and loading (edgefill.trt.build, the tensorrt backend's load) against the fake
``tensorrt`` / ``pycuda`` packages in fake_gpu/, whose builder, timing cache, runtime and
execution contexts follow NVIDIA's documented behaviour (see fake_gpu/tensorrt/__init__.py)."""

import hashlib
import json

import pytest

from edgefill.errors import BackendUnavailableError

from .test_backend_fake import backend, check_fill, fake_gpu, frame, make_engine  # noqa: F401 (fixture)

PROFILES = [{"name": "b256", "min": [1, 256, 256], "opt": [1, 256, 256], "max": [1, 256, 256]},
            {"name": "b384", "min": [1, 256, 256], "opt": [1, 384, 384], "max": [1, 384, 384]}]


def make_bundle(folder):
    """The parts of an export bundle that build_for_bundle reads (edgefill_export.bundle writes them)."""
    folder.mkdir()
    onnx = folder / "model.trt.fp32.onnx"
    onnx.write_bytes(b"not really onnx: the fake parser takes anything")
    sha = hashlib.sha256(onnx.read_bytes()).hexdigest()
    bundle = {"format": "edgefill-bundle/1", "model": "lite", "precision": "fp16", "multiple": 64, "profile": None,
              "artifacts": {}, "tensorrt_profiles": PROFILES, "calibration": None,
              "tensorrt": {"onnx": onnx.name, "sha256": sha, "io": "uint8", "builder_precision": "fp16"}}
    (folder / "bundle.json").write_text(json.dumps(bundle))
    return folder


def test_a_bundle_builds_and_runs(fake_gpu, tmp_path):  # noqa: F811
    from edgefill.trt.build import build_for_bundle

    bundle = make_bundle(tmp_path / "b")
    path = build_for_bundle(bundle)
    b = backend(bundle)
    assert b.engine_path == path and b.input_info.buckets == (256, 384)
    img, mask = frame(256, 384)
    check_fill(img, mask, b.infer(img, mask))
    b.close()


def test_a_timing_cache_from_another_gpu_does_not_lose_the_build(fake_gpu, tmp_path):  # noqa: F811
    """TensorRT refuses a timing cache recorded on a GPU with other properties (set_timing_cache
    returns False, get_timing_cache() then returns None); the build used to end in an
    AttributeError after building, and the engine was lost."""
    import tensorrt

    from edgefill.trt.build import EngineConfig, EngineFromOnnx

    onnx = make_bundle(tmp_path / "b") / "model.trt.fp32.onnx"
    cache = tmp_path / "timing.cache"
    fake_gpu.STATE["multiprocessors"] = 16  # an AGX Orin records the cache ...
    EngineFromOnnx(onnx, EngineConfig(profiles=tuple(PROFILES)), timing_cache=cache)()
    fake_gpu.STATE["multiprocessors"] = 8  # ... an Orin Nano (also sm 8.7) reads it
    engine = EngineFromOnnx(onnx, EngineConfig(profiles=tuple(PROFILES)), timing_cache=cache)()
    assert engine.startswith(b"FAKE")
    assert tensorrt.STATE["configs"][-1].get_timing_cache() is not None  # the build was timed with a cache
    assert json.loads(cache.read_bytes()[len(b"TCACHE"):])["device"]["multiprocessors"] == 8  # rewritten for it


def test_gpus_of_one_compute_capability_keep_their_own_timing_cache(fake_gpu, tmp_path):  # noqa: F811
    """A bundle folder (engines/ included) copied from one Orin module to another."""
    from edgefill.trt.build import build_for_bundle

    bundle = make_bundle(tmp_path / "b")
    fake_gpu.STATE["multiprocessors"] = 16
    build_for_bundle(bundle)
    fake_gpu.STATE["multiprocessors"] = 8
    build_for_bundle(bundle)
    assert len(list((bundle / "engines").glob("timing-*.cache"))) == 2


def test_no_cuda_device_is_a_backend_error_when_building(fake_gpu, tmp_path):  # noqa: F811
    """`edgefill build-engine` in a container started without the NVIDIA runtime: pycuda's
    cuInit error used to surface as a traceback."""
    from edgefill.trt.build import build_for_bundle

    fake_gpu.STATE["no_device"] = True
    with pytest.raises(BackendUnavailableError, match="no CUDA-capable device"):
        build_for_bundle(make_bundle(tmp_path / "b"))


def dla_engine(tmp_path, core):
    path = make_engine(tmp_path, [[384, 384, 384, 384]])
    side = json.loads(path.with_suffix(".json").read_text())
    side["config"] = {"precision": "fp16", "use_dla": True, "dla_core": core}
    path.with_suffix(".json").write_text(json.dumps(side))
    return path


def test_a_dla_engine_runs_on_the_dla_core_it_was_built_for(fake_gpu, tmp_path):  # noqa: F811
    """The runtime picks the DLA core (IRuntime::setDLACore, default -1); the builder's
    config.DLA_core does not carry over to deserialization."""
    b = backend(dla_engine(tmp_path, 1))
    assert b.engine.dla_core == 1
    b.close()


def test_a_dla_core_the_device_lacks_is_refused(fake_gpu, tmp_path):  # noqa: F811
    import tensorrt

    tensorrt.STATE["dla_cores"] = 1  # e.g. an engine for DLA core 1 of an Orin NX, on an Orin Nano... with one
    with pytest.raises(BackendUnavailableError, match="DLA core 1.*1 DLA cores"):
        backend(dla_engine(tmp_path, 1))
    assert fake_gpu.MEMORY == {} and fake_gpu._stack() == []


def test_out_of_memory_for_an_execution_context_is_clean(fake_gpu, tmp_path):  # noqa: F811
    """create_execution_context() returns None when TensorRT cannot allocate the context's
    memory (4 GB Jetsons); the load must say so, and free what it had allocated before
    `auto` tries the next backend."""
    import tensorrt

    tensorrt.STATE["contexts_left"] = 1
    with pytest.raises(BackendUnavailableError, match="execution context for profile 1"):
        backend(make_engine(tmp_path, [[256, 256, 256, 256], [256, 256, 512, 512]]))
    assert fake_gpu.MEMORY == {}  # the first profile's buffers are freed
    assert (fake_gpu.STATE["retained"], fake_gpu.STATE["released"]) == (1, 0) and fake_gpu._stack() == []


def test_a_forced_re_export_s_new_graph_removes_the_engines_of_the_old_one(fake_gpu, tmp_path):  # noqa: F811
    from edgefill.trt.build import build_for_bundle

    bundle = make_bundle(tmp_path / "b")
    old = build_for_bundle(bundle)
    twin = old.with_name("another-key.engine")  # the same graph for other settings: kept
    twin.write_bytes(old.read_bytes())
    twin.with_suffix(".json").write_text(old.with_suffix(".json").read_text())
    (bundle / "engines" / "notes.json").write_text('{"mine": true}')  # not an engine's sidecar: kept
    onnx = bundle / "model.trt.fp32.onnx"  # what `export --force` does: a new graph, bundle.json naming it
    onnx.write_bytes(b"another graph")
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["tensorrt"]["sha256"] = hashlib.sha256(onnx.read_bytes()).hexdigest()
    (bundle / "bundle.json").write_text(json.dumps(meta))
    new = build_for_bundle(bundle)
    assert new != old and new.is_file() and new.with_suffix(".json").is_file()
    assert not old.exists() and not old.with_suffix(".json").exists()
    assert not twin.exists()  # built from the old graph as well
    assert (bundle / "engines" / "notes.json").is_file()
    assert build_for_bundle(bundle) == new  # a cache hit removes nothing
    assert new.is_file()


def test_engines_of_the_same_graph_are_kept(fake_gpu, tmp_path):  # noqa: F811
    from edgefill.trt.build import build_for_bundle, prune_stale_engines

    bundle = make_bundle(tmp_path / "b")
    path = build_for_bundle(bundle)
    other = path.with_name("dla-core-1.engine")
    other.write_bytes(b"x")
    other.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
    sha = json.loads(path.with_suffix(".json").read_text())["onnx_sha256"]
    assert prune_stale_engines(bundle / "engines", sha) == []
    assert path.is_file() and other.is_file()
    assert sorted(prune_stale_engines(bundle / "engines", "0" * 64)) == sorted([other, path])
    assert not path.exists() and not other.exists()
