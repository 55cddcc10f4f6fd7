"""Device profiles: one YAML file per board in ``firmware_configs/``.

A profile holds the board's facts (GPU architecture and compute capability, DLA
cores, memory, JetPack / TensorRT / CUDA versions) and the runtime defaults chosen
for it (backend, precision, model, shape buckets, TensorRT workspace limit, DLA use
with GPU fallback, latency budget, camera). The schema is strict: unknown keys and
wrong types are rejected with the offending key named.

    profile = DeviceProfile.load("orin-nano")
    profile.runtime.latency_budget_ms
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from .checks import is_fourcc
from .errors import ConfigError

PRECISIONS = ("fp32", "fp16", "int8")
BACKENDS = ("auto", "tensorrt", "onnxruntime", "opencv-telea", "opencv-ns")


# _build reads these annotations with typing.get_type_hints, which evaluates them: they are
# written with Optional / Tuple because "str | None" and "tuple[int, ...]" do not evaluate
# on Python 3.8 (JetPack 5), which the runtime supports.
@dataclass(frozen=True)
class BoardFacts:
    soc: str
    cpu: str
    memory_gb: float
    gpu_arch: Optional[str] = None  # maxwell, volta, ampere ... (None: no CUDA GPU)
    compute_capability: Optional[str] = None  # e.g. "8.7"
    cuda_cores: int = 0
    dla_cores: int = 0
    int8_tensor_cores: bool = False
    jetpack: Optional[str] = None
    tensorrt: Optional[str] = None
    cuda: Optional[str] = None


@dataclass(frozen=True)
class CameraDefaults:
    source: str = "v4l2:///dev/video0"
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    flip: int = 0
    #: the V4L2 pixel format to ask for (``MJPG``, ``YUYV``; ``edgefill run --fourcc``), for a
    #: ``v4l2://`` camera: most USB webcams give 720p and 1080p at 30 fps only as MJPG
    fourcc: Optional[str] = None


@dataclass(frozen=True)
class RuntimeDefaults:
    backend: str
    precision: str
    model: str
    buckets: Tuple[int, ...]
    latency_budget_ms: float
    workspace_mb: int = 0  # TensorRT workspace pool limit (0: not a TensorRT board)
    use_dla: bool = False
    dla_core: int = 0
    gpu_fallback: bool = True
    threads: int = 0  # CPU inference threads (0: runtime default)
    camera: CameraDefaults = field(default_factory=CameraDefaults)


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    board: BoardFacts
    runtime: RuntimeDefaults

    def __post_init__(self) -> None:
        r, b = self.runtime, self.board
        if r.precision not in PRECISIONS:
            raise ConfigError(f"profile {self.name}: runtime.precision must be one of {PRECISIONS}, not {r.precision!r}")
        if r.backend not in BACKENDS:
            raise ConfigError(f"profile {self.name}: runtime.backend must be one of {BACKENDS}, not {r.backend!r}")
        if r.precision == "int8" and b.gpu_arch and not b.int8_tensor_cores:
            raise ConfigError(f"profile {self.name}: runtime.precision int8, but {b.gpu_arch} has no INT8 tensor cores "
                              "(board.int8_tensor_cores); use fp16")
        if r.use_dla and not 0 <= r.dla_core < b.dla_cores:
            raise ConfigError(f"profile {self.name}: runtime.use_dla needs runtime.dla_core in [0, {b.dla_cores}) "
                              f"(board.dla_cores), got {r.dla_core}")
        if r.backend == "tensorrt" and not b.tensorrt:
            raise ConfigError(f"profile {self.name}: runtime.backend tensorrt but no board.tensorrt version")
        _check_versions(self.name, b)
        if not r.buckets or list(r.buckets) != sorted(set(r.buckets)) or any(x % 64 or x <= 0 for x in r.buckets):
            raise ConfigError(f"profile {self.name}: runtime.buckets must be ascending positive multiples of 64, "
                              f"got {r.buckets}")
        if not (math.isfinite(r.latency_budget_ms) and r.latency_budget_ms > 0):
            raise ConfigError(f"profile {self.name}: runtime.latency_budget_ms must be a number > 0, "
                              f"got {r.latency_budget_ms}")
        for where, obj, keys in (("runtime", r, ("threads", "workspace_mb", "dla_core")),
                                 ("board", b, ("cuda_cores", "dla_cores"))):
            for key in keys:
                if getattr(obj, key) < 0:
                    raise ConfigError(f"profile {self.name}: {where}.{key} must be >= 0, got {getattr(obj, key)}")
        if not r.model.strip():  # read as the current folder later: ". is a folder without a bundle.json"
            raise ConfigError(f"profile {self.name}: runtime.model is empty; give a shipped model (lite, nano ...) "
                              "or the path of an .onnx file or export bundle")
        if not (math.isfinite(b.memory_gb) and b.memory_gb > 0):
            raise ConfigError(f"profile {self.name}: board.memory_gb must be a number > 0, got {b.memory_gb}")
        _check_camera(self.name, r.camera)

    @classmethod
    def load(cls, name_or_path: str | Path) -> DeviceProfile:
        """A profile by name (``"orin-nano"``) or from a YAML file path. A profile found by name
        must carry that name (its ``name:`` is its file's name)."""
        text = str(name_or_path)
        if not text.strip():  # --profile "$BOARD" with BOARD unset: was read as no profile at all
            raise ConfigError("the profile is empty: give a NAME (edgefill profiles list) or a profile file")
        path, by_name = _locate(text)
        try:
            import yaml
        except ImportError as exc:
            raise ConfigError("reading profiles needs PyYAML (pip install pyyaml)") from exc
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_strict_loader())  # a SafeLoader
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read profile {path}: {exc}") from exc
        except yaml.YAMLError as exc:  # PyYAML's message spans lines (with a snippet): one line here
            raise ConfigError(f"cannot read profile {path}: {_one_line(exc)}") from exc
        except RecursionError as exc:  # PyYAML composes nested [ [ [ ... recursively
            raise ConfigError(f"cannot read profile {path}: its lists or mappings are nested too deeply") from exc
        if data is None:  # yaml.load of an empty file (or of comments only)
            raise ConfigError(f"{path.name}: the profile is empty; it needs the keys name, description, board "
                              "and runtime (see edgefill profiles show x86-cpu)")
        try:
            profile = _build(cls, data, path.name)
        except ConfigError as exc:  # the checks after parsing name the profile, not always its file
            if str(exc).startswith(f"{path.name}: "):
                raise
            raise ConfigError(f"{path.name}: {exc}") from exc
        if by_name and profile.name != path.stem:
            # a copy (`profiles show orin-nano > my-board.yaml`) kept the name it was copied from:
            # `profiles list` showed my-board, and every message and bundle.json said orin-nano
            raise ConfigError(f"{path.name}: name: {profile.name!r}, but a profile is found by its file name; "
                              f"make it name: {path.stem} (or rename the file)")
        return profile

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _has_folder(text: str) -> bool:
    return "/" in text or os.sep in text or (os.altsep is not None and os.altsep in text)


def _check_versions(name: str, board: BoardFacts) -> None:
    """The board's versions are dotted numbers, and its TensorRT one that edgefill builds engines
    with: "8.x" was an int() error without the profile's name, after an export had built and
    gated its FP32 graph, and "7.1" an opset error."""
    from .trt.compat import MAX_BUILDER_MAJOR, parse_version

    for key in ("jetpack", "tensorrt", "cuda", "compute_capability"):
        value = getattr(board, key)
        if value is not None and not re.fullmatch(r"\d+(\.\d+){0,3}", value):
            raise ConfigError(f"profile {name}: board.{key} must be a version such as 8.6 or 10.3, got {value!r}")
    if board.tensorrt and not (8, 2) <= parse_version(board.tensorrt)[:2] <= (MAX_BUILDER_MAJOR, 99):
        raise ConfigError(f"profile {name}: board.tensorrt {board.tensorrt}: edgefill builds engines with TensorRT 8.2 "
                          f"to {MAX_BUILDER_MAJOR}.x (JetPack 4.6.1 and later)")


def _check_camera(name: str, cam: CameraDefaults) -> None:
    """The camera defaults must be usable as ``edgefill run``'s source and capture options."""
    for key in ("width", "height"):
        if getattr(cam, key) <= 0:
            raise ConfigError(f"profile {name}: runtime.camera.{key} must be > 0, got {getattr(cam, key)}")
    if not (math.isfinite(cam.fps) and cam.fps > 0):
        raise ConfigError(f"profile {name}: runtime.camera.fps must be a number > 0, got {cam.fps}")
    if not 0 <= cam.flip <= 7:  # what CaptureOptions (csi:// nvvidconv flip-method) accepts
        raise ConfigError(f"profile {name}: runtime.camera.flip must be a flip-method 0..7, got {cam.flip}")
    if cam.fourcc is not None and not is_fourcc(cam.fourcc):
        raise ConfigError(f"profile {name}: runtime.camera.fourcc must be a four-character pixel format code "
                          f"such as MJPG or YUYV, got {cam.fourcc!r}")
    if not cam.source.strip():
        raise ConfigError(f"profile {name}: runtime.camera.source is empty")
    from .capture import _camera_path, list_schemes, redact_uri  # here, not at import: profiles.py stays light

    shown = repr(redact_uri(cam.source))  # an rtsp:// password is never printed
    if "://" not in cam.source:
        if _camera_path(cam.source):  # `edgefill run` refuses it, after the model loaded
            raise ConfigError(f"profile {name}: runtime.camera.source {shown} is a camera: write it as "
                              f"v4l2://{cam.source}")
        return
    scheme = cam.source.split("://", 1)[0].lower()
    if scheme not in list_schemes():
        raise ConfigError(f"profile {name}: runtime.camera.source {shown} has an unknown scheme {scheme}://; "
                          f"known: {', '.join(list_schemes())}")
    if cam.fourcc is not None and scheme != "v4l2":
        raise ConfigError(f"profile {name}: runtime.camera.fourcc is for a v4l2:// camera, not {shown}")
    if scheme == "csi" and cam.fps < 1:  # as csi:// refuses it when the camera opens, after the model loaded
        raise ConfigError(f"profile {name}: runtime.camera.fps must be at least 1 for a csi:// camera "
                          f"(nvarguscamerasrc), got {cam.fps}")


def _one_line(exc: Exception) -> str:
    """A PyYAML error as one line: the problem and where it is."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _strict_loader() -> type:
    """yaml.SafeLoader that refuses a key given twice in one mapping (SafeLoader keeps the last one
    silently: a second ``runtime:`` block would replace the first unseen)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = loader.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError("while reading a mapping", node.start_mark,
                                                            f"found duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return loader.construct_mapping(node)

    def number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
        return _WrittenFloat(loader.construct_yaml_float(node), node.value)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    StrictLoader.add_constructor("tag:yaml.org,2002:float", number)
    return StrictLoader


class _WrittenFloat(float):
    """A YAML float that remembers how it was written: a version typed without quotes
    (``tensorrt: 10.10``) is the text "10.10" where a string is expected, not str(10.1)."""

    def __new__(cls, value: float, text: str):
        self = super().__new__(cls, value)
        self.text = text
        return self


def profiles_dir() -> Path:
    """``$EDGEFILL_PROFILES``, else the ``firmware_configs`` folder shipped with edgefill."""
    env = os.environ.get("EDGEFILL_PROFILES")
    if env:
        if not Path(env).is_dir():  # else every profile was "unknown" and `profiles list` printed nothing
            raise ConfigError(f"EDGEFILL_PROFILES={env} is not a folder; point it at a folder of profile "
                              "YAML files, or unset it for the shipped profiles")
        return Path(env)
    try:
        import importlib

        return Path(importlib.import_module("edgefill.firmware_configs").__file__).parent
    except ModuleNotFoundError:  # running from a source tree without installing
        return Path(__file__).resolve().parents[1] / "firmware_configs"


#: the extensions a profile file may have; by name, a profile is NAME.yaml, else NAME.yml
PROFILE_EXTS = (".yaml", ".yml")


def list_profiles() -> list[str]:
    return sorted({p.stem for ext in PROFILE_EXTS for p in profiles_dir().glob("*" + ext)})


def _locate(text: str) -> tuple[Path, bool]:
    """(the file of the profile ``text`` names, whether it was found by name). A file name ends in
    .yaml/.yml, or .json (what `profiles show` writes), in any case, or has a folder in it; a
    name with neither is looked up first, and only then read as a file. ConfigError for neither."""
    path = Path(text)
    if path.suffix.lower() in (*PROFILE_EXTS, ".json") or _has_folder(text):
        return path, False
    found = _profile_file(text)  # .yml too: `profiles show` read one by path only
    if found is None and not path.is_file():
        raise ConfigError(f"unknown profile {text!r}; known: {', '.join(list_profiles())}")
    return (found, True) if found is not None else (path, False)


def profile_path(name_or_path: str | Path) -> Path | None:
    """The file :meth:`DeviceProfile.load` reads for ``name_or_path`` (the same lookup), if any."""
    try:
        return _locate(str(name_or_path))[0] if str(name_or_path).strip() else None
    except ConfigError:
        return None


def _profile_file(name: str) -> Path | None:
    """The file of the profile called ``name`` in :func:`profiles_dir`, if there is one."""
    return next((p for p in (profiles_dir() / (name + ext) for ext in PROFILE_EXTS) if p.is_file()), None)


# typing.Union, and X | Y's types.UnionType on Python >= 3.10.
_UNION_ORIGINS = (typing.Union, getattr(types, "UnionType", typing.Union))


def _check_type(value: object, tp: object, where: str) -> object:
    origin = typing.get_origin(tp)
    if origin in _UNION_ORIGINS:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(value, a, where)
            except ConfigError:
                pass
        names = " or ".join("null" if a is type(None) else getattr(a, "__name__", str(a)) for a in args)
        raise ConfigError(f"{where}: expected {names}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (inner, _) = typing.get_args(tp)
        return tuple(_check_type(v, inner, where) for v in value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return getattr(value, "text", str(value))  # versions such as 8.6 written without quotes
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _build(cls: type, data: object, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(map(str, set(data) - set(fields)))  # YAML keys may be numbers, null ...
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in {cls.__name__} "
                          f"(allowed: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _check_type(data[name], hints[name], f"{where}: {name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing key {name!r} in {cls.__name__}")
    return cls(**kwargs)
