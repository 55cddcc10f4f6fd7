"""FP16 and INT8 versions of an exported FP32 ONNX model, and the accuracy gate.

:class:`QuantizeOnnx` is a lazy stage: ``QuantizeOnnx("int8", calibration=reader)(fp32, out)``.

- **INT8** is QDQ (QuantizeLinear/DequantizeLinear pairs) with per-channel weights and
  per-tensor activations calibrated on real images with generated masks, for one of two
  targets:

  - ``target="tensorrt"`` (bundles for Jetson): symmetric signed INT8, the form TensorRT's
    explicit quantisation accepts. Only the feature convolutions are quantised; the mask
    path, the renormalisation and the pre/post-processing stay in float, and TensorRT fuses
    the element-wise ops into its kernels.
  - ``target="cpu"`` (the shipped ``<model>.int8.onnx``, for ONNX Runtime on x86/ARM CPUs):
    asymmetric uint8 activations (ONNX Runtime's fast u8s8 kernels, ReLU folded into the
    quantisation range) and the feature ops quantised (convolutions, the renormalising
    multiply with ratios at a fixed scale, activations, the pixel shuffle, Resize, Concat, Add),
    so that tensors stay in uint8 from one QLinearConv to the next. The mask branch, the first
    encoder layer and the last decoder layer stay float (:func:`_cpu_float_nodes`). Made from
    the ``phase-nhwc`` decoder form, ONNX Runtime runs it ~2x faster than the FP32 graph.
  Both calibrate the activation ranges at a percentile chosen among :data:`CALIB_PERCENTILES`.
- **FP16** converts weights and activations to half precision, keeping the graph's uint8
  inputs/outputs and the mask path in float32.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from tqdm import tqdm

from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes

GATES_DB = {"fp32": 0.0, "fp16": 0.05, "int8": 0.3}
INT8_TARGETS = ("tensorrt", "cpu")
#: ``QuantizeOnnx.calibrate_method``: ONNX Runtime's calibrators, by lower-case name
CALIBRATE_METHODS = ("percentile", "minmax", "entropy")
#: What the CPU target quantises (docs/performance.md): everything on the feature path.
CPU_QUANTISED_OPS = ("Conv", "ConvTranspose", "Mul", "Relu", "LeakyRelu", "Resize", "Concat", "Add", "DepthToSpace",
                     "Transpose", "Reshape", "Slice")


class AccuracyGateError(EdgeFillError):
    """A quantised model loses more hole PSNR than its precision's gate allows."""


def mask_path_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the Conv nodes of the mask path: single-channel convolutions whose weight
    is all ones (the PConv box sum)."""
    inits = {t.name: t for t in model.graph.initializer}
    consts = {}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = a.t
    names = []
    for n in model.graph.node:
        if n.op_type != "Conv" or len(n.input) < 2:
            continue
        t = inits.get(n.input[1]) or consts.get(n.input[1])
        if t is None:
            continue
        w = numpy_helper.to_array(t)
        if w.shape[0] == 1 and w.shape[1] == 1 and np.all(w == 1):
            names.append(n.name)
    return names


def mask_branch_nodes(model: onnx.ModelProto, mask_input: str = "mask") -> list[str]:
    """Every node computed from the mask (and constants) alone: thresholding, the box-sum
    convolutions, the clamp and the renormalisation ratio. The graph is topologically sorted."""
    fixed = {t.name for t in model.graph.initializer}
    branch = {mask_input}
    names = []
    for n in model.graph.node:
        if n.op_type == "Constant":
            fixed.update(n.output)
            continue
        ins = [i for i in n.input if i]
        if ins and any(i in branch for i in ins) and all(i in branch or i in fixed for i in ins):
            branch.update(n.output)
            names.append(n.name)
    return names


def onnx_metadata(model: onnx.ModelProto) -> dict[str, str]:
    """The graph's metadata properties (``edgefill.multiple``, ``edgefill.calib_percentile``...)."""
    return {p.key: p.value for p in model.metadata_props}


def _feature_nodes(model: onnx.ModelProto) -> list[str]:
    """Generator nodes (the exporter names them ``/net/...``) downstream of the image input and
    not in the mask branch; the pre/post-processing around the generator stays float, so the
    composite still copies every known pixel exactly."""
    branch = set(mask_branch_nodes(model))
    reach = {model.graph.input[0].name}
    names = []
    for n in model.graph.node:
        if any(i in reach for i in n.input) and n.name not in branch:
            reach.update(n.output)
            if n.name.startswith("/net/"):
                names.append(n.name)
    return names


def _cpu_float_nodes(model: onnx.ModelProto) -> list[str]:
    """Generator nodes the CPU target keeps in float (measured in docs/performance.md):

    - the input masking and the first encoder layer: its 3-channel input convolution is faster
      in float, and a quantised first layer makes ONNX Runtime's layout optimiser move the input
      masking into NHWC, where its broadcasting Sub and Mul run ~20x slower;
    - the last :data:`CPU_FLOAT_DECODERS` decoder layers (see there);
    - the :data:`FLOAT_BLOCKS`.

    No Q/DQ may touch those layers' convolutions, or ONNX Runtime quantises their float weights
    itself."""
    last = int(math.log2(int(onnx_metadata(model).get("edgefill.multiple", "64")))) - 1
    layers = range(last - CPU_FLOAT_DECODERS + 1, last + 1)
    prefixes = ("/net/encoders.0/", *FLOAT_BLOCKS) + tuple(f"/net/{kind}.{j}/" for j in layers for kind in ("rewritten", "net/decoders"))
    return [n.name for n in model.graph.node if n.name == "/net/Mul" or n.name.startswith(prefixes)]


#: Decoder layers (from the output end) the CPU INT8 graph keeps in float: the last one, whose
#: 12- and 3-channel convolutions run slower in int8 than in float (the whole graph 1.24x slower
#: with it quantised, measured).
CPU_FLOAT_DECODERS = 1

#: uint8 scale of the renormalisation ratios in the CPU INT8 graph: 1/8 represents 1 (every
#: fully valid pixel), 9/k for most k and 25 (the 5x5 first layer's largest ratio) exactly. A
#: calibrated scale (25/255) would turn every 1.0 into 0.98, a 2% gain error per layer.
RATIO_SCALE = 0.125

#: Candidate calibration percentiles of the activation ranges (both INT8 targets); the one that
#: loses least hole PSNR on the calibration pairs is kept (its value is in the ONNX metadata
#: ``edgefill.calib_percentile``). Why a search: the trained generators put a handful of huge
#: values (100-260, against a 99.9th percentile of 0.5-2) into the decoder features at one image
#: corner (< 0.02% of the values, all within 5 pixels of the top-right corner), and a range that
#: covers them leaves the rest of the tensor 2-3 levels. Shipped lite, hole PSNR lost at
#: 99.999 (ONNX Runtime's default) / 99.99 / 99.9: CPU target 5.97 / 1.44 / -0.03 dB; TensorRT
#: target 2.54 / 0.31 / -0.05 dB (docs/performance.md). On other data (the test suite's
#: synthetic images) 99.9 clips real content, so no single value is right everywhere.
CALIB_PERCENTILES = (99.9, 99.99, 99.999)


def _ratio_overrides(model: onnx.ModelProto, feature: set[str]) -> dict:
    """Fixed quantisation of the mask-branch ratios that the quantised multiplies read."""
    branch = set(mask_branch_nodes(model))
    branch_outputs = {o for n in model.graph.node if n.name in branch for o in n.output}
    ratios = {i for n in model.graph.node if n.op_type == "Mul" and n.name in feature for i in n.input if i in branch_outputs}
    return {r: [{"scale": np.array(RATIO_SCALE, np.float32), "zero_point": np.array(0, np.uint8)}] for r in sorted(ratios)}


#: A tensor whose range at the highest candidate percentile (99.999) is more than this many
#: times its range at the lowest (99.9) carries outliers. Shipped lite: the decoder tensors that
#: carry the corner values 3.3-150x; the encoders' renormalised features <= 2.2x, a real tail
#: at hole borders that clipping cuts (the quality benchmark's 0-10% free-form bucket lost
#: 0.7 dB with every range at 99.9).
TAIL_RATIO = 3.0


def _activation_ranges(q: onnx.ModelProto) -> dict[str, tuple[float, float]]:
    """(rmin, rmax) of every per-tensor activation quantisation in a QDQ graph."""
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    out = {}
    for n in q.graph.node:
        if n.op_type != "QuantizeLinear" or n.input[1] not in inits or inits[n.input[1]].size != 1:
            continue
        scale = float(inits[n.input[1]])
        zp = inits.get(n.input[2]) if len(n.input) > 2 else None
        lo, hi = (0, 255) if zp is not None and zp.dtype == np.uint8 else (-127, 127)
        z = int(zp) if zp is not None else 0
        out[n.input[0]] = ((lo - z) * scale, (hi - z) * scale)
    return out


def _tail_aware_ranges(high: onnx.ModelProto, low: onnx.ModelProto) -> dict:
    """TensorQuantOverrides: each tensor's range from the high-percentile calibration, except
    where it exceeds the low-percentile one by :data:`TAIL_RATIO` (outliers): that one."""
    hi_r, lo_r = _activation_ranges(high), _activation_ranges(low)
    overrides = {}
    for t, (hmin, hmax) in hi_r.items():
        if t not in lo_r:
            continue
        lmin, lmax = lo_r[t]
        wide = max(abs(hmin), abs(hmax)) > TAIL_RATIO * max(abs(lmin), abs(lmax), 1e-12)
        rmin, rmax = (lmin, lmax) if wide else (hmin, hmax)
        overrides[t] = [{"rmin": np.array(rmin, np.float32), "rmax": np.array(rmax, np.float32)}]
    return overrides


#: Generator blocks never quantised: the global-context block's two 1x1 convolutions run once
#: per image on a 1x1 map (nothing to gain), and its mean feeds every bottleneck position; the
#: refinement head's narrow full-resolution convolutions (7/16 -> 16/3 channels) write the
#: output pixels directly, and narrow QLinearConvs ran slower than float (docs/performance.md #10);
#: the fill smoothing after the composite (onnx_export.FillSmoothing) works on exact 0..255 pixels.
FLOAT_BLOCKS = ("/net/context/", "/net/refine/", "/fill_smooth/")


def feature_conv_nodes(model: onnx.ModelProto) -> list[str]:
    mask = set(mask_path_nodes(model))
    return [n.name for n in model.graph.node
            if n.op_type in ("Conv", "ConvTranspose") and n.name not in mask and not n.name.startswith(FLOAT_BLOCKS)]


def pair_feed(pair, multiple: int = 1, what: str = "calibration pair 0") -> dict[str, np.ndarray]:
    """The graph's uint8 feed for one (image, mask) pair (uint8 HxWx3 BGR; HxW or HxWx1, non-zero
    = hole), checked so that a bad pair is a clear ValueError, not an ONNX Runtime failure deep
    inside the graph: H and W must be multiples of ``multiple`` (``edgefill.multiple``)."""
    if isinstance(pair, dict) or not hasattr(pair, "__len__") or len(pair) != 2:  # a dict: an ONNX Runtime feed
        raise ValueError(f"{what}: expected an (image, mask) pair of arrays, got {type(pair).__name__}")
    img, mask = (np.asarray(a) for a in pair)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"{what}: the image must be uint8 HxWx3 (BGR), not {img.dtype} {img.shape}")
    h, w = img.shape[:2]
    if mask.shape != (h, w):
        raise ValueError(f"{what}: the mask is {mask.shape} but the image is {w}x{h}; give one HxW mask per image")
    if h % multiple or w % multiple:
        raise ValueError(f"{what}: the image is {w}x{h}, but the model needs height and width that are "
                         f"multiples of {multiple}; crop or pad the pairs")
    return {"image": img[None], "mask": ((mask > 0).astype(np.uint8) * 255)[None, :, :, None]}


def _multiple(meta: dict[str, str]) -> int:
    return int(meta.get("edgefill.multiple", "1"))


class _OrtQuantiserNotes(logging.Filter):
    """Drops ONNX Runtime's quantiser advice (warnings and below, logged on the root logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or f"{os.sep}onnxruntime{os.sep}quantization{os.sep}" not in record.pathname


@contextlib.contextmanager
def _quiet_quantiser() -> Iterator[None]:
    """Keep ONNX Runtime's quantiser from talking to an edgefill user: it prints its calibration
    progress ("Collecting tensor data...", "Number of tensors : 76") to stdout, mixed into
    ``edgefill export``'s summary, and logs advice meant for its own users ("consider to run
    pre-processing") on the root logger, which ``edgefill`` shows as its own warning and which,
    in a program that set up no logging, configures the root logger for the whole process
    (``logging.warning`` calls ``basicConfig``). Errors still come through."""
    root, ort_logger = logging.getLogger(), logging.getLogger("onnxruntime")
    notes, guard = _OrtQuantiserNotes(), logging.NullHandler()
    level = ort_logger.level
    root.addFilter(notes)
    root.addHandler(guard)  # a root logger with a handler is not set up by logging.warning
    ort_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        ort_logger.setLevel(level)
        root.removeHandler(guard)
        root.removeFilter(notes)


class _OrtReader:
    """Adapts an iterable of (image, mask) pairs to ONNX Runtime's CalibrationDataReader."""

    def __init__(self, pairs: Iterable[tuple[np.ndarray, np.ndarray]], float_io: bool = False, multiple: int = 1):
        self._pairs = list(pairs)
        self._it: Iterator = enumerate(self._pairs)
        self.float_io, self.multiple = float_io, multiple

    def get_next(self) -> dict | None:
        try:
            i, pair = next(self._it)
        except StopIteration:
            return None
        feed = pair_feed(pair, self.multiple, f"calibration pair {i}")
        return {k: v.astype(np.float32) for k, v in feed.items()} if self.float_io else feed

    def rewind(self) -> None:
        """Start again from the first pair (for a calibrator that makes a second pass)."""
        self._it = enumerate(self._pairs)


@dataclass
class QuantizeOnnx:
    """Lazy stage: ``QuantizeOnnx(precision, calibration)(fp32_path, out_path) -> out_path``."""

    precision: str
    calibration: Iterable[tuple[np.ndarray, np.ndarray]] | None = None
    calibrate_method: str = "percentile"
    target: str = "tensorrt"
    #: Percentile of the ``"percentile"`` method; None: the best of :data:`CALIB_PERCENTILES`.
    percentile: float | None = None
    progress: bool = False
    #: Feature convolutions kept in float at the end of the decoder (TensorRT target): the two
    #: of the last decoder layer, whose outputs are the image (in the first session's graph the
    #: last layer alone cost ~0.8 dB in INT8; docs/export.md).
    keep_float_last: int = 2

    def __call__(self, fp32_path: Path, out_path: Path) -> Path:
        if self.precision == "int8":
            return self._int8(Path(fp32_path), Path(out_path))
        if self.precision == "fp16":
            return self._fp16(Path(fp32_path), Path(out_path))
        raise ValueError(f"QuantizeOnnx makes fp16 or int8, not {self.precision!r}")

    def _int8(self, src: Path, out: Path) -> Path:
        from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

        if self.calibration is None:
            raise ValueError("INT8 quantisation needs calibration data")
        if self.target not in INT8_TARGETS:
            raise ValueError(f"unknown INT8 target {self.target!r}; known: {', '.join(INT8_TARGETS)}")
        if self.calibrate_method not in CALIBRATE_METHODS:  # checked before the pairs are read
            raise ValueError(f"unknown calibrate_method {self.calibrate_method!r}; known: {', '.join(CALIBRATE_METHODS)}")
        model = onnx.load(str(src))
        convs = feature_conv_nodes(model)
        if self.keep_float_last and self.target == "tensorrt":
            convs = convs[: -self.keep_float_last]
        excluded = mask_path_nodes(model)

        class Reader(CalibrationDataReader):
            def __init__(self, inner):
                self.inner = inner

            def get_next(self):
                return self.inner.get_next()

        float_io = model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        pairs = list(self.calibration)
        if not pairs:
            raise ValueError("the calibration reader yielded no data")
        multiple = _multiple(onnx_metadata(model))
        for i, pair in enumerate(pairs):  # every pair checked before hours of calibration, not in the middle
            pair_feed(pair, multiple, f"calibration pair {i}")
        method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                  "percentile": CalibrationMethod.Percentile}[self.calibrate_method]
        if self.target == "tensorrt":
            options = dict(
                op_types_to_quantize=["Conv", "ConvTranspose"], nodes_to_quantize=convs, nodes_to_exclude=excluded,
                activation_type=QuantType.QInt8,
                # Conv outputs stay float: TensorRT fuses the renormalising multiply into the
                # convolution's epilogue, and a quantised output would be amplified by it (up to 25x).
                # Biases stay float: TensorRT's parser takes int8 Q/DQ only (no int32 bias DQ).
                extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False,
                               "OpTypesToExcludeOutputQuantization": ["Conv", "ConvTranspose"]})
        else:
            feature = set(_feature_nodes(model)) - set(_cpu_float_nodes(model))
            # Exclude every other node explicitly: a node merely left out of nodes_to_quantize
            # still gets Q/DQ on its tensors when a neighbour is quantised.
            options = dict(
                op_types_to_quantize=list(CPU_QUANTISED_OPS),
                nodes_to_quantize=[n.name for n in model.graph.node if n.name in feature and n.op_type in CPU_QUANTISED_OPS],
                nodes_to_exclude=[n.name for n in model.graph.node if n.name not in feature], activation_type=QuantType.QUInt8,
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True,
                               "TensorQuantOverrides": _ratio_overrides(model, feature)})
        by_percentile = self.calibrate_method == "percentile"
        search = by_percentile and not self.percentile
        percentiles = ([self.percentile] if self.percentile else list(CALIB_PERCENTILES)) if by_percentile else [None]
        candidates: dict[str, Path] = {}
        bar = tqdm(total=len(percentiles) + (2 if search else 0), desc="INT8 calibration candidates", unit="step",
                   disable=not self.progress)
        with tempfile.TemporaryDirectory() as tmp, bar:

            def quantise(label: str, pct: float | None, overrides: dict | None = None) -> None:
                path = Path(tmp) / f"int8_{len(candidates)}.onnx"
                extra = {**options["extra_options"], **({"CalibPercentile": pct} if pct else {})}
                if overrides:
                    extra["TensorQuantOverrides"] = {**overrides, **extra.get("TensorQuantOverrides", {})}
                with _quiet_quantiser():
                    quantize_static(str(src), str(path), Reader(_OrtReader(pairs, float_io, multiple)),
                                    quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=False,
                                    weight_type=QuantType.QInt8, calibrate_method=method,
                                    **{**options, "extra_options": extra})
                candidates[label] = path
                bar.update()

            for pct in percentiles:
                quantise(str(pct) if pct else self.calibrate_method, pct)
            if search:
                low, high = min(CALIB_PERCENTILES), max(CALIB_PERCENTILES)
                overrides = _tail_aware_ranges(onnx.load(str(candidates[str(high)])), onnx.load(str(candidates[str(low)])))
                quantise(f"tail-aware ({high}, {low} where the tail is > {TAIL_RATIO:g}x)", high, overrides)
            # several candidates: keep the one closest to FP32 on the calibration pairs, every
            # pair counting alike (small holes and hole borders too); the validation set stays
            # untouched for the gate
            scores = ({k: validate(v, src, pairs)["mean_pair_delta_db"] for k, v in candidates.items()}
                      if len(candidates) > 1 else {})
            bar.update()
            label = min(scores, key=scores.get) if scores else next(iter(candidates))
            q = onnx.load(str(candidates[label]))
        _copy_metadata(model, q, precision="int8", extra={"edgefill.calib_percentile": label} if by_percentile else None)
        atomic_write_bytes(out, q.SerializeToString())
        return out

    def _fp16(self, src: Path, out: Path) -> Path:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(src))
        keep = mask_branch_nodes(model)  # the mask branch stays float32
        half = convert_float_to_float16(model, keep_io_types=True, node_block_list=keep)
        _drop_duplicate_casts(half)
        onnx.checker.check_model(half)
        _copy_metadata(model, half, precision="fp16")
        atomic_write_bytes(out, half.SerializeToString())
        return out


def _drop_duplicate_casts(model: onnx.ModelProto) -> None:
    """The float16 converter inserts one Cast per blocked consumer of a tensor, all with the
    same output name: keep the first of each identical node, drop the copies."""
    seen: set[tuple] = set()
    keep = []
    for n in model.graph.node:
        key = (n.op_type, tuple(n.input), tuple(n.output), n.name)
        if key in seen:
            continue
        seen.add(key)
        keep.append(n)
    # ... and its insertions are not always in topological order: sort.
    ready = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer} | {""}
    ordered, pending = [], keep
    while pending:
        rest = []
        for n in pending:
            if all(i in ready for i in n.input):
                ordered.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError("the float16 graph has a cycle or a missing input")
        pending = rest
    del model.graph.node[:]
    model.graph.node.extend(ordered)


def _copy_metadata(src: onnx.ModelProto, dst: onnx.ModelProto, precision: str, extra: dict | None = None) -> None:
    meta = onnx_metadata(src)
    meta["edgefill.precision"] = precision
    meta.update(extra or {})
    del dst.metadata_props[:]
    for k, v in meta.items():
        e = dst.metadata_props.add()
        e.key, e.value = k, v


def _typed(session, feed: dict) -> dict:
    """Cast the uint8 feed to the session's input types (float32-I/O graphs for old TensorRT)."""
    types = {i.name: i.type for i in session.get_inputs()}
    return {k: v.astype(np.float32) if types[k] == "tensor(float)" else v for k, v in feed.items()}


def validate(candidate: Path, reference: Path, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Hole PSNR (against the ground truth) of ``candidate`` and of the FP32 ``reference`` on
    the same validation pairs, with ONNX Runtime on the CPU. ``delta_db`` = reference - candidate
    over all hole pixels pooled (the gate; large holes weigh most); ``mean_pair_delta_db`` = the
    mean of the per-pair differences (every hole counts alike, as in the quality benchmark)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sessions = [ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"]) for p in (candidate, reference)]
    sq_err = [0.0, 0.0]
    count = 0
    max_diff = 0
    pair_deltas = []
    multiple = _multiple(sessions[1].get_modelmeta().custom_metadata_map)
    for i, pair in enumerate(pairs):
        feed = pair_feed(pair, multiple, f"validation pair {i}")
        img, hole = feed["image"][0], feed["mask"][0, ..., 0] > 0
        raw = [s.run(None, _typed(s, feed))[0][0] for s in sessions]
        for path, r in zip((candidate, reference), raw, strict=True):
            if not np.isfinite(r).all():  # float32 I/O: NaN would turn into 0 below and only cost PSNR
                raise ValueError(f"{Path(path).name} produces NaN or inf on validation pair {i}")
        outs = [np.clip(r, 0, 255).astype(np.uint8) for r in raw]
        errs = []
        for j, o in enumerate(outs):
            d = o[hole].astype(np.float64) - img[hole].astype(np.float64)
            errs.append(float((d * d).sum()))
            sq_err[j] += errs[-1]
        n = int(hole.sum()) * 3
        if n:
            pair_deltas.append(_psnr(errs[1] / n) - _psnr(errs[0] / n))
        max_diff = max(max_diff, int(np.abs(outs[0].astype(int) - outs[1].astype(int)).max()))
        count += n
    if count == 0:
        raise ValueError("the validation set has no hole pixels")
    psnr = [_psnr(e / count) for e in sq_err]
    return {"hole_psnr_db": psnr[0], "reference_hole_psnr_db": psnr[1], "delta_db": psnr[1] - psnr[0],
            "mean_pair_delta_db": float(np.mean(pair_deltas)), "max_abs_diff_vs_reference": max_diff}


def _psnr(mse: float) -> float:
    return 10 * math.log10(255.0**2 / max(mse, 1e-10))
