"""PyTorch -> ONNX export of the generator with pre/post-processing inside the graph.

The exported graph takes ``image`` uint8 (N, H, W, 3) BGR and ``mask`` uint8
(N, H, W, 1) where non-zero = hole, and returns ``output`` uint8 (N, H, W, 3): the
composited image, with every known pixel copied through exactly. H and W are
dynamic but must be multiples of 2**depth (stored as metadata ``edgefill.multiple``).

:class:`OnnxFromTorch` is a lazy stage (Polygraphy-style): constructing it does
nothing; calling it exports, checks and writes the ONNX file plus its sidecar JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes

from .model import PConvUNet, conv_macs, count_parameters
from .subpixel import InferenceUNet, executed_macs
from .weights import load_weights

OPSET = 17
#: The decoder form of exported graphs (subpixel.py; measured in docs/performance.md).
DECODER_FORM = "transposed"
#: The decoder form of the graphs for ONNX Runtime on the CPU (the shipped models, ship.py, and
#: bundles for a board without TensorRT): 2x2 phase convolutions, quantisable (ONNX Runtime has
#: no int8 ConvTranspose on the CPU), and the shuffle as an NHWC permutation.
CPU_DECODER_FORM = "phase-nhwc"


class ExportError(EdgeFillError):
    """The exported graph is invalid, produces NaN, or disagrees with PyTorch."""


class FillSmoothing(nn.Module):
    """Smooths the hole pixels of the composited image by ``passes`` 3x3 mean filters (each
    averages the pixels of its window that lie inside the image, so the border is exact); n
    passes approximate a Gaussian of sigma sqrt(2n/3) px (0.82, 1.15, 1.41, 1.63). The
    generators' fills carry detail in the wrong places, and smoothing them raises hole PSNR and
    SSIM (docs/training.md, "Eleventh session"). AveragePool only: ONNX Runtime runs it ~2x
    faster than the separable Gaussian convolutions it replaced, and TensorRT takes it."""

    def __init__(self, passes: int):
        super().__init__()
        self.passes = passes

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """``image`` (N, 3, H, W) float 0..255, ``hole`` (N, 1, H, W) in {0, 1}."""
        smooth = image
        for _ in range(self.passes):
            smooth = nn.functional.avg_pool2d(smooth, 3, stride=1, padding=1, count_include_pad=False)
        return (image + (smooth - image) * hole).round()


class InpaintGraph(nn.Module):
    """image + mask -> composited image, around a fused generator.

    ``io="uint8"``: uint8 tensors in and out (the default; ONNX Runtime, and TensorRT >= 9.2).
    ``io="float32"``: the same values carried as float32 (0..255), for TensorRT < 9.2, whose
    ONNX parser does not take uint8 network inputs. The mask is hole where it is > 0.5.

    ``cast_at_io``: with uint8 I/O, convert first and last. By default the NHWC <-> NCHW
    transposes run on the uint8 tensors (a quarter of the bytes to move, for ONNX Runtime);
    TensorRT takes uint8 only as network I/O that feeds or comes from a Cast directly, so
    its graphs are exported with ``cast_at_io=True``.
    """

    def __init__(self, net: PConvUNet, io: str = "uint8", decoder_form: str = DECODER_FORM, cast_at_io: bool = False):
        super().__init__()
        if io not in ("uint8", "float32"):
            raise ValueError(f"io must be uint8 or float32, not {io!r}")
        self.net, self.io, self.cast_at_io = InferenceUNet(net, decoder_form), io, cast_at_io
        passes = net.config.fill_passes
        self.fill_smooth = FillSmoothing(passes) if passes > 0 else None

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.cast_at_io:
            pixels = image.to(torch.float32).permute(0, 3, 1, 2)  # NCHW from here on
            m = mask.to(torch.float32).permute(0, 3, 1, 2)
        else:  # transpose while the tensors are still 1 byte per value, then convert
            pixels = image.permute(0, 3, 1, 2).to(torch.float32)
            m = mask.permute(0, 3, 1, 2).to(torch.float32)
        # uint8: any non-zero value is a hole, and min(m, 1) is exactly that for whole numbers
        # (one Clip, no bool tensors). float32 I/O: hole where > 0.5.
        hole = torch.clamp(m, max=1.0) if self.io == "uint8" else (m > 0.5).to(torch.float32)
        valid = 1.0 - hole
        pred = self.net(pixels * (1.0 / 127.5) - 1.0, valid)
        pred = torch.clamp((pred + 1.0) * 127.5, 0.0, 255.0).round()
        # Composite with a channel broadcast in NCHW (cheap), not a Where broadcast over the
        # last axis of NHWC. Exact: both operands are whole numbers below 256.
        out = pixels + (pred - pixels) * hole
        if self.fill_smooth is not None:
            out = self.fill_smooth(out, hole)  # still whole numbers in 0..255
        if self.io == "uint8" and self.cast_at_io:
            return out.permute(0, 2, 3, 1).to(torch.uint8)
        if self.io == "uint8":
            out = out.to(torch.uint8)  # whole numbers in 0..255: exact
        return out.permute(0, 2, 3, 1)


def prepare(net: PConvUNet, io: str = "uint8", decoder_form: str = DECODER_FORM,
            cast_at_io: bool = False) -> InpaintGraph:
    """Eval mode, BatchNorm folded, decoders rewritten (:mod:`.subpixel`), wrapped with
    pre/post-processing. Works on a copy: ``net`` itself keeps its mode and its BatchNorm (a
    model fused in place no longer loads from, or saves to, a weights file)."""
    net = copy.deepcopy(net).eval()
    net.fuse()
    return InpaintGraph(net, io, decoder_form, cast_at_io).eval()


def sample_inputs(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic natural-ish test image (smooth gradients + texture) and hole mask."""
    from edgefill import maskgen

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(xx / 23 + c) * np.cos(yy / 31 - c) for c in range(3)], -1)
    img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    mask = maskgen.mixed(h, w, rng, 0.2, 0.35)
    return img[None], mask[None, :, :, None]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    import onnx

    v = {"torch": torch.__version__, "onnx": onnx.__version__, "python": platform.python_version()}
    try:
        import onnxruntime

        v["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return v


def torch_reference(graph: InpaintGraph, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return graph(torch.from_numpy(image), torch.from_numpy(mask)).numpy()


@dataclass
class OnnxFromTorch:
    """Lazy export stage: ``OnnxFromTorch(weights, out)()`` writes ``out`` and ``out.json``.

    ``weights`` is a ``.safetensors`` file (or an in-memory :class:`PConvUNet`).
    ``check_size`` is the (H, W) used for the NaN and parity checks.
    """

    weights: Path | PConvUNet
    out: Path
    check_size: tuple[int, int] = (256, 320)
    io: str = "uint8"
    opset: int = OPSET
    decoder_form: str = DECODER_FORM
    cast_at_io: bool = False  # uint8 I/O converted first and last (TensorRT's rule; InpaintGraph)

    def __call__(self) -> Path:
        import onnx

        net = self.weights if isinstance(self.weights, PConvUNet) else load_weights(Path(self.weights))
        params = count_parameters(net)
        graph = prepare(net, self.io, self.decoder_form, self.cast_at_io)
        mult = net.multiple
        h, w = self.check_size
        if h % mult or w % mult:
            raise ExportError(f"check size {self.check_size} is not a multiple of {mult}")
        image, mask = sample_inputs(h, w)
        if self.io == "float32":
            image, mask = image.astype(np.float32), mask.astype(np.float32)
        out = Path(self.out)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp) / "model.onnx"
            torch.onnx.export(
                graph,
                (torch.from_numpy(image), torch.from_numpy(mask)),
                str(tmp_path),
                input_names=["image", "mask"],
                output_names=["output"],
                opset_version=self.opset,
                dynamic_axes={"image": {0: "N", 1: "H", 2: "W"}, "mask": {0: "N", 1: "H", 2: "W"}, "output": {0: "N", 1: "H", 2: "W"}},
                dynamo=False,
            )
            model = onnx.load(str(tmp_path))
        meta = {
            "edgefill.model": net.config.name,
            "edgefill.multiple": str(mult),
            "edgefill.mask_convention": "non-zero mask = hole to fill; known pixels copied exactly",
            "edgefill.channel_order": "BGR",
            "edgefill.io": self.io,
            "edgefill.fill_passes": str(net.config.fill_passes),
        }
        # read by the runtime (edgefill.refill_settings.recorded_settings)
        meta.update({f"edgefill.{k}": f"{v:g}" for k, v in net.config.refill.to_dict().items()})
        for k, v in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        model.producer_name = "edgefill"
        onnx.checker.check_model(model, full_check=True)
        data = model.SerializeToString()
        parity = check_parity(data, graph, image, mask)
        atomic_write_bytes(out, data)
        hole_rule = "> 0" if self.io == "uint8" else "> 0.5"  # InpaintGraph.forward
        sidecar = {
            "format": "edgefill-onnx/1",
            "model": net.config.name,
            "channels": list(net.config.channels),
            "parameters": params,
            # every conv's output scales with the input area: MACs(H, W) = this x H x W. The MACs
            # the exported graph executes (its decoder form), and those of the training form.
            "conv_macs_per_input_pixel": executed_macs(graph.net, 512, 512) / (512 * 512),
            "model_conv_macs_per_input_pixel": conv_macs(net, 512, 512) / (512 * 512),
            "sha256": hashlib.sha256(data).hexdigest(),
            "precision": "fp32",
            "opset": self.opset,
            "decoder_form": self.decoder_form,
            "fill_passes": net.config.fill_passes,
            **net.config.refill.to_dict(),  # the runtime's refinement settings for it
            "multiple": mult,
            "io": self.io,
            "cast_at_io": self.cast_at_io,
            "inputs": {"image": ["N", "H", "W", 3, f"{self.io} BGR 0..255"], "mask": ["N", "H", "W", 1, f"{self.io}, {hole_rule} = hole"]},
            "outputs": {"output": ["N", "H", "W", 3, f"{self.io} BGR 0..255"]},
            "parity": parity,
            "versions": _versions(),
        }
        atomic_write_bytes(out.with_suffix(".json"), (json.dumps(sidecar, indent=2) + "\n").encode())
        return out


def check_parity(onnx_bytes: bytes, graph: InpaintGraph, image: np.ndarray, mask: np.ndarray) -> dict:
    """Run ONNX Runtime and PyTorch on the same input; fail on NaN or on disagreement."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])
    ort_out = sess.run(None, {"image": image, "mask": mask})[0]
    if not np.isfinite(ort_out).all():  # float32 I/O: a NaN would slip through the comparisons below
        raise ExportError("the ONNX graph produces NaN or inf on the check input; refusing to export")
    ref = torch_reference(graph, image, mask)
    # Check the float prediction for NaN too (a NaN cast to uint8 is silently 0).
    with torch.no_grad():
        x = torch.from_numpy(image).permute(0, 3, 1, 2).float() / 127.5 - 1
        valid = torch.from_numpy((mask <= 0.5).astype(np.float32)).permute(0, 3, 1, 2)
        raw = graph.net(x, valid)
    if not torch.isfinite(raw).all():
        raise ExportError("the model produces NaN or inf on the check input; refusing to export")
    if ort_out.shape != ref.shape or ort_out.dtype != ref.dtype:
        raise ExportError(f"ONNX output is {ort_out.dtype} {ort_out.shape}, PyTorch gives {ref.dtype} {ref.shape}")
    known = np.repeat(mask <= 0.5, 3, axis=-1)
    if not np.array_equal(ort_out[known], image[known]):
        raise ExportError("the ONNX graph changed known pixels")
    diff = np.abs(ort_out.astype(np.float64) - ref.astype(np.float64))
    result = {"max_abs_diff_uint8": float(diff.max()), "mean_abs_diff_uint8": float(diff.mean()),
              "fraction_differing": float((diff > 0).mean()), "check_size": list(image.shape[1:3])}
    if diff.max() > 2:
        raise ExportError(f"ONNX Runtime and PyTorch disagree by up to {diff.max()} levels: {result}")
    return result
