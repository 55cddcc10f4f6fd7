"""Shipped models and model-file resolution.

This folder holds the trained default models: ``<name>.onnx`` (used by the runtime),
``<name>.json`` (the export sidecar: sha256, shapes, tool versions, parity) and
``<name>.safetensors`` (the PyTorch weights the ONNX was exported from).
``manifest.json`` lists the sha256 of every file; a shipped model whose bytes do
not match is refused before it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ..checks import is_finite
from ..errors import ModelError

log = logging.getLogger(__name__)
MODELS_DIR = Path(__file__).resolve().parent
MANIFEST = MODELS_DIR / "manifest.json"
DEFAULT_MODEL = "lite"


@dataclass(frozen=True)
class ModelFile:
    """An ONNX model on disk whose checksum has been verified (when one is known)."""

    path: Path
    name: str
    sha256: str
    sidecar: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def precision(self) -> str:
        return str(self.sidecar.get("precision") or "fp32")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=32)
def _verified_sha(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime) so repeated loads don't re-hash."""
    st = path.stat()
    return _verified_sha(path, st.st_size, st.st_mtime_ns)


def check_multiple(value: object, source: object, key: str = "edgefill.multiple") -> int:
    """``value`` (ONNX metadata: a string; ``bundle.json``: a number) as the multiple of the
    model's input height and width: a whole number >= 1, else :class:`ModelError` naming
    ``source`` and ``key``."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            pass
    if number is None or number < 1:
        raise ModelError(f"{source}: invalid {key} {value!r}: it must be a whole number >= 1 (the multiple of "
                         "the input height and width the model needs, e.g. 64); re-export the model with edgefill")
    return number


def read_manifest() -> dict:
    if not MANIFEST.is_file():
        return {"files": {}, "models": {}}
    try:
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"the model manifest {MANIFEST} is unreadable: {exc}") from exc


def shipped_models() -> list[str]:
    """Names of the models shipped in this package (e.g. ``["lite", "nano"]``)."""
    return sorted(read_manifest().get("models", {}))


def _read_sidecar(path: Path) -> dict:
    side = path.with_suffix(".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"the sidecar {side} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"the sidecar {side} is not a JSON object")
    return data


def _check(path: Path, expected: str, source: str) -> str:
    actual = file_sha256(path)
    if actual != expected.lower():  # a digest written in capitals is the same digest
        raise ModelError(f"{path} does not match its sha256 in {source} (file is corrupt or was modified); "
                         f"expected {expected[:12]}..., got {actual[:12]}...")
    return actual


def resolve_model(spec: str | Path) -> ModelFile:
    """Turn a shipped model name or an ``.onnx`` path into a verified :class:`ModelFile`.

    A shipped model is checked against ``manifest.json``; a user file against the
    ``sha256`` of its sidecar (``model.json`` beside ``model.onnx``) when it has one; a
    bundle's file against ``bundle.json``. Every problem is a :class:`ModelError`.
    """
    try:
        return _resolve(spec)
    except OSError as exc:  # a name too long for the filesystem, a folder it may not read: not a traceback
        raise ModelError(f"cannot read the model {str(spec)[:200]}: {exc.strerror or exc}") from exc


def _resolve(spec: str | Path) -> ModelFile:
    manifest = read_manifest()
    spec_str = str(spec)
    if spec_str in manifest.get("models", {}):
        if Path(spec_str).exists():  # `export -o nano`, then `--model nano`: the shipped one ran, unsaid
            log.warning("%r is a shipped model and also a file or folder here; the shipped one runs (give ./%s for "
                        "the other)", spec_str, spec_str)
        entry = manifest["models"][spec_str]
        onnx = entry.get("onnx") if isinstance(entry, dict) else None
        expected = manifest.get("files", {}).get(onnx) if isinstance(onnx, str) else None
        if not isinstance(expected, str):  # a damaged package: never load a shipped file unchecked
            raise ModelError(f"the model manifest {MANIFEST} lists no file and sha256 for {spec_str!r}: "
                             "reinstall edgefill")
        path = MODELS_DIR / onnx
        if not path.is_file():
            raise ModelError(f"shipped model {spec_str!r} is missing its file {path}")
        sha = _check(path, expected, "the package manifest")
        return ModelFile(path, spec_str, sha, _read_sidecar(path))
    if not spec_str.strip():  # Path("") is ".": the error named the current folder, not the empty name
        known = ", ".join(manifest.get("models", {})) or "none shipped"
        raise ModelError(f"the model name is empty ({spec!r}): give a shipped name ({known}), a path to an .onnx "
                         "file or an export bundle folder")
    path = Path(spec_str).expanduser()
    if path.is_dir() and (path / "bundle.json").is_file():
        return _from_bundle(path, None)
    if path.suffix.lower() == ".onnx" and (path.parent / "bundle.json").is_file() and not path.with_suffix(".json").exists():
        return _from_bundle(path.parent, path.name)
    if path.suffix.lower() == ".engine":  # only the tensorrt backend reads these; ONNX Runtime said "INVALID_PROTOBUF"
        raise ModelError(f"{spec_str} is a TensorRT engine, which only the tensorrt backend runs (on the board it "
                         "was built for); here give its bundle folder or an .onnx file")
    if path.suffix.lower() in (".json", ".safetensors") and path.is_file():
        # a sidecar was read as its own sidecar and called "corrupt or modified"; weights were
        # "INVALID_PROTOBUF" from ONNX Runtime
        what = ("the JSON sidecar of a model" if path.suffix.lower() == ".json"
                else "PyTorch weights (edgefill export turns them into ONNX)")
        raise ModelError(f"{spec_str} is {what}, not a model edgefill runs: give the .onnx file beside it "
                         f"({path.with_suffix('.onnx').name}) or an export bundle folder")
    if path.suffix.lower() != ".onnx" and not path.exists():
        known = ", ".join(manifest.get("models", {})) or "none shipped"
        raise ModelError(f"unknown model {spec_str!r}: give a shipped name ({known}), a path to an .onnx file "
                         "or an export bundle folder (edgefill export)")
    if path.is_dir():
        raise ModelError(f"{path} is a folder without a bundle.json: give an .onnx file or an edgefill export bundle")
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    sidecar = _read_sidecar(path)
    if "sha256" in sidecar:
        if not isinstance(sidecar["sha256"], str):
            raise ModelError(f"the sidecar {path.with_suffix('.json')}: 'sha256' must be a string, "
                             f"not {sidecar['sha256']!r}")
        sha = _check(path, sidecar["sha256"], str(path.with_suffix(".json")))
    else:
        sha = file_sha256(path)
    return ModelFile(path.resolve(), str(sidecar.get("model", path.stem)), sha, sidecar)


def read_bundle(folder: Path) -> dict:
    """``folder/bundle.json``, checked: an edgefill bundle whose ``precision`` is a string, whose
    ``multiple`` (when given) is a whole number >= 1 and whose ``artifacts`` map precisions to
    objects naming a ``file`` in the folder and its ``sha256``; else :class:`ModelError`."""
    source = f"{folder}/bundle.json"
    try:
        bundle = json.loads((Path(folder) / "bundle.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{source} is unreadable: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != "edgefill-bundle/1":
        raise ModelError(f"{folder} is not an edgefill export bundle (bundle.json format)")
    if not isinstance(bundle.get("precision", "fp32"), str):
        raise ModelError(f"{source}: 'precision' must be a string such as \"fp32\", not {bundle['precision']!r}")
    if bundle.get("multiple") is not None:
        check_multiple(bundle["multiple"], source, "'multiple'")
    read_bundle_artifacts(bundle.get("artifacts", {}), f"{source}: ", folder)
    return bundle


def read_bundle_artifacts(arts: object, where: str, folder: Path) -> dict:
    """``arts`` (a bundle's ``artifacts``, or its ``tensorrt.artifacts``), checked: precisions
    mapped to objects naming a ``file`` inside ``folder`` and its ``sha256``; else
    :class:`ModelError` (``where`` prefixes the message)."""
    if not isinstance(arts, dict):
        raise ModelError(f"{where}'artifacts' must be an object mapping each precision to its file and sha256, "
                         f"not {type(arts).__name__}")
    for precision, art in arts.items():
        if not isinstance(art, dict):
            raise ModelError(f"{where}artifacts.{precision} must be an object with 'file' and 'sha256', "
                             f"not {type(art).__name__}")
        for key in ("file", "sha256"):
            if not isinstance(art.get(key), str) or not art[key]:
                raise ModelError(f"{where}artifacts.{precision} lacks its '{key}' (a string)")
        name = PurePosixPath(art["file"].replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts:
            raise ModelError(f"{where}artifacts.{precision}.file {art['file']!r} must name a file inside {folder}")
    return arts


def _from_bundle(folder: Path, file_name: str | None) -> ModelFile:
    """The bundle's ONNX for its own precision (or the named file), checked against bundle.json."""
    bundle = read_bundle(folder)
    arts = bundle.get("artifacts", {})
    if file_name is None:
        precision = bundle.get("precision", "fp32")
        if precision not in arts:
            raise ModelError(f"bundle {folder} lists no {precision} artifact")
    else:
        # the TensorRT graphs too (model.trt.int8.onnx: "not listed", where bundle.json lists it)
        trt = bundle.get("tensorrt")
        trt_arts = trt.get("artifacts") if isinstance(trt, dict) else None
        if isinstance(trt_arts, dict) and not any(a["file"] == file_name for a in arts.values()):
            arts = read_bundle_artifacts(trt_arts, f"{folder}/bundle.json: tensorrt.", folder)
        matches = [k for k, a in arts.items() if a["file"] == file_name]
        if not matches:
            raise ModelError(f"{file_name} is not listed in {folder}/bundle.json")
        precision = matches[0]
    art = arts[precision]
    path = Path(folder) / art["file"]
    if not path.is_file():
        raise ModelError(f"bundle {folder} is missing {art['file']}")
    validation = art.get("validation")
    if isinstance(validation, dict) and validation.get("passed") is False:
        log.warning("%s failed its accuracy gate when it was exported (%s dB below FP32, gate %s dB; kept by "
                    "--allow-accuracy-loss)", path, validation.get("delta_db"), validation.get("gate_db"))
    sha = _check(path, art["sha256"], f"{folder}/bundle.json")
    side = {"precision": precision, "bundle": str(Path(folder).resolve()), "multiple": bundle.get("multiple")}
    macs = _fp32_macs(Path(folder), bundle.get("artifacts", {}))
    if macs:  # bench's GFLOP/s and % of peak: "-" for a bundle, a number for the same graph as a file
        side["conv_macs_per_input_pixel"] = macs
    return ModelFile(path.resolve(), str(bundle.get("model", "?")), sha, side)


def _fp32_macs(folder: Path, arts: dict) -> float | None:
    """The convolution MACs per input pixel that the bundle's FP32 graph's sidecar records (every
    precision of one model does the same work); None where it records none."""
    fp32 = arts.get("fp32") if isinstance(arts, dict) else None
    name = fp32.get("file") if isinstance(fp32, dict) else None
    if not isinstance(name, str):
        return None
    try:
        macs = json.loads((folder / name).with_suffix(".json").read_text(encoding="utf-8")).get("conv_macs_per_input_pixel")
    except (OSError, ValueError, AttributeError):
        return None
    return float(macs) if is_finite(macs) and macs > 0 else None
