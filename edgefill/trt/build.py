"""Build TensorRT engines from an export bundle, on the board (``edgefill build-engine``).

Lazy stages, composable in Python and used by the CLI:

    engine = EngineFromOnnx(onnx_path, EngineConfig(...))      # builds nothing yet
    SaveEngine(path, sidecar)(engine())                          # builds, then writes atomically

The engine has one optimisation profile per shape bucket, FP16/INT8 flags per the
precision, the workspace pool limit, optionally a DLA core with GPU fallback, a timing
cache per device, the builder optimisation level where the version has it, and every layer
of the mask branch pinned to FP32. The cache key hashes the ONNX, the TensorRT version,
the GPU (compute capability and multiprocessor count), the precision, the profiles, the
DLA choice, the calibration set and BUILD_RECIPE; engines live in ``BUNDLE/engines/<key>.engine`` with a JSON sidecar.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError, EngineBuildError, ModelError
from ..fileio import atomic_write_bytes
from ..refill_settings import RefillSettings
from . import compat

log = logging.getLogger(__name__)
ENGINE_FORMAT = "edgefill-engine/1"
#: How EngineFromOnnx turns the same ONNX and settings into an engine (precision pinning, flags).
#: Part of the cache key: bump it when that changes, so that cached engines are rebuilt.
BUILD_RECIPE = 1


@dataclass(frozen=True)
class EngineConfig:
    precision: str = "fp16"  # fp32 | fp16 | int8 (int8 expects a QDQ ONNX)
    profiles: tuple[dict, ...] = field(default_factory=tuple)  # {"name", "min", "opt", "max"} as (N, H, W)
    workspace_mb: int = 1024
    use_dla: bool = False
    dla_core: int = 0
    gpu_fallback: bool = True
    optimization_level: int = 3

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "fp16", "int8"):
            raise ConfigError(f"precision must be fp32, fp16 or int8, not {self.precision!r}")
        if not self.profiles:
            raise ConfigError("at least one optimisation profile (shape bucket) is needed")
        if self.workspace_mb <= 0:
            raise ConfigError("workspace_mb must be > 0")


def engine_key(onnx_sha256: str, facts: dict, cfg: EngineConfig, calibration_sha256: str | None) -> str:
    """The engine cache key: any change to what the engine depends on gives a new key."""
    payload = json.dumps({"onnx": onnx_sha256, "recipe": BUILD_RECIPE, **{k: facts[k] for k in ENGINE_FACTS},
                          "config": asdict(cfg), "calibration": calibration_sha256}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def mask_branch_layers(trt, network, mask_input: str = "mask") -> list:
    """Layers computed from the mask and constants alone (threshold, box sums, clamp,
    renormalisation ratio): these are pinned to FP32."""
    branch = {mask_input}
    layers = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type == trt.LayerType.CONSTANT:
            continue
        names = [layer.get_input(j).name for j in range(layer.num_inputs) if layer.get_input(j) is not None]
        constants = set()
        for j in range(layer.num_inputs):
            t = layer.get_input(j)
            if t is not None and t.name not in branch:
                constants.add(t.name)
        produced_by_constant = all(_is_constant(network, trt, n) for n in constants)
        if names and any(n in branch for n in names) and produced_by_constant:
            layers.append(layer)
            for k in range(layer.num_outputs):
                branch.add(layer.get_output(k).name)
    return layers


def pin_mask_branch(trt, network) -> int:
    """Pin the mask branch (:func:`mask_branch_layers`) to FP32 under OBEY_PRECISION_CONSTRAINTS:
    each layer whose outputs are float computes in FP32 and gives FP32, except that a layer
    with a non-float input (the Cast from a uint8 ``mask`` input, TensorRT >= 9.2 graphs) has
    its output type set only: a precision constraint on a Cast from uint8 is not documented,
    and TensorRT takes uint8 only straight into a Cast. How many layers were pinned."""
    floats = (trt.float32, trt.float16)
    pinned = 0
    for layer in mask_branch_layers(trt, network):
        if not all(layer.get_output(k).dtype in floats for k in range(layer.num_outputs)):
            continue
        inputs = [layer.get_input(j) for j in range(layer.num_inputs)]
        if all(t is None or t.dtype in floats for t in inputs):
            layer.precision = trt.float32
        for k in range(layer.num_outputs):
            layer.set_output_type(k, trt.float32)
        pinned += 1
    return pinned


def _is_constant(network, trt, tensor_name: str) -> bool:
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        for k in range(layer.num_outputs):
            if layer.get_output(k).name == tensor_name:
                return layer.type == trt.LayerType.CONSTANT
    return False


@dataclass
class EngineFromOnnx:
    """Lazy stage: calling it parses the ONNX and returns the serialized engine (bytes)."""

    onnx_path: Path
    config: EngineConfig
    timing_cache: Path | None = None

    def __call__(self) -> bytes:
        trt = compat.import_trt()
        compat.check_builder_version(trt)
        logger = compat.logger(trt)
        builder = trt.Builder(logger)
        network = builder.create_network(compat.network_flags(trt))
        parser = trt.OnnxParser(network, logger)
        data = Path(self.onnx_path).read_bytes()
        if not parser.parse(data):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise EngineBuildError(f"TensorRT cannot parse {self.onnx_path}: {errors}")
        cfg = self.config
        config = builder.create_builder_config()
        compat.set_workspace(trt, config, cfg.workspace_mb << 20)
        compat.set_optimization_level(trt, config, cfg.optimization_level)
        if cfg.precision in ("fp16", "int8"):
            if not builder.platform_has_fast_fp16:
                log.warning("this GPU has no fast FP16; building anyway")
            config.set_flag(trt.BuilderFlag.FP16)
        if cfg.precision == "int8":
            if not builder.platform_has_fast_int8:
                raise EngineBuildError("this GPU has no fast INT8 (e.g. Maxwell on the Jetson Nano): export fp16 instead")
            config.set_flag(trt.BuilderFlag.INT8)  # explicit quantisation: scales come from the QDQ nodes
        if cfg.use_dla:
            if builder.num_DLA_cores <= cfg.dla_core:
                raise EngineBuildError(f"DLA core {cfg.dla_core} requested but this device has {builder.num_DLA_cores}")
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = cfg.dla_core
            if cfg.gpu_fallback:
                config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
        # The mask path stays FP32 whatever the precision.
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        log.info("pinned %d mask-branch layers to FP32", pin_mask_branch(trt, network))
        for p in cfg.profiles:
            prof = builder.create_optimization_profile()
            for name, channels in (("image", 3), ("mask", 1)):
                prof.set_shape(name, (*p["min"], channels), (*p["opt"], channels), (*p["max"], channels))
            config.add_optimization_profile(prof)
        cache = None
        if self.timing_cache is not None:
            blob = self.timing_cache.read_bytes() if self.timing_cache.is_file() else b""
            cache = config.create_timing_cache(blob)
            # TensorRT refuses (False, and no cache set) a cache recorded on a GPU with other
            # properties, e.g. a bundle copied from an AGX Orin to an Orin Nano (both sm 8.7):
            # start an empty one rather than build untimed and lose the cache.
            if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
                log.warning("timing cache %s is not for this GPU; starting a new one", self.timing_cache)
                cache = config.create_timing_cache(b"")
                if not config.set_timing_cache(cache, ignore_mismatch=False):
                    cache = None
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineBuildError(f"TensorRT failed to build an engine from {self.onnx_path} (see the log above)")
        if cache is not None:
            try:
                atomic_write_bytes(self.timing_cache, bytes(cache.serialize()))
            except OSError as exc:  # the cache only speeds up the next build: keep the engine built
                log.warning("cannot save the timing cache %s: %s", self.timing_cache, exc)
        return bytes(serialized)


@dataclass
class SaveEngine:
    """Lazy stage: ``SaveEngine(path, sidecar)(engine_bytes)`` writes both atomically."""

    path: Path
    sidecar: dict

    def __call__(self, engine: bytes) -> Path:
        side = dict(self.sidecar, engine_sha256=hashlib.sha256(engine).hexdigest(), bytes=len(engine))
        atomic_write_bytes(self.path, engine)
        atomic_write_bytes(self.path.with_suffix(".json"), (json.dumps(side, indent=2) + "\n").encode())
        return self.path


def device_facts() -> dict:
    """The running TensorRT version and GPU (compute capability, multiprocessor count, name),
    via pycuda. Jetson modules of one generation share a compute capability (every Orin is
    sm 8.7) but not their SM count, and an engine is tuned for the exact GPU."""
    trt = compat.import_trt()
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        from ..errors import BackendUnavailableError

        raise BackendUnavailableError("tensorrt", f"pycuda cannot be imported ({exc})", "trt") from exc
    try:
        cuda.init()
        dev = cuda.Device(0)
        major, minor = dev.compute_capability()
        sms = int(dev.get_attribute(cuda.device_attribute.MULTIPROCESSOR_COUNT))
        name = dev.name()
    except cuda.Error as exc:  # e.g. "cuInit failed: no CUDA-capable device is detected"
        from ..errors import BackendUnavailableError

        raise BackendUnavailableError("tensorrt", f"no usable CUDA device ({exc})") from exc
    return {"tensorrt": trt.__version__, "compute_capability": f"{major}.{minor}", "multiprocessors": sms, "gpu": name}


#: The facts an engine must share with the device that runs it.
ENGINE_FACTS = ("tensorrt", "compute_capability", "multiprocessors")


def stale_facts(sidecar: dict, facts: dict) -> list[str]:
    """The facts in which an engine's sidecar differs from this device (a fact the sidecar
    does not record, from an older edgefill, is not held against it)."""
    return [k for k in ENGINE_FACTS if k in sidecar and sidecar[k] != facts[k]]


def _runtime_settings(bundle: dict, profile) -> dict:
    """The device profile's runtime section: the one given, else the one the bundle was exported
    for, so that ``build-engine BUNDLE`` and the runtime agree on the engine's cache key."""
    if profile is not None:
        return asdict(profile.runtime)
    return dict((bundle.get("profile") or {}).get("runtime") or {})


def static_profiles(profiles: tuple[dict, ...]) -> tuple[dict, ...]:
    """Each profile fixed at its largest shape (min = opt = max): the DLA takes no dynamic
    shapes, and the backend pads every crop up to its profile."""
    return tuple(dict(p, min=list(p["max"]), opt=list(p["max"])) for p in profiles)


def engine_config_for(bundle: dict, profile=None) -> EngineConfig:
    r = _runtime_settings(bundle, profile)
    precision = bundle["tensorrt"]["builder_precision"] if bundle.get("tensorrt") else bundle["precision"]
    use_dla = bool(r.get("use_dla", False))
    profiles = tuple(bundle["tensorrt_profiles"])
    if use_dla:
        profiles = static_profiles(profiles)
        if precision == "int8":
            log.warning("the INT8 graph is explicitly quantised (QDQ), which the DLA does not run: its layers "
                        "fall back to the GPU; use fp16 for the DLA")
        elif precision == "fp32":
            log.warning("the DLA runs FP16 and INT8 only: at fp32 every layer falls back to the GPU; "
                        "use fp16 for the DLA")
    return EngineConfig(precision=precision, profiles=profiles, workspace_mb=int(r.get("workspace_mb") or 1024),
                        use_dla=use_dla, dla_core=int(r.get("dla_core", 0)),
                        gpu_fallback=bool(r.get("gpu_fallback", True)))


def build_for_bundle(bundle_dir: Path, profile=None, force: bool = False) -> Path:
    """The engine for this device from a bundle: reused from the cache when its key matches,
    built (and cached) otherwise."""
    from ..models import file_sha256, read_bundle

    bundle_dir = Path(bundle_dir)
    bundle = read_bundle(bundle_dir)
    trt_info = bundle.get("tensorrt")
    if not trt_info:
        raise ModelError(f"{bundle_dir} was exported without a TensorRT profile; re-export with --profile BOARD")
    onnx_path = bundle_dir / trt_info["onnx"]
    try:
        sha = file_sha256(onnx_path)
    except OSError as exc:  # e.g. the bundle copied to the board without it
        raise ModelError(f"{onnx_path} (the graph TensorRT builds from) cannot be read: {exc.strerror or exc}; "
                         "copy the whole bundle folder") from exc
    if sha != trt_info["sha256"]:
        raise ModelError(f"{onnx_path} does not match its sha256 in bundle.json")
    engines = bundle_dir / "engines"
    if engines.is_symlink() or (engines.exists() and not engines.is_dir()):
        raise ModelError(f"{engines} is a symlink or not a folder; refusing to read or write engines through it")
    facts = device_facts()
    cfg = engine_config_for(bundle, profile)
    calib_entry = bundle.get("calibration") or {}
    # the calibration images' digest (bundles before the thirty-eighth session kept it as "sha256")
    calib = calib_entry.get("images_sha256", calib_entry.get("sha256"))
    key = engine_key(sha, facts, cfg, calib)
    path = engines / f"{key}.engine"
    if path.is_file() and path.with_suffix(".json").is_file() and not force:
        from ..backends.tensorrt import verify_engine_file

        try:
            verify_engine_file(path)
            log.info("engine cache hit: %s", path)
            return path
        except ModelError as exc:  # e.g. truncated by a power cut: rebuild it
            log.warning("%s; rebuilding", exc)
    log.warning("building the TensorRT engine for %s on %s (one-time; may take minutes)", bundle_dir, facts["gpu"])
    # one timing cache per GPU: its entries are only valid for the device properties it records
    timing = engines / (f"timing-sm{facts['compute_capability'].replace('.', '')}-{facts['multiprocessors']}sm"
                        f"-trt{facts['tensorrt']}.cache")
    try:
        engines.mkdir(exist_ok=True)
    except OSError as exc:  # a read-only bundle: before minutes of building, not after
        raise ModelError(f"cannot create {engines} for the engine: {exc.strerror or exc}") from exc
    engine = EngineFromOnnx(onnx_path, cfg, timing_cache=timing)()
    sidecar = {"format": ENGINE_FORMAT, "key": key, **facts, "onnx": trt_info["onnx"], "onnx_sha256": sha,
               "io": trt_info["io"], "config": asdict(cfg), "calibration_sha256": calib, "model": bundle["model"],
               "multiple": bundle["multiple"], **{k: bundle.get(k) for k in RefillSettings.keys()}}
    try:
        saved = SaveEngine(path, sidecar)(engine)
    except OSError as exc:  # e.g. a full SD card: one line, not a traceback after the build
        raise ModelError(f"cannot save the engine {path}: {exc.strerror or exc}") from exc
    prune_stale_engines(engines, sha)
    return saved


def prune_stale_engines(engines: Path, onnx_sha256: str) -> list[Path]:
    """Delete the engines in ``engines`` (a bundle's cache) built from another ONNX graph than
    the bundle's (sha256 ``onnx_sha256``): those of an export that ``--force`` replaced, which no
    key can match again and which filled a board's storage (tens of MB each) until removed by
    hand. Engines of the same graph for another device or settings are kept, and so is any file
    whose sidecar is not an edgefill engine's. Returns the engine files deleted."""
    removed: list[Path] = []
    for side in sorted(engines.glob("*.json")):
        eng = side.with_suffix(".engine")
        try:
            meta = json.loads(side.read_text())
            stale = meta.get("format") == ENGINE_FORMAT and meta.get("onnx_sha256") not in (None, onnx_sha256)
        except (OSError, ValueError, AttributeError):
            continue
        if not stale:
            continue
        try:
            size = eng.stat().st_size if eng.is_file() else 0
            eng.unlink(missing_ok=True)
            side.unlink()
        except OSError as exc:
            log.warning("cannot remove the stale engine %s: %s", eng, exc.strerror or exc)
            continue
        removed.append(eng)
        log.info("removed %s (%.1f MB), built from an earlier export of this bundle", eng.name, size / 1e6)
    return removed
