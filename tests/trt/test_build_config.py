"""Engine settings and cache keys (edgefill.trt.build), without TensorRT."""

import dataclasses
import logging

import pytest

from edgefill.profiles import DeviceProfile
from edgefill.trt.build import engine_config_for, engine_key, stale_facts, static_profiles

FACTS = {"tensorrt": "10.3.0", "compute_capability": "8.7", "multiprocessors": 16, "gpu": "Orin"}


def bundle_for(profile_name, precision="fp16"):
    """The fields of bundle.json that engine_config_for reads, as edgefill export writes them."""
    prof = DeviceProfile.load(profile_name)
    buckets = list(prof.runtime.buckets)
    return {"precision": precision, "profile": prof.to_dict(),
            "tensorrt": {"builder_precision": precision},
            "tensorrt_profiles": [{"name": f"b{b}", "min": [1, buckets[0], buckets[0]], "opt": [1, b, b],
                                   "max": [1, b, b]} for b in buckets]}


@pytest.mark.parametrize("name", ["agx-orin", "orin-nx", "orin-nano", "jetson-nano", "xavier-nx"])
def test_runtime_and_build_engine_agree_on_the_key(name):
    """`edgefill build-engine B --profile X` and the runtime (given only the bundle) must pick
    the same cached engine; the runtime used to assume a 1024 MB workspace."""
    bundle = bundle_for(name)
    built = engine_config_for(bundle, DeviceProfile.load(name))
    assert built.workspace_mb == DeviceProfile.load(name).runtime.workspace_mb
    assert engine_config_for(bundle) == built
    assert engine_key("sha", FACTS, engine_config_for(bundle), None) == engine_key("sha", FACTS, built, None)


def test_a_bundle_without_a_profile_gets_the_defaults():
    bundle = dict(bundle_for("orin-nano"), profile=None)
    cfg = engine_config_for(bundle)
    assert (cfg.workspace_mb, cfg.use_dla) == (1024, False)


def test_dla_engines_get_static_profiles(caplog):
    prof = DeviceProfile.load("orin-nx")
    dla = dataclasses.replace(prof, runtime=dataclasses.replace(prof.runtime, use_dla=True, dla_core=1))
    cfg = engine_config_for(bundle_for("orin-nx"), dla)
    assert cfg.use_dla and cfg.dla_core == 1
    assert all(p["min"] == p["opt"] == p["max"] for p in cfg.profiles)
    assert [p["max"] for p in cfg.profiles] == [p["max"] for p in bundle_for("orin-nx")["tensorrt_profiles"]]
    with caplog.at_level(logging.WARNING):
        engine_config_for(bundle_for("orin-nx", "int8"), dla)
    assert "DLA does not run" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        engine_config_for(bundle_for("orin-nx", "fp32"), dla)  # the DLA has no FP32: all on the GPU
    assert "DLA runs FP16 and INT8 only" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        engine_config_for(bundle_for("orin-nx", "fp16"), dla)
    assert "DLA" not in caplog.text
    assert static_profiles(()) == ()


def test_the_key_tells_gpus_of_one_compute_capability_apart():
    cfg = engine_config_for(bundle_for("orin-nano"))
    assert engine_key("sha", FACTS, cfg, None) != engine_key("sha", dict(FACTS, multiprocessors=8), cfg, None)
    assert engine_key("sha", FACTS, cfg, None) == engine_key("sha", dict(FACTS, gpu="renamed"), cfg, None)


def test_the_key_changes_with_the_build_recipe(monkeypatch):
    """A change to how edgefill builds an engine (layer precisions, flags) from the same ONNX and
    settings reused the engines cached by the old code."""
    from edgefill.trt import build

    cfg = engine_config_for(bundle_for("orin-nano"))
    before = engine_key("sha", FACTS, cfg, None)
    monkeypatch.setattr(build, "BUILD_RECIPE", build.BUILD_RECIPE + 1, raising=False)
    assert engine_key("sha", FACTS, cfg, None) != before


def test_stale_facts():
    side = {"tensorrt": "10.3.0", "compute_capability": "8.7", "multiprocessors": 8}
    assert stale_facts(side, FACTS) == ["multiprocessors"]
    assert stale_facts({"tensorrt": "8.6.2", "compute_capability": "8.7"}, FACTS) == ["tensorrt"]  # older sidecar
    assert stale_facts(dict(side, multiprocessors=16), FACTS) == []
