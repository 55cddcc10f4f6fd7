"""Temporal stabilisation of the fill in video.

Two mechanisms:

1. **Reuse.** When the mask is unchanged and the scene around the hole is static
   (mean absolute difference of a 1/8-scale grey thumbnail, outside the hole, against
   the frame the current fill was computed on, below ``static_threshold`` grey levels),
   the previous fill is pasted again and the model is not run at all.
2. **Blend.** Otherwise, when the scene moved only a little (below ``move_threshold``),
   the new fill is blended with the previous one inside the hole (an exponential moving
   average with weight ``blend`` on the new fill), so sensor noise does not make the fill
   shimmer. A larger change (camera moved, scene cut) resets the history.

Comparisons are always against the key frame, never the previous frame, so a slow drift
(lighting) accumulates and eventually triggers a recompute.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .checks import is_finite, is_whole
from .errors import ConfigError, InputError
from .masks import dilate, validate_image


@dataclass(frozen=True)
class StabilizerConfig:
    static_threshold: float = 2.0
    move_threshold: float = 12.0
    blend: float = 0.5
    feather: int = 0  # the inpainter's seam width (RoiConfig.feather): the region the fill may touch

    def __post_init__(self) -> None:
        for name in ("static_threshold", "move_threshold", "blend"):
            value = getattr(self, name)
            # NaN passed the range checks below and then compared False: every frame was "static"
            if not is_finite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if not is_whole(self.feather) or self.feather < 0:
            raise ConfigError(f"feather must be a whole number of pixels >= 0, got {self.feather!r}")
        if not 0 < self.blend <= 1:
            raise ConfigError(f"blend must be in (0, 1], got {self.blend}")
        if self.static_threshold < 0 or self.move_threshold < self.static_threshold:
            raise ConfigError("need 0 <= static_threshold <= move_threshold")


def _thumb(frame: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return cv2.resize(g, (max(1, g.shape[1] // 8), max(1, g.shape[0] // 8)), interpolation=cv2.INTER_AREA).astype(np.float32)


def _checked(frame: object, hole: object) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` as :func:`~edgefill.masks.validate_image` accepts it (HxWx3 uint8) and ``hole``
    as an HxW uint8 mask of the same size (a bool mask as 0/255, so the same holes compare equal
    however they are given): a grey frame failed inside OpenCV's colour conversion."""
    frame = validate_image(frame)
    if not isinstance(hole, np.ndarray) or hole.dtype not in (np.uint8, np.bool_) \
            or hole.shape != frame.shape[:2]:
        shape = getattr(hole, "shape", None)
        raise InputError(f"the hole must be an HxW uint8 or bool mask of the frame's size "
                         f"{frame.shape[:2]}, not {getattr(hole, 'dtype', type(hole).__name__)} of shape {shape}")
    return frame, (hole.view(np.uint8) * np.uint8(255) if hole.dtype == np.bool_ else hole)


class TemporalStabilizer:
    """Reuses or blends fills over a video (see the module's docstring). ``frame`` and
    ``output`` are HxWx3 uint8 BGR; ``hole`` is HxW, uint8 (non-zero = hole) or bool."""

    def __init__(self, config: StabilizerConfig | None = None):
        self.config = config or StabilizerConfig()
        self.reset()

    def reset(self) -> None:
        self._key_thumb: np.ndarray | None = None
        self._key_hole: np.ndarray | None = None
        self._valid_thumb: np.ndarray | None = None
        self._region: np.ndarray | None = None
        self._output: np.ndarray | None = None
        self.reused = 0
        self.blended = 0

    def _scene_change(self, frame: np.ndarray) -> float:
        if self._key_thumb is None or self._key_thumb.shape != (max(1, frame.shape[0] // 8), max(1, frame.shape[1] // 8)):
            return float("inf")
        d = np.abs(_thumb(frame) - self._key_thumb)[self._valid_thumb]
        return float(d.mean()) if d.size else float("inf")

    def try_reuse(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray | None:
        """The previous fill on this frame, if the mask and the scene are unchanged; else None."""
        frame, hole = _checked(frame, hole)
        if self._key_hole is None or self._key_hole.shape != hole.shape or not np.array_equal(hole, self._key_hole):
            return None
        if self._scene_change(frame) > self.config.static_threshold:
            return None
        out = frame.copy()
        out[self._region] = self._output[self._region]
        self.reused += 1
        return out

    def update(self, frame: np.ndarray, hole: np.ndarray, output: np.ndarray) -> np.ndarray:
        """Blend a freshly computed ``output`` with the history; make it the new key."""
        frame, hole = _checked(frame, hole)
        output = validate_image(output)
        if output.shape != frame.shape:
            raise InputError(f"the output must have the frame's shape {frame.shape}, not {output.shape}")
        region = dilate(hole, self.config.feather) > 0
        change = self._scene_change(frame)
        if self._output is not None and self._output.shape == output.shape and change <= self.config.move_threshold:
            both = region & self._region
            if both.any():
                a = self.config.blend
                mixed = a * output[both].astype(np.float32) + (1 - a) * self._output[both].astype(np.float32)
                output = output.copy()
                output[both] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
                self.blended += 1
        self._key_thumb = _thumb(frame)
        # A thumbnail cell is "valid" only if none of its pixels is near the hole.
        touched = cv2.resize(region.astype(np.float32), self._key_thumb.shape[::-1], interpolation=cv2.INTER_AREA) > 0
        self._valid_thumb = dilate(touched.astype(np.uint8) * 255, 1) == 0
        self._key_hole, self._region, self._output = hole.copy(), region, output
        return output
