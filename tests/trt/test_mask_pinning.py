"""The mask branch is pinned to FP32 under OBEY_PRECISION_CONSTRAINTS (edgefill.trt.build), on a
stand-in network: the Cast from a uint8 ``mask`` input (TensorRT >= 9.2 graphs) gets its output
type only, since a precision constraint on a Cast from uint8 is not documented and TensorRT
takes uint8 only straight into a Cast; the image branch is left alone."""

from __future__ import annotations

from types import SimpleNamespace

from edgefill.trt.build import pin_mask_branch

TRT = SimpleNamespace(float32="float32", float16="float16", uint8="uint8",
                      LayerType=SimpleNamespace(CONSTANT="constant", CAST="cast", OTHER="other"))


class Tensor:
    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype


class Layer:
    def __init__(self, kind, inputs, outputs):
        self.type, self.inputs, self.outputs = kind, inputs, outputs
        self.precision, self.output_types = None, {}

    num_inputs = property(lambda self: len(self.inputs))
    num_outputs = property(lambda self: len(self.outputs))

    def get_input(self, j):
        return self.inputs[j]

    def get_output(self, k):
        return self.outputs[k]

    def set_output_type(self, k, dtype):
        self.output_types[k] = dtype


class Network:
    def __init__(self, layers):
        self.layers = layers

    num_layers = property(lambda self: len(self.layers))

    def get_layer(self, i):
        return self.layers[i]


def test_the_uint8_cast_gets_its_output_type_only_and_the_float_mask_layers_are_pinned():
    mask_u8, image_u8 = Tensor("mask", TRT.uint8), Tensor("image", TRT.uint8)
    mask_f, image_f = Tensor("mask_f", TRT.float32), Tensor("image_f", TRT.float32)
    half = Tensor("half", TRT.float32)
    ratio, filled = Tensor("ratio", TRT.float32), Tensor("filled", TRT.float16)
    const = Layer(TRT.LayerType.CONSTANT, [], [half])
    cast_mask = Layer(TRT.LayerType.CAST, [mask_u8], [mask_f])
    cast_image = Layer(TRT.LayerType.CAST, [image_u8], [image_f])
    threshold = Layer(TRT.LayerType.OTHER, [mask_f, half], [ratio])
    conv = Layer(TRT.LayerType.OTHER, [image_f, ratio], [filled])  # image branch: left to the builder
    network = Network([const, cast_mask, cast_image, threshold, conv])
    assert pin_mask_branch(TRT, network) == 2
    assert cast_mask.precision is None and cast_mask.output_types == {0: TRT.float32}
    assert threshold.precision == TRT.float32 and threshold.output_types == {0: TRT.float32}
    for layer in (const, cast_image, conv):
        assert layer.precision is None and layer.output_types == {}
