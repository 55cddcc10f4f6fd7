"""Does an ONNX graph fit a given TensorRT version's ONNX parser?

The table covers the operators edgefill's graphs use, transcribed from onnx-tensorrt's
``docs/operators.md`` (TensorRT 8.4: opset <= 13, no Reciprocal, no UINT8; 8.5/8.6:
opset <= 17; 9.2: opset <= 19 and UINT8 network I/O, straight into / out of a Cast;
10.x: opset <= 20). TensorRT 8.2
(JetPack 4.6.1) is checked against the 8.4 table, which has the same opset limit.
:func:`check` lists every problem; an empty list means the graph should parse.
"""

from __future__ import annotations

from typing import Tuple

V = Tuple[int, int]  # evaluated at import: typing's form, for Python 3.8

MAX_OPSET: list[tuple[V, int]] = [((8, 2), 13), ((8, 5), 17), ((9, 2), 19), ((10, 0), 20)]
#: operator -> first TensorRT version whose parser supports it (for the ops edgefill emits)
OPS: dict[str, V] = {op: (8, 2) for op in (
    "Add", "Cast", "Clip", "Concat", "Constant", "Conv", "Div", "Greater", "LeakyRelu", "Max", "Mul", "Not",
    "Relu", "Resize", "Round", "Sub", "Transpose", "Where", "QuantizeLinear", "DequantizeLinear", "Identity", "DepthToSpace",
    "ConvTranspose", "Reshape", "Slice", "Shape", "Gather", "Unsqueeze",
    # the global-context block: a sum over H and W (axes as a constant input from opset 13)
    "ReduceSum",
    # the fill smoothing: 3x3 mean filters, padding excluded (IPoolingLayer, kAVERAGE with
    # setAverageCountExcludesPadding)
    "AveragePool")}
OPS["Reciprocal"] = (8, 5)
RESIZE_MODES = {"nearest", "linear"}
RESIZE_COORDS = {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"}
RESIZE_NEAREST = {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}
# ONNX TensorProto element types
FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, DOUBLE = 1, 2, 3, 6, 7, 9, 10, 11
CAST_TARGETS = {FLOAT, FLOAT16, INT32, INT8, BOOL}


def parse_version(text: str) -> V:
    parts = [int(x) for x in text.split(".")[:2]]
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def max_opset(v: V) -> int:
    return max(o for since, o in MAX_OPSET if v >= since) if v >= MAX_OPSET[0][0] else 0


def check(model, version: str) -> list[str]:
    """Problems that would stop TensorRT ``version`` from parsing ``model`` (an onnx.ModelProto)."""
    from onnx import helper, numpy_helper

    v = parse_version(version)
    problems = []
    opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}.get("ai.onnx", 0)
    if opset > max_opset(v):
        problems.append(f"opset {opset} > {max_opset(v)}, the highest TensorRT {version} parses")
    io_ok = {FLOAT, FLOAT16} | ({UINT8} if v >= (9, 2) else set())
    for t in list(model.graph.input) + list(model.graph.output):
        et = t.type.tensor_type.elem_type
        if et not in io_ok:
            problems.append(f"network I/O {t.name!r} has ONNX type {et}, which TensorRT {version} does not take")
    # UINT8 exists in TensorRT only at the network's edge: every layer but Cast refuses it,
    # even a Transpose or Reshape (NVIDIA/TensorRT#3985), so uint8 inputs must feed Casts
    # alone and uint8 outputs must come from a Cast.
    uint8_in = {t.name for t in model.graph.input if t.type.tensor_type.elem_type == UINT8}
    uint8_out = {t.name for t in model.graph.output if t.type.tensor_type.elem_type == UINT8}
    for n in model.graph.node:
        if n.op_type != "Cast":
            for name in uint8_in.intersection(n.input):
                problems.append(f"uint8 input {name!r} feeds {n.op_type} ({n.name}); TensorRT needs a Cast first")
            for name in uint8_out.intersection(n.output):
                problems.append(f"uint8 output {name!r} comes from {n.op_type} ({n.name}); TensorRT needs a Cast last")
    inits = {t.name: t for t in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    produced_by = {o: n for n in model.graph.node for o in n.output}
    for n in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        since = OPS.get(n.op_type)
        if since is None:
            problems.append(f"{n.op_type} ({n.name}) is not in edgefill's TensorRT support table")
            continue
        if v < since:
            problems.append(f"{n.op_type} ({n.name}) needs TensorRT >= {since[0]}.{since[1]}")
        if n.op_type == "Resize":
            mode = attrs.get("mode", b"nearest").decode()
            coord = attrs.get("coordinate_transformation_mode", b"half_pixel").decode()
            near = attrs.get("nearest_mode", b"round_prefer_floor").decode()
            if mode not in RESIZE_MODES or coord not in RESIZE_COORDS or (mode == "nearest" and near not in RESIZE_NEAREST):
                problems.append(f"Resize {n.name}: mode={mode} coordinate_transformation_mode={coord} nearest_mode={near}")
        elif n.op_type == "Cast":
            to = attrs["to"]
            if to not in CAST_TARGETS and not (to == UINT8 and v >= (9, 2)):
                problems.append(f"Cast {n.name} to ONNX type {to} is not supported by TensorRT {version}")
        elif n.op_type == "AveragePool":
            if len(attrs.get("kernel_shape", [])) != 2 or attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", [])):
                problems.append(f"AveragePool {n.name}: only 2D pooling without ceil_mode or dilations is checked here")
        elif n.op_type in ("Conv", "ConvTranspose"):
            w = n.input[1]
            src = produced_by.get(w)
            if not (w in inits or w in consts or (src is not None and src.op_type == "DequantizeLinear")):
                problems.append(f"Conv {n.name}: weights must be an initializer (or a DequantizeLinear of one)")
        elif n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2:
            zp = inits.get(n.input[2])
            if zp is None and n.input[2] in consts:
                zp = next(a.t for a in consts[n.input[2]].attribute if a.name == "value")
            if zp is None or numpy_helper.to_array(zp).any():
                problems.append(f"{n.op_type} {n.name}: the zero point must be a constant 0 (symmetric)")
            elif zp.data_type != INT8:
                problems.append(f"{n.op_type} {n.name}: TensorRT needs INT8 (signed) quantisation, got type {zp.data_type}")
    return problems
