"""One exception hierarchy for everything edgefill raises on purpose.

Catch :class:`EdgeFillError` to handle any expected failure (bad input, missing
backend, unusable model). :class:`EdgeFillInternalError` sits outside that tree: it
means a bug in edgefill, not a problem with the caller's input. The export toolchain's
errors (``edgefill_export``: ``CalibrationError``, ``FetchError``, ``ExportError``,
``PackError``, ``AccuracyGateError``, ``CheckpointError``) derive from :class:`EdgeFillError` too.
"""

from __future__ import annotations


class EdgeFillError(Exception):
    """Base class of every expected edgefill error."""


class ConfigError(EdgeFillError, ValueError):
    """An option or configuration value is invalid or conflicts with another."""


class BackendUnavailableError(EdgeFillError):
    """A backend cannot run here: a package is missing or the hardware is absent."""

    def __init__(self, backend: str, reason: str, extra: str | None = None):
        self.backend, self.reason, self.extra = backend, reason, extra
        # no second hint where the reason already says how to get it (an extra, or JetPack)
        said = extra and (f"edgefill[{extra}]" in reason or "JetPack" in reason)
        hint = f" (install edgefill[{extra}])" if extra and not said else ""
        super().__init__(f"backend {backend!r} is unavailable: {reason}{hint}")


class UnknownBackendError(ConfigError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"unknown backend {name!r}; choose one of: auto, {', '.join(known)}")


class ModelError(EdgeFillError):
    """A model file is missing, corrupt, fails its checksum, or has an unexpected signature."""


class EngineBuildError(ModelError, ConfigError):
    """TensorRT could not build an engine on this device: its parser or builder failed (out of
    memory, say), the GPU lacks fast INT8 or the DLA core asked for, or the TensorRT is one
    edgefill does not build with. Unlike a damaged or misconfigured bundle (a plain ModelError
    or ConfigError), the bundle's ONNX may still run elsewhere: ``auto`` goes on to ONNX Runtime."""


class InputError(EdgeFillError, ValueError):
    """An image or mask cannot be used (wrong dtype, channels, empty, unreadable...)."""


class ShapeError(InputError):
    """Two arrays that must agree in shape do not."""

    def __init__(self, what: str, actual: tuple[int, ...], expected: tuple[int, ...]):
        self.actual, self.expected = tuple(actual), tuple(expected)
        super().__init__(f"{what} is {_hw(actual)} but {_hw(expected)} was expected")


class InferenceError(EdgeFillError):
    """A backend failed while running a loaded model (e.g. a CUDA error on the device)."""


class CaptureError(EdgeFillError):
    """A frame source cannot be opened or stopped delivering frames."""


class StopTimeoutError(EdgeFillError):
    """A pipeline did not finish within ``stop()``'s timeout: a sink's write or an inference that
    does not return (a blocked GStreamer ``appsrc``, a wedged accelerator). Its threads are
    daemons, left behind; the process can exit."""


class EdgeFillInternalError(Exception):
    """A broken invariant inside edgefill. Please report it; it is not a usage error."""


def _hw(shape: tuple[int, ...]) -> str:
    if len(shape) >= 2:
        return f"{shape[1]}x{shape[0]} (WxH)"
    return str(tuple(shape))
