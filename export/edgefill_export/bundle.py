"""``edgefill export``: a deployable bundle for one model, board profile and precision.

Composed from lazy stages (Polygraphy-style), nothing built until called:

    fp32 = OnnxFromTorch(weights, out / "model.fp32.onnx")()
    int8 = QuantizeOnnx("int8", calibration=ImageFolderPairs(calib_dir))(fp32, out / "model.int8.onnx")
    report = validate(int8, fp32, validation_pairs)          # the accuracy gate

The bundle folder holds the ONNX files, ``calibration.json`` (what the INT8 scales were
calibrated on), and ``bundle.json``: per artifact its sha256 and validation result, the
board profile, the TensorRT optimisation-profile shapes (one per bucket), and the tool
versions. ``edgefill build-engine BUNDLE`` turns it into a TensorRT engine on the board;
``edgefill inpaint --model BUNDLE`` runs it with ONNX Runtime anywhere.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import onnx

from edgefill.checks import is_whole
from edgefill.errors import ConfigError
from edgefill.fileio import atomic_write_bytes, fsync_folder
from edgefill.trt import onnx_support as trt_support
from edgefill.models import MODELS_DIR, file_sha256
from edgefill.profiles import DeviceProfile
from edgefill.refill_settings import RefillSettings

from .calibration import CalibrationError, ImageFolderPairs
from .fetch import default_cache_dir
from .onnx_export import CPU_DECODER_FORM, DECODER_FORM, OPSET, OnnxFromTorch, _versions
from .quantize import GATES_DB, INT8_TARGETS, AccuracyGateError, QuantizeOnnx, onnx_metadata, validate
from .weights import load_weights

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "edgefill-bundle/1"


@dataclass
class ExportRequest:
    model: str  # shipped name or a .safetensors path
    out_dir: Path
    precision: str = "fp32"
    profile: str | None = None
    calib_dir: Path | None = None
    val_dir: Path | None = None
    calib_images: int = 32
    val_images: int = 64  # the accuracy gate validates on the first N images of val_dir, by name
    allow_accuracy_loss: bool = False
    force: bool = False
    #: "tensorrt" or "cpu" (ONNX Runtime on the CPU, quantize.py); None: "cpu" for a profile whose
    #: board has no TensorRT (rpi5, x86-cpu), else "tensorrt" (the TensorRT-style graph runs no
    #: faster than FP32 on ONNX Runtime, so a Raspberry Pi's INT8 bundle was slower than FP32)
    int8_target: str | None = None
    #: of the exported graphs (subpixel.py); None: ``onnx_export.CPU_DECODER_FORM`` (the shipped CPU
    #: form) for a profile without TensorRT, else ``onnx_export.DECODER_FORM``
    decoder_form: str | None = None


def with_board_defaults(req: ExportRequest, profile: DeviceProfile | None) -> ExportRequest:
    """``req`` with its INT8 target and decoder form filled in for the board: the CPU forms for
    a profile without TensorRT, the TensorRT ones otherwise (and without a profile). An INT8
    export for the ``cpu`` target (``--int8-target cpu``, also without a CPU profile) gets the
    CPU decoder form too: ONNX Runtime has no INT8 ConvTranspose on the CPU, so the TensorRT
    form's decoder stayed float there, between DequantizeLinear and QuantizeLinear."""
    cpu_board = profile is not None and not profile.board.tensorrt
    target = req.int8_target or ("cpu" if cpu_board else "tensorrt")
    cpu = cpu_board or (req.precision == "int8" and target == "cpu")
    return replace(req, int8_target=target, decoder_form=req.decoder_form or (CPU_DECODER_FORM if cpu else DECODER_FORM))


def _weights(model: str) -> Path:
    p = Path(model)
    if p.suffix == ".safetensors":
        if not p.is_file():
            raise CalibrationError(f"weights {p} do not exist")
        return p
    w = MODELS_DIR / f"{model}.safetensors"
    if not w.is_file():
        raise CalibrationError(f"no shipped weights for model {model!r} (looked for {w})")
    return w


def _data_dir(given: Path | None, role: str) -> Path:
    if given is not None:
        return Path(given)
    d = default_cache_dir() / "images" / role
    if not d.is_dir():
        raise CalibrationError(f"no {role} images: pass --{'calib' if role == 'train' else 'val'} DIR, "
                               f"or run `make data` to fetch them into {d.parent}")
    return d


def _calibration_choice(path: Path) -> dict:
    """The calibration percentile QuantizeOnnx chose, from the graph's metadata (INT8 only)."""
    import onnx

    meta = onnx_metadata(onnx.load(str(path), load_external_data=False))
    return {"calib_percentile": meta["edgefill.calib_percentile"]} if "edgefill.calib_percentile" in meta else {}


def trt_onnx_flavour(version: str) -> tuple[str, int, bool]:
    """(io, opset, cast_at_io) of the ONNX that a given TensorRT version's parser accepts."""
    major, minor = (int(x) for x in (version.split(".") + ["0"])[:2])
    v = (major, minor)
    # uint8 network I/O is documented by onnx-tensorrt from 9.2 on, and only straight into or
    # out of a Cast (so the graph converts before transposing); 8.2-8.4 parse opset <= 13.
    io = "uint8" if v >= (9, 2) else "float32"
    return io, (OPSET if v >= (8, 5) else 13), io == "uint8"


def trt_shapes(buckets: tuple[int, ...]) -> list[dict]:
    """One TensorRT optimisation profile per bucket: square bucket as opt, the axis range
    from the smallest bucket up to this one (the ROI planner snaps each axis separately)."""
    lo = buckets[0]
    return [{"name": f"b{b}", "min": [1, lo, lo], "opt": [1, b, b], "max": [1, b, b]} for b in buckets]


#: the hidden folder inside the output folder where a bundle is written before it is moved into place
STAGE_PREFIX = ".export-"


def _check_request(req: ExportRequest, profile: DeviceProfile | None) -> None:
    """Refuse a precision or INT8 target the board cannot run, as the profile itself refuses
    ``runtime.precision: int8`` without INT8 tensor cores (edgefill.profiles): exported anyway,
    the bundle only failed on the board, in ``build-engine``."""
    if req.int8_target not in INT8_TARGETS:
        raise ConfigError(f"int8_target must be one of {', '.join(INT8_TARGETS)}, not {req.int8_target!r}")
    if not is_whole(req.val_images) or req.val_images < 1:
        raise ConfigError(f"val_images (the number of validation images) must be a whole number >= 1, "
                          f"got {req.val_images!r}")
    if req.calib_dir is not None and req.precision != "int8":  # was ignored without a word
        raise ConfigError(f"calibration images (--calib {req.calib_dir}) are for precision int8 only; precision "
                          f"{req.precision} is not calibrated: leave --calib out, or export --precision int8")
    if req.precision != "int8" or profile is None:
        return
    b = profile.board
    if b.gpu_arch and not b.int8_tensor_cores:
        raise ConfigError(f"profile {profile.name}: precision int8, but {b.gpu_arch} has no INT8 tensor cores "
                          "(board.int8_tensor_cores); export --precision fp16 for it")
    if b.tensorrt and req.int8_target != "tensorrt":
        raise ConfigError(f"int8_target {req.int8_target!r} makes an ONNX Runtime CPU graph (asymmetric uint8), which "
                          f"TensorRT does not take; profile {profile.name} runs TensorRT: use int8_target 'tensorrt'")


def export_bundle(req: ExportRequest, progress: bool = True) -> Path:
    if req.precision not in GATES_DB:
        raise ValueError(f"precision must be one of {', '.join(GATES_DB)}, not {req.precision!r}")
    profile = DeviceProfile.load(req.profile) if req.profile is not None else None
    req = with_board_defaults(req, profile)
    _check_request(req, profile)  # conflicting options: refused before any work, not minutes later
    if not str(req.out_dir).strip():  # Path("") is the current folder: the bundle was written there
        raise ValueError("the output folder is empty: give -o OUTDIR")
    out = Path(req.out_dir)
    _refuse_non_empty(out, req.force)
    weights = _weights(req.model)
    load_weights(weights)  # a bad weights file or profile leaves no bundle folder behind
    existed = out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = _locked(out)  # a second export into the folder deleted this one's staging folder, mid-export
    stage = None
    try:
        _refuse_non_empty(out, req.force)  # again, under the lock
        for p in _stages(out):  # staging folders left by an export that was killed (SIGKILL, a power cut)
            shutil.rmtree(p, ignore_errors=True)
        # The bundle is written into a hidden staging folder inside ``out`` and moved into place only
        # once complete: a failed export (gate, calibration, Ctrl-C) leaves no half bundle that the next
        # try would refuse to overwrite, and a --force export that fails leaves the bundle that was there
        # before as it was (writing in place replaced its ONNX files and deleted its quantised one).
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out))
        _write_bundle(req, stage, profile, weights, progress)
        stale = _bundle_files(out) - {p.name for p in stage.iterdir()}  # the old bundle's files the new one lacks
        (out / "bundle.json").unlink(missing_ok=True)  # no old bundle.json naming half-replaced files
        for p in sorted(stage.iterdir(), key=lambda p: p.name == "bundle.json"):  # bundle.json last
            if (out / p.name).is_dir() and not (out / p.name).is_symlink():
                shutil.rmtree(out / p.name)
            os.replace(p, out / p.name)
        for name in stale:  # e.g. model.int8.onnx and calibration.json under a --force fp32 bundle
            (out / name).unlink(missing_ok=True)
        fsync_folder(out)
    except BaseException:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        _unlock(out, lock)
    return out


def _stages(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_dir() and p.name.startswith(STAGE_PREFIX)] if out.is_dir() else []


def _refuse_non_empty(out: Path, force: bool) -> None:
    """FileExistsError for a folder holding anything but staging folders and the lock (without
    ``force``)."""
    if force or not out.is_dir():
        if out.exists() and not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        return
    ours = set(_stages(out))
    if any(p not in ours for p in out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose another folder or pass --force")


def _locked(out: Path):
    """A descriptor of the folder ``out`` holding an exclusive lock on it (flock on the folder
    itself: no lock file left in a folder the user made); FileExistsError while another export
    holds it. None where there is no flock, or the filesystem refuses one (some network mounts):
    the export then goes on unguarded, with a warning."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise FileExistsError(f"another export is writing into {out}; wait for it, or choose another folder") from None
    except OSError as exc:
        os.close(fd)
        log.warning("cannot lock %s (%s): not guarded against a second export into it", out, exc.strerror or exc)
        return None
    return fd


def _unlock(out: Path, lock) -> None:
    if lock is not None:
        os.close(lock)


def _bundle_files(folder: Path) -> set[str]:
    """The files the bundle in ``folder`` consists of, by its ``bundle.json`` (the ONNX graphs
    with their sidecars, ``calibration.json``, ``bundle.json``); none if it has no readable one.
    A ``--force`` export removes those its own bundle does not have: left beside the new files,
    an old ``model.int8.onnx`` or ``model.trt.*.onnx`` made a folder that mixed two exports."""
    try:
        old = json.loads((folder / "bundle.json").read_text())
        if old.get("format") != BUNDLE_FORMAT:  # another tool's bundle.json: its files are not ours to remove
            return set()
        arts = [*old.get("artifacts", {}).values(), *((old.get("tensorrt") or {}).get("artifacts", {}).values())]
        names = [a.get("file") for a in arts] + [(old.get("calibration") or {}).get("file")]
    except (OSError, ValueError, AttributeError, TypeError):
        return set()
    files = {"bundle.json"}
    for name in names:
        # a graph, a sidecar or calibration.json inside the folder: never a file of the user's beside them
        if isinstance(name, str) and name == Path(name).name and name.endswith((".onnx", ".json")):
            files.update((name, str(Path(name).with_suffix(".json"))) if name.endswith(".onnx") else (name,))
    return {f for f in files if (folder / f).is_file()}


def _write_bundle(req: ExportRequest, out: Path, profile: DeviceProfile | None, weights: Path, progress: bool) -> Path:
    reader = None
    calibration = None
    if req.precision == "int8":  # first: a bad --calib-images is refused before any work
        reader = ImageFolderPairs(_data_dir(req.calib_dir, "train"), per_image=1, seed=0, limit=req.calib_images,
                                  progress=progress)
    # the first val_images photos: a folder of thousands was loaded whole, as crops held in memory
    val_reader = ImageFolderPairs(_data_dir(req.val_dir, "eval"), per_image=2, seed=1234, limit=req.val_images)
    val_pairs = list(val_reader)
    if reader is not None:
        calibration = reader.summary()
        atomic_write_bytes(out / "calibration.json", (json.dumps(calibration, indent=2) + "\n").encode())

    def make(stem: str, io: str, opset: int, cast_at_io: bool = False, quantise: bool = True) -> tuple[Path, dict]:
        """FP32 ONNX (and the quantised one when asked and ``quantise``), gated; returns the fp32 path
        and the artifacts."""
        fp32 = OnnxFromTorch(weights, out / f"{stem}.fp32.onnx", io=io, opset=opset, decoder_form=req.decoder_form,
                             cast_at_io=cast_at_io)()
        arts = {"fp32": {"file": fp32.name, "sha256": file_sha256(fp32), "io": io, "opset": opset,
                         "validation": validate(fp32, fp32, val_pairs)}}
        if req.precision != "fp32" and quantise:
            q = QuantizeOnnx(req.precision, calibration=reader, target=req.int8_target, progress=progress)(
                fp32, out / f"{stem}.{req.precision}.onnx")
            try:
                report = validate(q, fp32, val_pairs)
            except ValueError:  # e.g. NaN output: the candidate is not kept, as on a failed gate
                q.unlink(missing_ok=True)
                raise
            gate = GATES_DB[req.precision]
            report["gate_db"] = gate
            report["passed"] = report["delta_db"] <= gate
            if not report["passed"] and not req.allow_accuracy_loss:
                q.unlink()
                raise AccuracyGateError(
                    f"{req.precision} loses {report['delta_db']:.3f} dB of hole PSNR against fp32 (gate {gate} dB) on "
                    f"{len(val_pairs)} validation pairs; the bundle was not kept (--allow-accuracy-loss overrides)")
            arts[req.precision] = {"file": q.name, "sha256": file_sha256(q), "io": io, "opset": opset,
                                   "validation": report, **_calibration_choice(q)}
        return fp32, arts

    fp32, artifacts = make("model", "uint8", OPSET)
    side = json.loads(fp32.with_suffix(".json").read_text())
    tensorrt = None
    if profile is not None and profile.board.tensorrt:
        io, opset, cast_at_io = trt_onnx_flavour(profile.board.tensorrt)
        # TensorRT's own graph: converts at the I/O (>= 9.2), float32 network I/O before 9.2,
        # and opset 13 before 8.5
        # FP16 engines are built from the FP32 graph with the FP16 builder flag: no model.trt.fp16.onnx
        # (one was made and gated, and nothing used it)
        _, trt_arts = make("model.trt", io, opset, cast_at_io, quantise=req.precision == "int8")
        src = trt_arts["int8" if req.precision == "int8" else "fp32"]
        problems = trt_support.check(onnx.load(str(out / src["file"])), profile.board.tensorrt)
        if problems:
            more = f"; ... and {len(problems) - 3} more" if len(problems) > 3 else ""  # one node per problem
            raise ValueError(f"{src['file']} would not parse in TensorRT {profile.board.tensorrt}: "
                             + "; ".join(problems[:3]) + more)
        tensorrt = {"onnx": src["file"], "sha256": src["sha256"], "io": io, "opset": opset,
                    "builder_precision": req.precision, "target_version": profile.board.tensorrt,
                    "cast_at_io": cast_at_io, "artifacts": trt_arts}
    buckets = profile.runtime.buckets if profile else (256, 384, 512)
    bundle = {
        "format": BUNDLE_FORMAT,
        "model": side["model"],
        "precision": req.precision,
        "int8_target": req.int8_target if req.precision == "int8" else None,
        "decoder_form": req.decoder_form,
        "multiple": side["multiple"],
        # the runtime's refinement settings for the model (edgefill.refill_settings), if it records any
        **{k: side.get(k) for k in RefillSettings.keys()},
        "profile": profile.to_dict() if profile else None,
        "buckets": list(buckets),
        "tensorrt_profiles": trt_shapes(tuple(buckets)),
        "artifacts": artifacts,
        "tensorrt": tensorrt,
        # sha256: of the file, as for every other entry (it was the image set's digest, which read as
        # a corrupt calibration.json to anyone checking); images_sha256: the image set (engine keys)
        "calibration": {"file": "calibration.json", "sha256": file_sha256(out / "calibration.json"),
                        "images_sha256": calibration["sha256"]} if calibration else None,
        "validation_set": {"pairs": len(val_pairs), "images": len(val_reader.files()), "seed": 1234, "crop": 256},
        "weights_sha256": file_sha256(weights),
        "versions": _versions(),
    }
    atomic_write_bytes(out / "bundle.json", (json.dumps(bundle, indent=2) + "\n").encode())
    return out
